// ZooKeeper's path rules: absolute, '/'-separated, no empty, "." or ".." components, no trailing slash,
// no control or reserved Unicode characters. Used by every operation before it touches the tree.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace corral {

// Ok, or BadArguments with a sentence saying what is wrong. `sequential` allows a trailing '/', as
// ZooKeeper does, because the server appends the sequence number.
error_info validate_path(std::string_view path, bool sequential = false);

// "/a/b" -> "/a"; "/a" -> "/"; "/" -> "".
std::string_view parent_of(std::string_view path);

// "/a/b" -> "b"; "/" -> "".
std::string_view basename_of(std::string_view path);

// "/a" + "b" -> "/a/b"; "/" + "b" -> "/b".
std::string join_path(std::string_view parent, std::string_view child);

// True if `path` is `prefix` or lies below it ("/a/b" is under "/a", "/ab" is not).
bool is_under(std::string_view path, std::string_view prefix);

// The `%010d` suffix ZooKeeper appends to sequential nodes (negative counters as ZooKeeper prints them).
std::string sequence_suffix(int32_t counter);

} // namespace corral
