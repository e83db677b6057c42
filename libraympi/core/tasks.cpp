// Tasks: submission, bottom-up placement, execution, completion.
#include <cxxabi.h>

#include "base/log.hpp"
#include "core/runtime.hpp"
#include "raympi/errors.hpp"

namespace raympi::detail {

namespace {
thread_local const Task* t_current = nullptr;

std::string current_exception_type() {
  auto* t = abi::__cxa_current_exception_type();
  return t ? demangle(t->name()) : std::string("unknown");
}
}  // namespace

const Task* current_task() { return t_current; }

ObjectId Runtime::next_id() { return ObjectId::make(rank_, ++id_counter_); }

RefPtr Runtime::submit(TaskSubmission&& s) {
  if (stopping()) throw Error("raympi: the job is shutting down; no new tasks");
  if (!scheduler_) throw Error("raympi: tasks can only be submitted from the driver or from tasks");
  auto t = std::make_shared<Task>();
  t->id = s.kind == TaskKind::actor_create ? ObjectId::make_actor(rank_, ++id_counter_) : next_id();
  t->fn = s.fn;
  t->name = std::move(s.name);
  t->demand = std::move(s.demand);
  t->shape = demand_shape(t->demand);
  t->max_retries = s.max_retries;
  t->args = std::move(s.args);
  t->deps = std::move(s.deps);
  t->held = std::move(s.held);
  t->submitted_at = now_seconds();
  t->kind = s.kind;
  t->spec = std::move(s.spec);
  RefPtr ref = refs_.create_owned(t->id);
  if (t->kind == TaskKind::actor_call) {
    t->actor = s.actor.id();
    own_pending(t->id, std::move(s.actor));  // the actor lives at least until the call is done
    route_call(std::move(t));
    return ref;
  }
  own_pending(t->id);
  if (t->kind == TaskKind::actor_create && !t->spec.name.empty()) register_actor_name(*t, ref);
  place(std::move(t));
  return ref;
}

void Runtime::fail_owned(ObjectId id, ErrorKind err, std::string message) {
  store_.put(make_error_object(id, err, message));
  own_failed(id, err, std::move(message));
}

void Runtime::place(TaskPtr t) {
  // One pass over the node table: who can ever run this demand?
  int feasible = 0, only = -1;
  bool here = false;
  for (auto& n : nodes_) {
    if (!n.total.fits(t->demand)) continue;
    ++feasible;
    only = n.rank;
    here |= n.rank == rank_;
  }
  if (feasible == 0) {
    std::string msg = "raympi: task '" + t->display_name() + "' demands {" + describe(t->demand) +
                      "} which no node of this job has; the nodes offer:";
    for (auto& n : nodes_) {
      msg += " rank " + std::to_string(n.rank) + " {";
      for (auto& [k, v] : n.total.as_map())
        if (k.rfind("node:", 0) != 0) msg += " " + k + "=" + std::to_string(v).substr(0, std::to_string(v).find('.') + 3);
      msg += " };";
    }
    msg += " lower the demand, or give the nodes more (Config, RAYMPI_NUM_CPUS/GPUS, RAYMPI_RESOURCES)";
    fail_owned(t->id, ErrorKind::infeasible, std::move(msg));
    return;
  }
  bool elsewhere = feasible > (here ? 1 : 0);
  bool local = here && (!elsewhere || scheduler_->can_run_now(t->demand));
  if (local && elsewhere && !t->deps.empty()) {
    // Large arguments elsewhere: let the GS weigh locality.
    t->locality = locality_of(t->deps);
    std::uint64_t bytes_here = 0, bytes_elsewhere = 0;
    for (auto& [r, b] : t->locality) (r == rank_ ? bytes_here : bytes_elsewhere) += b;
    if (bytes_elsewhere > bytes_here && bytes_elsewhere >= (1u << 20)) local = false;
  }
  if (local) {
    resolve_and_enqueue(std::move(t));
    return;
  }
  // Only one node can ever run it (e.g. a node:<rank> demand): the GS could
  // choose nothing else, so skip its hop.
  if (feasible == 1) {
    forward(t, only);
    return;
  }
  if (t->locality.empty() && !t->deps.empty()) t->locality = locality_of(t->deps);
  forward(t, roles_.gs);
}

void Runtime::resolve_and_enqueue(TaskPtr t) {
  if (t->deps.empty()) {
    ready(std::move(t));
    return;
  }
  t->resolved.resize(t->deps.size());
  t->missing.store(int(t->deps.size()));
  for (std::size_t i = 0; i < t->deps.size(); ++i) {
    fetch(t->deps[i], [this, t, i](const StoredPtr& o) {
      t->resolved[i] = o;
      if (t->missing.fetch_sub(1, std::memory_order_acq_rel) == 1) ready(t);
    });
  }
}

void Runtime::ready(TaskPtr t) {
  if (t->kind == TaskKind::actor_call) deliver_call(std::move(t));  // the actor's mailbox, not the queue
  else scheduler_->enqueue(std::move(t));
}

void Runtime::forward(const TaskPtr& t, int dst) {
  TaskHeader h;
  h.id = t->id;
  h.fn_id = t->fn->id;
  h.name = t->name;
  h.demand = t->demand;
  h.max_retries = t->max_retries;
  h.minter = rank_;
  h.deps = t->deps;
  for (auto& r : t->held) h.refs.push_back(r.id());
  h.locality = t->locality;
  h.submitted_at = t->submitted_at;
  h.kind = t->kind;
  h.actor = t->actor;
  h.caller = t->caller;
  h.seq = t->call_seq;
  h.spec = t->spec;
  refs_.mint(t->held);  // the receiver returns these tokens when done with the task
  transport_->send(dst, encode_msg(MsgType::submit_task, h, &t->args));
}

void Runtime::route_at_gs(const Buffer& msg) {
  TaskHeader h = decode_msg<TaskHeader>(msg);
  int dst = gs_->choose(h.demand, h.locality);
  if (dst >= 0) {
    transport_->send(dst, msg);  // forwarded as is: the tokens stay the minter's
    return;
  }
  // Cannot happen for submissions checked at the node; kept for a node table change.
  refs_.claim(h.refs, h.minter);  // returned as the claimed handles drop
  TaskDoneMsg done;
  done.id = h.id;
  done.executor = rank_;
  done.error = ErrorKind::infeasible;
  done.message = "raympi: no node can ever satisfy {" + describe(h.demand) + "}";
  transport_->send(h.id.owner(), encode_msg(MsgType::task_done, done));
}

void Runtime::handle_submit(int src, const Buffer& msg) {
  Buffer args;
  TaskHeader h = decode_msg<TaskHeader>(msg, &args);
  auto t = std::make_shared<Task>();
  t->id = h.id;
  t->fn = find_function(h.fn_id);
  t->name = std::move(h.name);
  t->demand = std::move(h.demand);
  t->shape = demand_shape(t->demand);
  t->max_retries = h.max_retries;
  t->args = std::move(args);
  t->deps = std::move(h.deps);
  t->held = refs_.claim(h.refs, h.minter);
  t->submitted_at = h.submitted_at;
  t->kind = h.kind;
  t->actor = h.actor;
  t->caller = h.caller;
  t->call_seq = h.seq;
  t->spec = std::move(h.spec);
  if (!t->fn) {
    Invocation none;
    finish(t, none, ErrorKind::task, "raympi: function id " + std::to_string(h.fn_id) + " unknown on rank " +
                                         std::to_string(rank_), now_seconds());
    return;
  }
  resolve_and_enqueue(std::move(t));
}

CurrentTaskScope::CurrentTaskScope(const Task* t) : prev_(t_current) { t_current = t; }
CurrentTaskScope::~CurrentTaskScope() { t_current = prev_; }

bool failed_dependency(const Task& t, ErrorKind& err, std::string& message) {
  for (const auto& d : t.resolved) {
    if (d && d->error != ErrorKind::none) {  // a failed dependency fails us with its error
      err = d->error;
      message = d->error_message;
      return true;
    }
  }
  return false;
}

ErrorKind Runtime::invoke_guarded(const Task& t, Invocation& inv, std::string& message) {
  InArchive ar(t.args.data, t.args.size);
  inv.args = &ar;
  inv.deps = t.resolved.data();
  inv.num_deps = t.resolved.size();
  CurrentTaskScope scope(&t);  // a task run inline by a waiting task nests
  auto where = [&] {
    return std::string(t.kind == TaskKind::actor_call ? "actor method '" : "task '") + t.display_name() +
           "' (function " + t.fn->name + ") failed on rank " + std::to_string(rank_) + " with ";
  };
  try {
    t.fn->invoke(t.fn->address, inv);
    return ErrorKind::none;
  } catch (const SerializationError& e) {
    message = e.what();
    return ErrorKind::serialization;
  } catch (const TaskError& e) {
    message = e.what();  // a nested task failed: its text already says where
    return ErrorKind::task;
  } catch (const std::exception& e) {
    message = "raympi::TaskError: " + where() + current_exception_type() + ": " + e.what();
  } catch (...) {
    message = "raympi::TaskError: " + where() + current_exception_type();
  }
  return ErrorKind::task;
}

void Runtime::execute(const TaskPtr& t) {
  if (t->kind == TaskKind::actor_create) {
    start_actor(t);
    return;
  }
  double started = now_seconds();
  Invocation inv;
  ErrorKind err = ErrorKind::none;
  std::string message;
  if (!failed_dependency(*t, err, message)) {
    for (int attempt = 0;; ++attempt) {
      inv = Invocation{};
      err = invoke_guarded(*t, inv, message);
      if (err == ErrorKind::none || attempt >= t->max_retries || stopping()) break;
      RAYMPI_LOG_INFO("retrying task '{}' (attempt {} of {}) after: {}", t->display_name(), attempt + 2,
                      t->max_retries + 1, message);
    }
  }
  finish(t, inv, err, std::move(message), started);
}

void Runtime::finish(const TaskPtr& t, Invocation& inv, ErrorKind err, std::string message, double started) {
  int owner = t->id.owner();
  // The function id names the task; a custom name travels only when given.
  TaskEvent ev{t->id, t->fn ? t->fn->id : 0, t->name, rank_, 0, t->submitted_at, started, now_seconds(),
               err, inv.result.size, t->deps, t->kind == TaskKind::actor_create ? t->id : t->actor};
  record_event(std::move(ev));
  if (err != ErrorKind::none) {
    if (owner == rank_) {
      fail_owned(t->id, err, std::move(message));
    } else {
      TaskDoneMsg done{t->id, rank_, err, std::move(message), false, 0, {}};
      transport_->send(owner, encode_msg(MsgType::task_done, done));
    }
    return;
  }
  auto o = std::make_shared<StoredObject>();
  o->id = t->id;
  o->bytes = std::move(inv.result);
  o->value = std::move(inv.value);
  o->type = inv.type;
  std::uint64_t size = o->bytes.size;
  if (owner == rank_) {
    store_.put(o);
    if (t->kind == TaskKind::actor_create) actor_created(t->id, rank_);
    own_ready(t->id, rank_, size, std::move(inv.contained));
    return;
  }
  TaskDoneMsg done{t->id, rank_, ErrorKind::none, {}, size <= kInlineObjectBytes, size, {}};
  for (auto& r : inv.contained) done.contained.push_back(r.id());
  refs_.mint(inv.contained);
  if (done.inlined) {
    transport_->send(owner, encode_msg(MsgType::task_done, done, &o->bytes));
  } else {
    store_.put(o);
    transport_->send(owner, encode_msg(MsgType::task_done, done));
  }
}

void Runtime::handle_task_done(int src, const Buffer& msg) {
  Buffer bytes;
  auto m = decode_msg<TaskDoneMsg>(msg, &bytes);
  std::vector<RefPtr> contained = refs_.claim(m.contained, m.executor);
  if (m.error != ErrorKind::none) {
    fail_owned(m.id, m.error, std::move(m.message));
    return;
  }
  if (m.id.is_actor()) actor_created(m.id, m.executor);
  if (m.inlined) {
    auto o = std::make_shared<StoredObject>();
    o->id = m.id;
    o->bytes = bytes;
    store_.put(o);
    own_ready(m.id, rank_, m.size, std::move(contained));
  } else {
    own_ready(m.id, m.executor, m.size, std::move(contained));
  }
}

}  // namespace raympi::detail
