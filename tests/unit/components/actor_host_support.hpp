#pragma once
// What the ActorHost and ActorPool component tests share (actor_host_test.cpp,
// actor_pool_test.cpp): tasks filled the way ActorHost reads them, an
// instance and hooks that log what the host does, and one actor on its own
// pool. Inside an unnamed namespace: each test file gets its own copy (they
// link into one program, component_tests).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "actors/actor_host.hpp"
#include "actors/actor_pool.hpp"
#include "scheduler/task.hpp"
#include "component_support.hpp"

namespace {

using component_test::eventually;
using component_test::Gate;
using component_test::bytes_of;

using namespace std::chrono_literals;
using raympi::detail::ActorHost;
using raympi::detail::ActorPool;
using raympi::detail::ObjectId;
using raympi::detail::Task;
using raympi::detail::TaskKind;
using raympi::detail::TaskPtr;
using Phase = ActorHost::Phase;

// ---------------------------------------------------------------------------
// The only places that fill a Task: ActorHost reads the creation's id and
// max_restarts, and a call's caller and call_seq.
void set_max_restarts(Task& t, int n) { t.actor_spec.max_restarts = n; }

TaskPtr make_creation(int max_restarts, std::uint64_t actor = 1) {
  auto t = std::make_shared<Task>();
  t->id = ObjectId::make_actor(0, actor);
  t->kind = TaskKind::actor_create;
  set_max_restarts(*t, max_restarts);
  return t;
}

TaskPtr make_call(std::uint64_t caller, std::uint64_t seq) {
  auto t = std::make_shared<Task>();
  t->id = ObjectId::make(0, caller * 1000 + seq + 1);
  t->kind = TaskKind::actor_call;
  t->actor = ObjectId::make_actor(0, 1);
  t->caller = caller;
  t->call_seq = seq;
  return t;
}

struct CallKey {
  std::uint64_t caller, seq;
  friend bool operator==(const CallKey&, const CallKey&) = default;
  friend std::ostream& operator<<(std::ostream& os, const CallKey& k) {
    return os << "(" << k.caller << "," << k.seq << ")";
  }
};
CallKey key(const TaskPtr& t) { return {t->caller, t->call_seq}; }

void settle() { std::this_thread::sleep_for(100ms); }

struct Log;
// The actor instance: knows which build made it and where it is destroyed.
struct Instance {
  Instance(std::shared_ptr<Log> log, int number) : log(std::move(log)), number(number) {}
  ~Instance();
  std::shared_ptr<Log> log;
  int number;
};

// Everything the hooks saw. Shared with the hooks (the actor's thread can
// outlive the test body by a moment).
struct Log {
  std::mutex mu;
  int builds = 0, throws_left = 0;
  std::vector<std::thread::id> build_threads, destroy_threads, started_threads;  // started: pool threads
  std::vector<int> destroyed;
  std::vector<std::pair<CallKey, int>> ran;  // call, instance number
  std::vector<std::pair<CallKey, std::string>> failed;
  std::vector<std::pair<Phase, std::string>> phases;
  int exited = 0;
  std::map<std::uint64_t, std::shared_ptr<Gate>> gates;  // by caller * 1000 + seq
  std::map<std::uint64_t, std::function<void()>> actions;  // run by the call, before its gate; same key
  std::atomic<int> in_flight{0}, most_in_flight{0};       // calls running at once (all actors of the log)
  std::vector<void*> selves;
  std::vector<void*> instances;

  std::shared_ptr<Gate> gate(std::uint64_t caller, std::uint64_t seq) {
    std::lock_guard lk(mu);
    auto& g = gates[caller * 1000 + seq];
    if (!g) g = std::make_shared<Gate>();
    return g;
  }
  void open_all() {
    std::lock_guard lk(mu);
    for (auto& [k, g] : gates) g->open();
  }
  template <class F>
  auto read(F f) {
    std::lock_guard lk(mu);
    return f();
  }
  std::vector<CallKey> ran_keys() {
    std::lock_guard lk(mu);
    std::vector<CallKey> out;
    for (auto& [k, n] : ran) out.push_back(k);
    return out;
  }
  std::vector<CallKey> failed_keys() {
    std::lock_guard lk(mu);
    std::vector<CallKey> out;
    for (auto& [k, why] : failed) out.push_back(k);
    return out;
  }
  bool saw_phase(Phase p) {
    std::lock_guard lk(mu);
    return std::any_of(phases.begin(), phases.end(), [&](auto& e) { return e.first == p; });
  }
};

Instance::~Instance() {
  std::lock_guard lk(log->mu);
  log->destroyed.push_back(number);
  log->destroy_threads.push_back(std::this_thread::get_id());
}

std::shared_ptr<const ActorHost::Hooks> hooks_for(const std::shared_ptr<Log>& log) {
  auto hooks = std::make_shared<ActorHost::Hooks>();
  ActorHost::Hooks& h = *hooks;
  h.build = [log](ActorHost&) -> std::shared_ptr<void> {
    int number;
    {
      std::lock_guard lk(log->mu);
      log->build_threads.push_back(std::this_thread::get_id());
      if (log->throws_left > 0) {
        --log->throws_left;
        throw std::runtime_error("factory boom");
      }
      number = ++log->builds;
    }
    auto inst = std::make_shared<Instance>(log, number);
    std::lock_guard lk(log->mu);
    log->instances.push_back(inst.get());
    return inst;
  };
  h.run = [log](ActorHost&, const TaskPtr& t, void* self) {
    int now = ++log->in_flight;
    for (int most = log->most_in_flight.load(); now > most && !log->most_in_flight.compare_exchange_weak(most, now);) {
    }
    std::shared_ptr<Gate> g;
    std::function<void()> action;
    {
      std::lock_guard lk(log->mu);
      log->ran.emplace_back(key(t), static_cast<Instance*>(self)->number);
      log->selves.push_back(self);
      const std::uint64_t k = t->caller * 1000 + t->call_seq;
      if (auto it = log->gates.find(k); it != log->gates.end()) g = it->second;
      if (auto it = log->actions.find(k); it != log->actions.end()) action = it->second;
    }
    if (action) action();
    if (g) g->wait();
    std::this_thread::yield();  // widen the window in which an overlapping call would show
    --log->in_flight;
  };
  h.fail = [log](ActorHost&, const TaskPtr& t, const std::string& why) {
    std::lock_guard lk(log->mu);
    log->failed.emplace_back(key(t), why);
  };
  h.changed = [log](ActorHost&, Phase p, const std::string& message) {
    std::lock_guard lk(log->mu);
    log->phases.emplace_back(p, message);
  };
  h.exited = [log](ActorHost&) {
    std::lock_guard lk(log->mu);
    ++log->exited;
  };
  return hooks;
}

ActorPool::Options pool_options(const std::shared_ptr<Log>& log, int spin_us) {
  ActorPool::Options o;
  o.spin_us = spin_us;
  o.thread_started = [log] {
    std::lock_guard lk(log->mu);
    log->started_threads.push_back(std::this_thread::get_id());
  };
  return o;
}

// A host on a pool of its own, and its log; the destructor opens every gate
// and stops the host and the pool so that no thread is left behind.
struct Actor {
  explicit Actor(int max_restarts, int spin_us = 0, int factory_throws = 0)
      : log(std::make_shared<Log>()), hooks(hooks_for(log)), pool(std::make_unique<ActorPool>(pool_options(log, spin_us))) {
    log->throws_left = factory_throws;
    host = std::make_shared<ActorHost>(make_creation(max_restarts), *pool, *hooks);
  }
  ~Actor() {
    log->open_all();
    host->stop();
    pool->stop();
  }
  bool on_a_pool_thread(std::thread::id id) {
    return log->read([&] {
      return std::find(log->started_threads.begin(), log->started_threads.end(), id) != log->started_threads.end();
    });
  }
  void start_alive() {
    host->start();
    ASSERT_TRUE(eventually([&] { return log->saw_phase(Phase::alive); })) << "the actor was never built";
  }
  std::size_t ran() { return log->read([&] { return log->ran.size(); }); }
  std::size_t failed() { return log->read([&] { return log->failed.size(); }); }

  std::shared_ptr<Log> log;
  std::shared_ptr<const ActorHost::Hooks> hooks;
  std::unique_ptr<ActorPool> pool;
  std::shared_ptr<ActorHost> host;
};


}  // namespace
