#include "persistence/files.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include <boost/filesystem.hpp>

#include "core/format.hpp"

namespace corral::persistence {

error_info io_error(const std::string& what, const std::string& path, int err) {
  return {error_code::system_error, what + " " + path + ": " + std::strerror(err)};
}

error_info write_all(int fd, const void* data, size_t size, uint64_t offset, const std::string& path) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    auto n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return io_error("cannot write", path, errno);
    }
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

error_info fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return io_error("cannot open directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    return io_error("cannot fsync directory", dir, err);
  return {};
}

error_info write_file_atomically(const std::string& path, const std::string& content) {
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return io_error("cannot create", tmp, errno);
  auto e = write_all(fd, content.data(), content.size(), 0, tmp);
  if (e.code == error_code::ok && ::fsync(fd) != 0)
    e = io_error("cannot fsync", tmp, errno);
  ::close(fd);
  if (e.code != error_code::ok)
    return e;
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return io_error("cannot rename to", path, errno);
  return fsync_dir(boost::filesystem::path(path).parent_path().string());
}

uint64_t directory_bytes(const std::string& dir) {
  uint64_t total = 0;
  boost::system::error_code ec;
  for (boost::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    boost::system::error_code fec;
    if (boost::filesystem::is_regular_file(it->status(fec))) {
      auto n = boost::filesystem::file_size(it->path(), fec);
      if (!fec)
        total += n;
    }
  }
  return total;
}

std::vector<std::pair<std::string, int64_t>> list_hex_named(const std::string& dir, const std::string& prefix) {
  std::vector<std::pair<std::string, int64_t>> out;
  boost::system::error_code ec;
  for (boost::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    int64_t n;
    if (parse_hex_name(it->path().filename().string(), prefix, n))
      out.emplace_back(it->path().string(), n);
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.second < b.second; });
  return out;
}

result<mapped_file> mapped_file::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return io_error("cannot open", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return io_error("cannot stat", path, err);
  }
  mapped_file out;
  out.size_ = static_cast<uint64_t>(st.st_size);
  if (out.size_ > 0) {
    void* p = ::mmap(nullptr, out.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return io_error("cannot map", path, err);
    }
    // Recovery reads front to back: ask for large read-ahead.
    ::madvise(p, out.size_, MADV_SEQUENTIAL);
    out.base_ = p;
  }
  ::close(fd); // the mapping keeps the file open
  return out;
}

mapped_file::mapped_file(mapped_file&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), size_(std::exchange(other.size_, 0)) {}

mapped_file& mapped_file::operator=(mapped_file&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr)
      ::munmap(base_, size_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

mapped_file::~mapped_file() {
  if (base_ != nullptr)
    ::munmap(base_, size_);
}

result<std::string> read_prefix(const std::string& path, size_t n) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return io_error("cannot open", path, errno);
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    auto got = ::pread(fd, out.data() + done, n - done, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      int err = errno;
      ::close(fd);
      return io_error("cannot read", path, err);
    }
    if (got == 0)
      break;
    done += static_cast<size_t>(got);
  }
  ::close(fd);
  out.resize(done);
  return out;
}

result<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0)
    return io_error("cannot open", path, errno);
  std::string out;
  char buf[65536];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      int err = errno;
      ::close(fd);
      return io_error("cannot read", path, err);
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

} // namespace corral::persistence
