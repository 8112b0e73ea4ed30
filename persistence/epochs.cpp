#include "persistence/epochs.hpp"

#include <cerrno>
#include <sstream>
#include <sys/stat.h>

#include "persistence/files.hpp"

namespace corral::persistence {

std::string format_epochs(const zab::persistent_state& epochs) {
  return "accepted=" + std::to_string(epochs.accepted_epoch) + "\ncurrent=" + std::to_string(epochs.current_epoch) +
         "\n";
}

namespace {

bool parse_number(const std::string& text, uint64_t& out) {
  if (text.empty() || text.size() > 19)
    return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  out = v;
  return true;
}

} // namespace

result<zab::persistent_state> parse_epochs(const std::string& text, const std::string& path) {
  auto bad = [&](const std::string& why) {
    return error_info{error_code::marshalling_error,
                      "the epochs file " + path + " is damaged (" + why +
                          "); restore it from a backup, or remove this server's data directory so it joins "
                          "the ensemble afresh"};
  };
  zab::persistent_state out;
  bool accepted = false, current = false;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    auto key = line.substr(0, eq);
    uint64_t value = 0;
    if (eq == std::string::npos || !parse_number(line.substr(eq + 1), value))
      return bad("line '" + line + "' is not name=number");
    if (key == "accepted" && !accepted) {
      out.accepted_epoch = value;
      accepted = true;
    } else if (key == "current" && !current) {
      out.current_epoch = value;
      current = true;
    } else {
      return bad("unexpected line '" + line + "'");
    }
  }
  if (!accepted || !current)
    return bad("it must hold accepted= and current=");
  if (out.current_epoch > out.accepted_epoch)
    return bad("the current epoch is above the accepted one");
  return out;
}

result<zab::persistent_state> read_epochs(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT)
    return zab::persistent_state{};
  auto text = read_file(path);
  if (!text)
    return text.error();
  return parse_epochs(*text, path);
}

error_info write_epochs(const std::string& path, const zab::persistent_state& epochs) {
  return write_file_atomically(path, format_epochs(epochs));
}

} // namespace corral::persistence
