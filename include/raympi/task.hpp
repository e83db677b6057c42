#pragma once
/// @file task.hpp
/// @brief `raympi::task(f).remote(args...)`: submit remote functions.

#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "raympi/detail/registry.hpp"
#include "raympi/errors.hpp"
#include "raympi/object_ref.hpp"
#include "raympi/placement_group.hpp"

namespace raympi {

namespace detail {

template <class A, class P>
void encode_argument(OutArchive& ar, TaskSubmission& sub, A&& a) {
  using T = std::decay_t<P>;
  // An ObjectRef<U> is a dependency unless the parameter is that very
  // ObjectRef type (then it travels as a handle): so ObjectRef<ObjectRef<T>>
  // for a parameter ObjectRef<T> is resolved to the inner ref (nested refs).
  if constexpr (is_object_ref_v<A> && !std::is_same_v<std::remove_cvref_t<A>, T>) {
    using U = typename std::remove_cvref_t<A>::value_type;
    static_assert(std::is_same_v<U, T>,
                  "raympi::task(f).remote: an ObjectRef<U> passed for a parameter of type T is a dependency and "
                  "needs U == T (for a parameter ObjectRef<T>: pass an ObjectRef<T> as a handle, or an "
                  "ObjectRef<ObjectRef<T>> to receive the inner ref); get() it and convert, or change the "
                  "parameter type.");
    ar(std::uint8_t(kArgDependency), std::uint32_t(sub.spec.deps.size()));
    sub.spec.deps.push_back(a.handle().id());
    sub.held.push_back(a.handle());
  } else {
    ar(std::uint8_t(kArgValue));
    if constexpr (std::is_same_v<std::decay_t<A>, T>) {
      serialize_into(ar.writer(), a);
    } else {
      static_assert(std::is_constructible_v<T, A&&>,
                    "raympi::task(f).remote: an argument does not convert to the function's parameter type.");
      serialize_into(ar.writer(), T(std::forward<A>(a)));
    }
  }
}

/// Serialises a call's arguments for the parameters of `R (P...)` into `sub`.
template <class R, class... P, class... A>
void encode_arguments(R (*)(P...), TaskSubmission& sub, A&&... args) {
  ByteWriter w;
  {
    CollectScope scope(&sub.held);
    OutArchive ar(w);
    (encode_argument<A, P>(ar, sub, std::forward<A>(args)), ...);
  }
  sub.spec.args = w.finish();
}

/// @brief The resource options tasks and actors share (CRTP: each returns the caller).
template <class Derived>
class DemandOptions {
 public:
  /// CPU slots (fractions allowed).
  Derived& num_cpus(double n) {
    demand_.cpu = checked(n, "num_cpus");
    cpus_given_ = true;
    return touched();
  }
  /// GPUs: a whole number (distinct GPUs, see gpu_ids()) or a fraction below 1 (a share of one GPU).
  Derived& num_gpus(double n) {
    if (n > 1 && n != double(static_cast<long long>(n)))
      throw Error("raympi: num_gpus(" + std::to_string(n) +
                  ") must be a whole number of GPUs or a fraction below 1 (a share of one GPU)");
    demand_.gpu = checked(n, "num_gpus");
    return touched();
  }
  /// A custom resource (or "CPU"/"GPU").
  Derived& resource(const std::string& name, double amount) {
    demand_.set(name, checked(amount, "resource"));
    return touched();
  }
  /// Several resources at once.
  Derived& resources(const std::map<std::string, double>& r) {
    for (auto& [k, v] : r) resource(k, v);
    return static_cast<Derived&>(*this);
  }
  /// Runs in bundle `bundle_index` of `pg` (-1: any of its bundles): on that
  /// bundle's node, within its reserved resources only (the demand must fit
  /// the bundle). Submitted before the group is placed, it waits for it.
  ///
  /// @code
  /// auto r = raympi::task(step).placement_group(pg, 0).remote(x);
  /// @endcode
  Derived& placement_group(const PlacementGroup& pg, int bundle_index = -1) {
    pg.check_bundle(bundle_index, "placement_group(pg, bundle_index)");
    placement_group_ = pg.id();
    bundle_index_ = bundle_index;
    return static_cast<Derived&>(*this);
  }

 protected:
  ResourceDemand demand_;
  bool cpus_given_ = false;
  std::uint64_t placement_group_ = 0;  // placement groups (0: none)
  int bundle_index_ = -1;
  /// Copies the placement options into a submission's spec.
  void place_in_group(TaskSpec& spec) const {
    spec.placement_group = placement_group_;
    spec.bundle_index = bundle_index_;
  }

 private:
  Derived& touched() { return static_cast<Derived&>(*this); }
  static double checked(double v, const char* what) {
    if (!(v >= 0)) throw Error(std::string("raympi: ") + what + " must be >= 0");
    return v;
  }
};

template <class T>
inline constexpr bool is_tuple_v = false;
template <class... T>
inline constexpr bool is_tuple_v<std::tuple<T...>> = true;

template <class Fn>
struct remote_result {
  using type = ObjectRef<typename fn_traits<Fn>::result>;
};
template <class Fn>
  requires std::is_void_v<typename fn_traits<Fn>::result>
struct remote_result<Fn> {
  using type = ObjectRef<void>;
};

}  // namespace detail

/// @brief An ObjectRef for a function returning void: `get` waits and rethrows failures.
///
/// @code
/// raympi::ObjectRef<void> done = raympi::task(log_line).remote("hi");
/// raympi::get(done);
/// @endcode
template <>
class ObjectRef<void> : public detail::RefHandle<ObjectRef<void>> {
 public:
  ObjectRef() = default;
  explicit ObjectRef(detail::RefPtr p) : detail::RefHandle<ObjectRef<void>>(std::move(p)) {}
};

/// @brief A remote function with its options; `remote` submits one call.
///
/// @code
/// auto r = raympi::task(train).num_cpus(2).resource("Custom1", 1).max_retries(3).name("train-7").remote(cfg);
/// @endcode
template <class Fn>
class TaskCaller : public detail::DemandOptions<TaskCaller<Fn>> {
 public:
  using Traits = detail::fn_traits<Fn>;
  using Result = typename detail::remote_result<Fn>::type;

  TaskCaller(const detail::FunctionInfo* info) : info_(info) {}

  // num_cpus (default 1), num_gpus, resource, resources: held while the task runs.

  /// Reruns a throwing task up to n more times before its error is final.
  TaskCaller& max_retries(int n) { retries_ = n < 0 ? 0 : n; return *this; }
  /// A name for logs, errors and the timeline.
  TaskCaller& name(std::string n) { name_ = std::move(n); return *this; }

  /// Submits the call; never blocks. ObjectRef<T> for a parameter of type T is a dependency.
  template <class... A>
  Result remote(A&&... args) const {
    static_assert(sizeof...(A) == Traits::arity,
                  "raympi::task(f).remote(...): the number of arguments differs from f's parameters.");
    return Result(detail::submit_task(submission(std::forward<A>(args)...)));
  }

  /// Submits one call per element of `calls` (the arguments of call i as a
  /// tuple) in one go: the runtime takes its locks and wakes its workers once
  /// per batch rather than once per task. Returns the results' refs in order.
  ///
  /// @code
  /// std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}, {5, 6}};
  /// std::vector<raympi::ObjectRef<int>> sums = raympi::task(add).remote_batch(pairs);
  /// @endcode
  template <class... A>
    requires(sizeof...(A) == Traits::arity)
  std::vector<Result> remote_batch(const std::vector<std::tuple<A...>>& calls) const {
    return submit_each(calls, [&](const std::tuple<A...>& c) {
      return std::apply([&](const A&... a) { return submission(a...); }, c);
    });
  }

  /// For a function of one parameter: one call per element of `args`.
  ///
  /// @code
  /// std::vector<raympi::ObjectRef<int>> squares = raympi::task(square).remote_batch(std::vector<int>{1, 2, 3});
  /// @endcode
  template <class A>
    requires(Traits::arity == 1 && !detail::is_tuple_v<A>)
  std::vector<Result> remote_batch(const std::vector<A>& args) const {
    return submit_each(args, [&](const A& a) { return submission(a); });
  }

 private:
  template <class... A>
  detail::TaskSubmission submission(A&&... args) const {
    static_assert(detail::is_returnable_v<typename Traits::result>,
                  "raympi::task(f): f returns a pointer or a type cereal cannot serialise, so its result cannot be "
                  "an object. Return a value (give the type a serialize function); an actor factory returning "
                  "std::unique_ptr<A> or A* is used with raympi::actor(f).");
    detail::TaskSubmission sub;
    sub.spec.fn = info_;
    sub.spec.name = name_;
    sub.spec.demand = this->demand_;
    sub.spec.max_retries = retries_;
    this->place_in_group(sub.spec);
    detail::encode_arguments(static_cast<Fn>(nullptr), sub, std::forward<A>(args)...);
    return sub;
  }

  /// One submission per element (`make(element)`), submitted together.
  template <class Element, class Make>
  std::vector<Result> submit_each(const std::vector<Element>& elements, Make make) const {
    std::vector<detail::TaskSubmission> subs;
    subs.reserve(elements.size());
    for (const Element& e : elements) subs.push_back(make(e));
    std::vector<Result> out;
    out.reserve(subs.size());
    for (auto& r : detail::submit_tasks(std::move(subs))) out.emplace_back(std::move(r));
    return out;
  }

  const detail::FunctionInfo* info_;
  int retries_ = 0;
  std::string name_;
};

/// @brief Wraps a registered function (or a captureless lambda) for remote calls.
///
/// @code
/// int add(int a, int b) { return a + b; }
/// RAYMPI_REMOTE(add);
/// ...
/// raympi::ObjectRef<int> r = raympi::task(add).remote(1, 2);
/// auto sq = raympi::task([](int x) { return x * x; }).remote(7);
/// @endcode
template <class R, class... P>
TaskCaller<R (*)(P...)> task(R (*f)(P...)) {
  const detail::FunctionInfo* info = detail::find_function(reinterpret_cast<const void*>(f));
  if (!info) detail::throw_unregistered(reinterpret_cast<const void*>(f));
  return TaskCaller<R (*)(P...)>(info);
}

template <class R, class... P>
TaskCaller<R (*)(P...)> task(R (*f)(P...) noexcept) {
  return task(static_cast<R (*)(P...)>(f));
}

template <class L>
  requires std::is_class_v<L>
auto task(const L&) {
  using Pointer = typename detail::fn_traits<decltype(&L::operator())>::pointer;
  static_assert(std::is_convertible_v<L, Pointer> && std::is_default_constructible_v<L>,
                "raympi::task(lambda): only captureless lambdas can run remotely (captures would refer to this "
                "process's memory). Pass what the lambda needs as arguments, or register a function with "
                "RAYMPI_REMOTE.");
  return TaskCaller<Pointer>(detail::LambdaRegistration<L>::info);
}

}  // namespace raympi
