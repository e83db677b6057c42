#pragma once
/// @file actor.hpp
/// @brief Actors: `raympi::actor(factory).remote(args...)`, `ActorHandle<A>`,
/// `handle.task(&A::method).remote(args...)`, `get_actor<A>(name)`, `kill()`.

#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "raympi/task.hpp"

namespace raympi {

template <class A>
class ActorHandle;

/// @brief One method of an actor, ready to be called remotely.
///
/// @code
/// raympi::ObjectRef<int> r = counter.task(&Counter::increment).remote();
/// @endcode
template <class A, class M>
class ActorMethodCaller {
 public:
  using Traits = detail::fn_traits<M>;
  using Result = typename detail::remote_result<M>::type;

  ActorMethodCaller(const detail::FunctionInfo* info, detail::RefPtr actor) : info_(info), actor_(std::move(actor)) {}

  /// A name for logs, errors and the timeline.
  ActorMethodCaller& name(std::string n) {
    name_ = std::move(n);
    return *this;
  }

  /// Queues the call on the actor; never blocks. Calls from one caller run in
  /// the order they were made; ObjectRef<T> for a parameter of type T is a dependency.
  template <class... Args>
  Result remote(Args&&... args) const {
    static_assert(sizeof...(Args) == Traits::arity,
                  "raympi: handle.task(&A::m).remote(...): the number of arguments differs from m's parameters.");
    static_assert(detail::is_returnable_v<typename Traits::result>,
                  "raympi: an actor method's result must be void or a value cereal can serialise (no pointer).");
    if (!actor_) throw Error("raympi: method call on an empty ActorHandle (default-constructed or moved from)");
    detail::TaskSubmission sub;
    sub.spec.kind = detail::TaskKind::actor_call;
    sub.spec.fn = info_;
    sub.spec.name = name_;
    sub.spec.demand = detail::ResourceDemand(0);
    sub.actor = actor_;
    detail::encode_arguments(typename Traits::pointer{}, sub, std::forward<Args>(args)...);
    return Result(detail::submit_task(std::move(sub)));
  }

 private:
  const detail::FunctionInfo* info_;
  detail::RefPtr actor_;
  std::string name_;
};

/// @brief A copyable, serialisable handle on an actor of class A. Pass it to
/// tasks and other actors, return it from them, keep it in containers: every
/// copy on every rank reaches the same actor. An unnamed actor is destroyed
/// (its destructor runs on its node) when the last handle anywhere is gone.
///
/// @code
/// struct Counter { explicit Counter(int s) : n(s) {} int increment() { return ++n; } int n; };
/// std::unique_ptr<Counter> make_counter(int s) { return std::make_unique<Counter>(s); }
/// RAYMPI_REMOTE(make_counter, &Counter::increment);
/// ...
/// raympi::ActorHandle<Counter> c = raympi::actor(make_counter).remote(10);
/// int v = raympi::get(c.task(&Counter::increment).remote());   // 11
/// @endcode
template <class A>
class ActorHandle : public detail::RefHandle<ActorHandle<A>> {
 public:
  using actor_type = A;

  /// An empty handle (refers to no actor).
  ActorHandle() = default;
  /// @brief Internal: wraps a handle ref the runtime made.
  explicit ActorHandle(detail::RefPtr p) : detail::RefHandle<ActorHandle<A>>(std::move(p)) {}

  // valid(), id() (the job-wide actor id), ==, <, serialisation: see detail::RefHandle.

  /// A method of A to call remotely: `handle.task(&A::method).remote(args...)`.
  template <class M>
    requires std::is_member_function_pointer_v<M>
  ActorMethodCaller<A, M> task(M method) const {
    static_assert(std::is_same_v<detail::method_class_t<M>, A>,
                  "raympi: handle.task(&C::m) on an ActorHandle<A> needs a method declared in A itself (C == A). "
                  "For an inherited method, add a forwarding method to A and register that.");
    const detail::FunctionInfo* info = detail::find_method(&method, sizeof method);
    if (!info) detail::throw_unregistered_method(typeid(A).name());
    return ActorMethodCaller<A, M>(info, this->ptr_);
  }

  /// @brief Stops the actor. Its queued and later calls fail with
  /// ActorDiedError and its resources return to its node. Final by default
  /// (the name is released); `no_restart = false` counts as a crash, and the
  /// actor is rebuilt while it has restarts left.
  void kill(bool no_restart = true) const {
    if (!this->ptr_) throw Error("raympi: kill() on an empty ActorHandle");
    detail::kill_actor(this->ptr_.id(), no_restart);
  }
};

/// @brief An actor factory with its options; `remote` creates one actor.
///
/// @code
/// auto c = raympi::actor(make_counter).num_cpus(1).name("counter").max_restarts(2).remote(10);
/// @endcode
template <class A, class Factory>
class ActorCreator : public detail::DemandOptions<ActorCreator<A, Factory>> {
 public:
  using Traits = detail::fn_traits<Factory>;

  explicit ActorCreator(const detail::FunctionInfo* info) : info_(info) {}

  // num_cpus, num_gpus, resource, resources: held for the actor's lifetime.
  // Without num_cpus the actor needs 1 CPU to be placed and holds no CPU.

  /// Registers the actor under a job-wide name (see get_actor); a name in use is an error.
  ActorCreator& name(std::string n) {
    name_ = std::move(n);
    return *this;
  }
  /// Rebuilds the actor from its factory arguments after up to n crashes.
  ActorCreator& max_restarts(int n) {
    restarts_ = n < 0 ? 0 : n;
    return *this;
  }

  /// @brief A threaded actor: up to n of its calls run at once, on n threads
  /// of its node (the resources it holds are unchanged). Calls may then
  /// overlap and finish out of order, so the class must guard its own state.
  /// Default 1: one call at a time, each caller's calls in order.
  ///
  /// @code
  /// auto db = raympi::actor(make_lookup).max_concurrency(4).remote();   // 4 lookups in flight at once
  /// @endcode
  ActorCreator& max_concurrency(int n) {
    if (n < 1)
      throw Error("raympi::actor(f).max_concurrency(" + std::to_string(n) +
                  "): the number of calls an actor runs at once must be at least 1 (1 = one at a time, in order)");
    concurrency_ = n;
    return *this;
  }

  /// Places the actor and runs the factory there; returns at once.
  template <class... Args>
  ActorHandle<A> remote(Args&&... args) const {
    static_assert(sizeof...(Args) == Traits::arity,
                  "raympi::actor(f).remote(...): the number of arguments differs from f's parameters.");
    detail::TaskSubmission sub;
    sub.spec.kind = detail::TaskKind::actor_create;
    sub.spec.fn = info_;
    sub.spec.name = name_;
    sub.spec.actor_spec.name = name_;
    sub.spec.actor_spec.max_restarts = restarts_;
    sub.spec.actor_spec.max_concurrency = concurrency_;
    // What was asked for is held for the actor's lifetime; CPUs only when
    // num_cpus was given. Placing it takes at least 1 CPU (as in Ray).
    sub.spec.actor_spec.holds = this->demand_;
    if (!this->cpus_given_) sub.spec.actor_spec.holds.cpu = 0;
    sub.spec.demand = sub.spec.actor_spec.holds;
    if (!this->cpus_given_) sub.spec.demand.cpu = 1;
    this->place_in_group(sub.spec);
    detail::encode_arguments(static_cast<Factory>(nullptr), sub, std::forward<Args>(args)...);
    return ActorHandle<A>(detail::submit_task(std::move(sub)));
  }

 private:
  const detail::FunctionInfo* info_;
  int restarts_ = 0;
  int concurrency_ = 1;
  std::string name_;
};

/// @brief Wraps a registered actor factory (returning `std::unique_ptr<A>` or `A*`).
///
/// @code
/// std::unique_ptr<Counter> make_counter(int start);
/// RAYMPI_REMOTE(make_counter, &Counter::increment);
/// raympi::ActorHandle<Counter> c = raympi::actor(make_counter).remote(10);
/// @endcode
template <class R, class... P>
auto actor(R (*factory)(P...)) {
  using A = detail::factory_product_t<R>;
  static_assert(!std::is_void_v<A>,
                "raympi::actor(f): f must be an actor factory returning std::unique_ptr<A> or A* for a class A; "
                "use raympi::task(f) for a plain remote function.");
  const detail::FunctionInfo* info = detail::find_function(reinterpret_cast<const void*>(factory));
  if (!info) detail::throw_unregistered(reinterpret_cast<const void*>(factory));
  return ActorCreator<A, R (*)(P...)>(info);
}

template <class R, class... P>
auto actor(R (*factory)(P...) noexcept) {
  return actor(static_cast<R (*)(P...)>(factory));
}

/// @brief The handle of the actor registered under `name`, from any rank;
/// std::nullopt when no live actor has that name. Throws raympi::Error when the
/// named actor is not of class A.
///
/// @code
/// if (auto c = raympi::get_actor<Counter>("counter")) raympi::get(c->task(&Counter::increment).remote());
/// @endcode
template <class A>
std::optional<ActorHandle<A>> get_actor(const std::string& name) {
  detail::RefPtr p = detail::lookup_actor(name, typeid(A));
  if (!p) return std::nullopt;
  return ActorHandle<A>(std::move(p));
}

}  // namespace raympi
