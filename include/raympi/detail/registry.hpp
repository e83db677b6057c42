#pragma once
// The function registry. RAYMPI_REMOTE records each function under a key made
// of its spelled name and its type; ids are hashes of keys, so every rank of
// the same executable agrees on them whatever the static-initialisation order.

#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <memory>
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
  InvokeFn invoke = nullptr;      // as a task; for a method: on Invocation::self
  const void* address = nullptr;  // the function, or a copy of the member pointer's bytes
  InvokeFn factory = nullptr;     // as an actor factory (returns unique_ptr<A> / A*)
  std::string actor_class;        // factories: the class built; methods: the class they belong to
  std::string actor_display;      // factories: actor_class demangled for people (timeline rows), made once
};

const FunctionInfo* register_function(const void* address, const char* name, const char* type_name,
                                      InvokeFn invoke, InvokeFn factory = nullptr, const char* actor_class = "");
const FunctionInfo* register_method(const void* pointer_bytes, std::size_t size, const char* name,
                                    const char* type_name, InvokeFn invoke, const char* actor_class);
const FunctionInfo* find_function(const void* address);
const FunctionInfo* find_function(std::uint64_t id);
const FunctionInfo* find_method(const void* pointer_bytes, std::size_t size);
[[noreturn]] void throw_unregistered(const void* address);
[[noreturn]] void throw_unregistered_method(const char* class_name);

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
template <class C, class R, class... P>
struct fn_traits<R (C::*)(P...) noexcept> : fn_traits<R (*)(P...)> {};

/// The class a member function pointer belongs to.
template <class M>
struct method_class;
template <class C, class R, class... P>
struct method_class<R (C::*)(P...)> { using type = C; };
template <class C, class R, class... P>
struct method_class<R (C::*)(P...) const> { using type = C; };
template <class C, class R, class... P>
struct method_class<R (C::*)(P...) noexcept> { using type = C; };
template <class C, class R, class... P>
struct method_class<R (C::*)(P...) const noexcept> { using type = C; };
template <class M>
using method_class_t = typename method_class<M>::type;

/// cereal's traits accept any smart pointer; look through it to the pointee.
template <class T>
struct deep_serializable : std::bool_constant<!std::is_pointer_v<T> && is_serializable_v<T>> {};
template <class T, class D>
struct deep_serializable<std::unique_ptr<T, D>> : deep_serializable<std::remove_cv_t<T>> {};
template <class T>
struct deep_serializable<std::shared_ptr<T>> : deep_serializable<std::remove_cv_t<T>> {};

/// A result a task can hand back: void, or a serialisable value (no pointer).
template <class R>
constexpr bool is_returnable_v = std::is_void_v<R> || deep_serializable<std::decay_t<R>>::value;

/// Registered, but not callable as a task (an actor factory returning
/// unique_ptr<A> / A*): calls fail at run time with the reason.
template <class R, class... P>
void invoke_unreturnable(const void*, Invocation&) {
  throw_serialization_error("return from a task", typeid(R),
                            "the function can be an actor factory, but its result cannot travel as an object");
}

template <class R, class... P>
InvokeFn invoker_for(R (*)(P...)) {
  (check_parameter<P>(), ...);
  if constexpr (is_returnable_v<R>) return &invoke_function<R, P...>;
  else return &invoke_unreturnable<R, P...>;
}

template <class M, class R, class... P>
void invoke_method_with(const M& m, Invocation& inv, R (*)(P...)) {
  auto* self = static_cast<method_class_t<M>*>(inv.self);
  std::tuple<ArgHolder<std::decay_t<P>>...> holders;
  std::size_t dep_slot = 0;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (std::get<I>(holders).load(inv, dep_slot), ...);
    if constexpr (std::is_void_v<R>) std::invoke(m, self, std::get<I>(holders).template pass<P>()...);
    else store_result(inv, std::invoke(m, self, std::get<I>(holders).template pass<P>()...));
  }(std::index_sequence_for<P...>{});
}

/// Runs a member function on `inv.self`; `pointer` holds the member pointer's bytes.
template <class M>
void invoke_method(const void* pointer, Invocation& inv) {
  M m;
  std::memcpy(static_cast<void*>(&m), pointer, sizeof m);
  invoke_method_with(m, inv, typename fn_traits<M>::pointer{});
}

template <class M>
InvokeFn method_invoker_for() {
  using Pointer = typename fn_traits<M>::pointer;
  return []<class R, class... P>(R (*)(P...)) -> InvokeFn {
    (check_parameter<P>(), ...);
    if constexpr (is_returnable_v<R>) return &invoke_method<M>;
    else return &invoke_unreturnable<R, P...>;
  }(Pointer{});
}

/// @brief Registers what RAYMPI_REMOTE names; overloads per kind of callable.
struct Registrar {
  template <class R, class... P>
  static const FunctionInfo* add(R (*f)(P...), const char* name) {
    using A = factory_product_t<R>;
    if constexpr (std::is_void_v<A>) {
      return register_function(reinterpret_cast<const void*>(f), name, typeid(f).name(), invoker_for(f));
    } else {
      return register_function(reinterpret_cast<const void*>(f), name, typeid(f).name(), invoker_for(f),
                               &invoke_factory<R, P...>, typeid(A).name());
    }
  }
  template <class R, class... P>
  static const FunctionInfo* add(R (*f)(P...) noexcept, const char* name) {
    return add(static_cast<R (*)(P...)>(f), name);
  }
  template <class M>
    requires std::is_member_function_pointer_v<M>
  static const FunctionInfo* add(M m, const char* name) {
    return register_method(&m, sizeof m, name, typeid(M).name(), method_invoker_for<M>(),
                           typeid(method_class_t<M>).name());
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
