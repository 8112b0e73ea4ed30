#include "schema/scratch_builder.hpp"

#include "core/fatal.hpp"

namespace corral {

namespace {

constexpr size_t scratch_words = 512;
// Zero-initialised (static storage), as MallocMessageBuilder requires of a first segment.
thread_local capnp::word scratch_segment[scratch_words];
thread_local bool scratch_in_use = false;

kj::ArrayPtr<capnp::word> take_scratch() {
  CORRAL_CHECK(!scratch_in_use, "schema", "a second scratch_builder on one thread");
  scratch_in_use = true;
  return kj::arrayPtr(scratch_segment, scratch_words);
}

} // namespace

scratch_builder::scratch_builder() : capnp::MallocMessageBuilder(take_scratch()) {}

// The base class's destructor, which runs next, zeroes the part of the scratch the message used.
scratch_builder::~scratch_builder() noexcept(false) { scratch_in_use = false; }

} // namespace corral
