// A Cap'n Proto message builder whose first segment is this thread's scratch memory (4 KiB), for
// encoding one frame or record at a time: capnp::MallocMessageBuilder's default callocs an 8 KiB
// first segment per message, a visible share of the CPU per request on both ends of a connection
// and per txn in the log writer. The builder zeroes what it used when it goes, as Cap'n Proto
// requires of a caller's segment; a message bigger than the scratch continues in heap segments.
// One at a time per thread (checked): build, serialise, destroy. Used by the codecs in protocol/
// and persistence/.
#pragma once

#include <capnp/message.h>

namespace corral {

class scratch_builder : public capnp::MallocMessageBuilder {
public:
  scratch_builder();
  ~scratch_builder() noexcept(false) override;
  scratch_builder(const scratch_builder&) = delete;
  scratch_builder& operator=(const scratch_builder&) = delete;
};

} // namespace corral
