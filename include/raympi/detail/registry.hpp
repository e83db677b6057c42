#pragma once
// The function registry. RAYMPI_REMOTE records each function under a key made
// of its spelled name and its type; ids are hashes of keys, so every rank of
// the same executable agrees on them whatever the static-initialisation order.

#include <cstdint>
#include <string>
#include <type_traits>
#include <typeinfo>

#include "raympi/detail/invoke.hpp"
#include "raympi/detail/preprocessor.hpp"

namespace raympi::detail {

using InvokeFn = void (*)(const void* address, Invocation& inv);

enum class FunctionKind : std::uint8_t { function, method };

/// @brief One registered remote function.
struct FunctionInfo {
  std::string name;      // as the user spelled it, for messages
  std::string key;       // name + type: what ranks compare
  std::uint64_t id = 0;  // hash of key
  FunctionKind kind = FunctionKind::function;
  InvokeFn invoke = nullptr;
  const void* address = nullptr;
};

const FunctionInfo* register_function(const void* address, const char* name, const char* type_name,
                                      InvokeFn invoke);
const FunctionInfo* register_method(const void* pointer_bytes, std::size_t size, const char* name,
                                    const char* type_name);
const FunctionInfo* find_function(const void* address);
const FunctionInfo* find_function(std::uint64_t id);
[[noreturn]] void throw_unregistered(const void* address);

template <class F>
struct fn_traits;
template <class R, class... P>
struct fn_traits<R (*)(P...)> {
  using result = R;
  using pointer = R (*)(P...);
  static constexpr std::size_t arity = sizeof...(P);
};
template <class R, class... P>
struct fn_traits<R (*)(P...) noexcept> : fn_traits<R (*)(P...)> {};
template <class C, class R, class... P>
struct fn_traits<R (C::*)(P...) const> : fn_traits<R (*)(P...)> {};
template <class C, class R, class... P>
struct fn_traits<R (C::*)(P...)> : fn_traits<R (*)(P...)> {};
template <class C, class R, class... P>
struct fn_traits<R (C::*)(P...) const noexcept> : fn_traits<R (*)(P...)> {};

template <class R, class... P>
InvokeFn invoker_for(R (*)(P...)) {
  (check_parameter<P>(), ...);
  return &invoke_function<R, P...>;
}

/// @brief Registers what RAYMPI_REMOTE names; overloads per kind of callable.
struct Registrar {
  template <class R, class... P>
  static const FunctionInfo* add(R (*f)(P...), const char* name) {
    return register_function(reinterpret_cast<const void*>(f), name, typeid(f).name(), invoker_for(f));
  }
  template <class R, class... P>
  static const FunctionInfo* add(R (*f)(P...) noexcept, const char* name) {
    return add(static_cast<R (*)(P...)>(f), name);
  }
  template <class M>
    requires std::is_member_function_pointer_v<M>
  static const FunctionInfo* add(M m, const char* name) {
    return register_method(&m, sizeof m, name, typeid(M).name());
  }
};

/// @brief A captureless lambda registers itself on every rank (static
/// initialisation of this template's member) the moment one rank uses it.
template <class L>
struct LambdaRegistration {
  using pointer = typename fn_traits<decltype(&L::operator())>::pointer;
  static inline const FunctionInfo* const info =
      register_function(reinterpret_cast<const void*>(static_cast<pointer>(L{})), "lambda", typeid(L).name(),
                        invoker_for(static_cast<pointer>(L{})));
};

}  // namespace raympi::detail

/// @brief Registers free functions, actor factories and member functions as
/// remote-callable. Use at namespace scope, in any translation unit.
///
/// @code
/// int add(int a, int b) { return a + b; }
/// RAYMPI_REMOTE(add);
/// @endcode
#define RAYMPI_REMOTE(...) \
  RAYMPI_DETAIL_FOR_EACH(RAYMPI_DETAIL_REGISTER_ONE, __VA_ARGS__) static_assert(true, "RAYMPI_REMOTE")
#define RAYMPI_DETAIL_REGISTER_ONE(f)                                              \
  namespace {                                                                      \
  [[maybe_unused]] const ::raympi::detail::FunctionInfo* const RAYMPI_DETAIL_CAT( \
      raympi_registered_, __COUNTER__) = ::raympi::detail::Registrar::add(f, #f);   \
  }
