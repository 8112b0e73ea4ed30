// A response's outcome as a result: its error, or the body of the type the request promises. Used
// by the plain-code clients (blocking_client, corral-cli's commands) to turn replies into results.
#pragma once

#include <utility>
#include <variant>

#include "core/types.hpp"

namespace corral {

// The body as T, the response's error, or MarshallingError if the body has another shape.
template <class T>
result<T> take(response r) {
  if (r.err != error_code::ok)
    return error_info{r.err, r.detail};
  if (auto* v = std::get_if<T>(&r.body))
    return std::move(*v);
  return error_info{error_code::marshalling_error, "unexpected response shape"};
}

// For requests that answer with nothing but their error code.
inline result<unit> take_unit(const response& r) {
  if (r.err != error_code::ok)
    return error_info{r.err, r.detail};
  return unit{};
}

} // namespace corral
