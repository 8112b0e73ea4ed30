// Small, careful file operations for the persistence layer: whole writes, fsync of files and
// directories, and atomic replacement of small files (write a temporary, fsync, rename, fsync the
// directory). Errors come back as error_info naming the file and the system's reason.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace corral::persistence {

// SystemError with "what path: strerror(errno)".
error_info io_error(const std::string& what, const std::string& path, int err);

error_info write_all(int fd, const void* data, size_t size, uint64_t offset, const std::string& path);
error_info fsync_dir(const std::string& dir);
// Replaces `path` with `content` atomically and durably.
error_info write_file_atomically(const std::string& path, const std::string& content);
result<std::string> read_file(const std::string& path);

} // namespace corral::persistence
