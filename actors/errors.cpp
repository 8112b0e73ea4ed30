#include "actors/errors.hpp"

#include <caf/atom.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace corral {

namespace {
constexpr caf::atom_value category = caf::atom("corral");
}

caf::error to_caf_error(const error_info& e) {
  // CAF keeps an 8-bit code: 1 says "an error"; ZooKeeper's code (negative) rides in the context.
  return caf::error{1, category, caf::make_message(static_cast<int32_t>(e.code), e.detail)};
}

error_info from_caf_error(const caf::error& e) {
  if (!e)
    return {};
  if (e.category() == category && e.context().match_elements<int32_t, std::string>())
    return {error_from_int(e.context().get_as<int32_t>(0)), e.context().get_as<std::string>(1)};
  return {error_code::system_error, caf::to_string(e)};
}

} // namespace corral
