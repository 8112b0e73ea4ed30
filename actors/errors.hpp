// Corral's errors (core/error.hpp) as CAF errors, so an actor that cannot do what it was asked
// answers a caf::error that keeps the code and the cause, and the requester's error handler turns it
// back: no "error: " strings parsed back, no bools that lose why.
// Used by actors/server and actors/client; needs only caf/error.hpp.
#pragma once

#include <caf/error.hpp>

#include "core/error.hpp"

namespace corral {

// A caf::error of category "corral" carrying `e`'s code and detail.
caf::error to_caf_error(const error_info& e);
inline caf::error to_caf_error(error_code code, std::string detail) {
  return to_caf_error(error_info{code, std::move(detail)});
}

// Ours come back as they were sent; any other (a timeout, an actor that went away) is a
// system_error whose detail is CAF's description.
error_info from_caf_error(const caf::error& e);

} // namespace corral
