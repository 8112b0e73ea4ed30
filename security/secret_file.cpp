#include "security/secret_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace corral::security {

result<bool> check_private_file(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return error_info{error_code::bad_arguments, what + ": cannot use " + path + ": " + std::strerror(errno)};
  if (!S_ISREG(st.st_mode))
    return error_info{error_code::bad_arguments, what + ": " + path + " is not a regular file"};
  if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0)
    return error_info{error_code::bad_arguments,
                      what + ": " + path + " can be read or written by any user; run chmod 600 " + path};
  return true;
}

result<std::string> read_private_file(const std::string& path, const std::string& what) {
  auto ok = check_private_file(path, what);
  if (!ok)
    return ok.error();
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return error_info{error_code::bad_arguments, what + ": cannot read " + path + ": " + std::strerror(errno)};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

result<std::string> read_secret_file(const std::string& path, const std::string& what) {
  auto contents = read_private_file(path, what);
  if (!contents)
    return contents.error();
  auto secret = std::move(*contents);
  while (!secret.empty() && std::isspace(static_cast<unsigned char>(secret.back())))
    secret.pop_back();
  if (secret.size() < min_secret_bytes)
    return error_info{error_code::bad_arguments, what + ": the secret in " + path + " has " +
                                                     std::to_string(secret.size()) + " bytes; use at least " +
                                                     std::to_string(min_secret_bytes) +
                                                     " (for example: head -c 32 /dev/urandom | base64 > " + path + ")"};
  return secret;
}

} // namespace corral::security
