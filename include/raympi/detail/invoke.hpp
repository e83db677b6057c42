#pragma once
// Typed invokers: read each parameter from the task's argument bytes (or its
// resolved dependency), call the function, serialise the result.

#include <cstring>
#include <memory>
#include <stdexcept>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "raympi/detail/runtime_api.hpp"
#include "raympi/object_ref.hpp"

namespace raympi::detail {

enum : std::uint8_t { kArgValue = 0, kArgDependency = 1 };

/// One parameter while a call is being assembled.
template <class T>
struct ArgHolder {
  std::optional<T> value;
  std::shared_ptr<const T> shared;

  void load(Invocation& inv, std::size_t& dep_slot) {
    std::uint8_t flag = 0;
    std::uint32_t idx = 0;
    try {  // the argument bytes come from another rank: a flag or slot out of range is corrupt input
      (*inv.args)(flag);
      if (flag == kArgDependency) (*inv.args)(idx);
      if (flag > kArgDependency || (flag == kArgDependency && (idx >= inv.num_deps || !inv.deps[idx])))
        throw cereal::Exception("corrupt argument: flag " + std::to_string(flag) + ", dependency slot " +
                                std::to_string(idx) + " of " + std::to_string(inv.num_deps));
    } catch (const cereal::Exception& e) {
      throw_serialization_error("deserialise argument", typeid(T), e.what());
    }
    if (flag == kArgDependency) {
      shared = inv.deps[idx]->template typed<T>();  // shared, zero-copy on this node
      ++dep_slot;
    } else {
      try {
        value.emplace();
        (*inv.args)(*value);
      } catch (const cereal::Exception& e) {
        throw_serialization_error("deserialise argument", typeid(T), e.what());
      }
    }
  }
  template <class P>
  decltype(auto) pass() {
    if constexpr (std::is_lvalue_reference_v<P>) {
      return static_cast<const T&>(shared ? *shared : *value);
    } else {
      if (shared) return T(*shared);
      return T(std::move(*value));
    }
  }
};

template <class P>
constexpr void check_parameter() {
  static_assert(!std::is_lvalue_reference_v<P> || std::is_const_v<std::remove_reference_t<P>>,
                "raympi: a remote function's parameters must be values or const references (T or const T&); "
                "a non-const reference cannot see the caller's object on another rank. Return the result instead.");
  static_assert(!std::is_pointer_v<std::decay_t<P>>,
                "raympi: a remote function cannot take a raw pointer (it would point into another process); "
                "take the value, a container, or an ObjectRef<T>.");
}

template <class R>
void store_result(Invocation& inv, R&& r) {
  using V = std::decay_t<R>;
  inv.result = serialize_value(r, &inv.contained);
  inv.value = std::make_shared<const V>(std::forward<R>(r));
  inv.type = &typeid(V);
}

template <class R, class... P, std::size_t... I>
void invoke_impl(R (*fn)(P...), Invocation& inv, std::index_sequence<I...>) {
  std::tuple<ArgHolder<std::decay_t<P>>...> holders;
  std::size_t dep_slot = 0;
  (std::get<I>(holders).load(inv, dep_slot), ...);
  if constexpr (std::is_void_v<R>) {
    fn(std::get<I>(holders).template pass<P>()...);
  } else {
    store_result(inv, fn(std::get<I>(holders).template pass<P>()...));
  }
}

template <class R, class... P>
void invoke_function(const void* address, Invocation& inv) {
  auto fn = reinterpret_cast<R (*)(P...)>(const_cast<void*>(address));
  invoke_impl(fn, inv, std::index_sequence_for<P...>{});
}

/// The class an actor factory builds: A for std::unique_ptr<A> or A*, else void.
template <class R>
struct factory_product { using type = void; };
template <class A, class D>
  requires std::is_class_v<A>
struct factory_product<std::unique_ptr<A, D>> { using type = A; };
template <class A>
  requires std::is_class_v<A>
struct factory_product<A*> { using type = A; };
template <class R>
using factory_product_t = typename factory_product<std::decay_t<R>>::type;

/// Runs an actor factory: the built instance lands in `inv.instance` (its
/// deleter is the one the factory's smart pointer carries).
template <class R, class... P>
void invoke_factory(const void* address, Invocation& inv) {
  using A = factory_product_t<R>;
  std::shared_ptr<A> made;
  auto fn = [&](P... p) {
    if constexpr (std::is_pointer_v<R>) made.reset(reinterpret_cast<R (*)(P...)>(const_cast<void*>(address))(
        std::forward<P>(p)...));
    else made = std::shared_ptr<A>(reinterpret_cast<R (*)(P...)>(const_cast<void*>(address))(std::forward<P>(p)...));
  };
  std::tuple<ArgHolder<std::decay_t<P>>...> holders;
  std::size_t dep_slot = 0;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (std::get<I>(holders).load(inv, dep_slot), ...);
    fn(std::get<I>(holders).template pass<P>()...);
  }(std::index_sequence_for<P...>{});
  if (!made) throw std::runtime_error("the actor factory returned a null pointer");
  inv.instance = std::static_pointer_cast<void>(made);
}

}  // namespace raympi::detail
