// Small, careful file operations for the persistence layer: whole writes, fsync of files and
// directories, and atomic replacement of small files (write a temporary, fsync, rename, fsync the
// directory). Errors come back as error_info naming the file and the system's reason.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <capnp/common.h>

#include "core/error.hpp"
#include "schema/word_buffer.hpp"

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

// Reads a whole file into word-aligned memory (Cap'n Proto parses in place from it); `size` is the
// file's size in bytes. The buffer has at least one spare word.
error_info read_words(const std::string& path, word_buffer& buf, uint64_t& size);

} // namespace corral::persistence
