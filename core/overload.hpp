// overload{lambda...}: one visitor from several lambdas, for std::visit over the core's variants.
#pragma once

namespace corral {

template <class... Ts>
struct overload : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
overload(Ts...) -> overload<Ts...>;

} // namespace corral
