// Small, careful file operations for the persistence layer: whole writes, fsync of files and
// directories, and atomic replacement of small files (write a temporary, fsync, rename, fsync the
// directory). Errors come back as error_info naming the file and the system's reason.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <capnp/common.h>

#include "core/error.hpp"

namespace corral::persistence {

// SystemError with "what path: strerror(errno)".
error_info io_error(const std::string& what, const std::string& path, int err);

error_info write_all(int fd, const void* data, size_t size, uint64_t offset, const std::string& path);
error_info fsync_dir(const std::string& dir);
// The bytes of the regular files directly in `dir` (0 if it cannot be read).
uint64_t directory_bytes(const std::string& dir);
// Replaces `path` with `content` atomically and durably.
error_info write_file_atomically(const std::string& path, const std::string& content);
result<std::string> read_file(const std::string& path);
// The files in `dir` named "<prefix><16 hex digits>", with the number, in ascending order.
std::vector<std::pair<std::string, int64_t>> list_hex_named(const std::string& dir, const std::string& prefix);

// A whole file mapped read-only into word-aligned memory, which Cap'n Proto parses in place. Why not
// read(): recovery reads every log segment and the newest snapshot, and a segment is preallocated
// (tens of MiB, mostly zeros); copying it into a zero-filled buffer cost more than the rest of a
// 100k-znode recovery together (page faults of the buffer, the fill, the copy). A mapping costs a
// page fault per touched page and nothing for what is never touched.
// The file must not shrink while mapped (touching a page past its end would raise SIGBUS): Corral
// never shrinks a log segment or a snapshot (the log is cut by writing zeros; files are replaced by
// rename), and a mapping outlives an unlink harmlessly. Bytes between size() and the end of the last
// page read as zeros.
class mapped_file {
public:
  static result<mapped_file> open(const std::string& path);
  mapped_file() = default;
  mapped_file(mapped_file&& other) noexcept;
  mapped_file& operator=(mapped_file&& other) noexcept;
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  ~mapped_file();

  const char* bytes() const { return static_cast<const char*>(base_); }
  // Word `i` of the file; valid for i < size() / 8 (and the partial last word, zero-padded).
  const capnp::word* words() const { return static_cast<const capnp::word*>(base_); }
  uint64_t size() const { return size_; }

private:
  void* base_ = nullptr; // null for an empty file, which is not mapped
  uint64_t size_ = 0;
};

// The first `n` bytes of a file (fewer if it is shorter).
result<std::string> read_prefix(const std::string& path, size_t n);

} // namespace corral::persistence
