#include "core/runtime.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "base/fault_injection.hpp"
#include "core/config.hpp"
#include "base/log.hpp"
#include "timeline/thread_row.hpp"
#include "raympi/errors.hpp"

namespace raympi::detail {


Roles Roles::for_size(int size) {
  Roles r;
  r.size = size;
  if (size >= 3) { r.gs = 0; r.gcs = 1; r.first_node = 2; }
  else if (size == 2) { r.gs = 0; r.gcs = 0; r.first_node = 1; }
  else { r.gs = 0; r.gcs = 0; r.first_node = 0; }
  return r;
}

void Context::send(int dst, Buffer msg) const {
  if (membership && membership->dead(dst)) return;  // nobody would ever receive it
  transport->send(dst, std::move(msg));
}

Runtime::Runtime(Options opts, std::unique_ptr<Transport> transport)
    : objects_(opts.rank, ObjectTable::Actions{
                              [this](int minter, ObjectId id, int count) {
                                DecRefMsg m;
                                m.items.emplace_back(id, count);
                                cx_.send(minter, encode_msg(MsgType::dec_ref, m));
                              },
                              [this](ObjectRecord& r) { owners_.free(r); },
                              [this](ObjectId actor) { router_.forget(actor); }}),
      transport_(std::move(transport)),
      data_(std::move(opts.data_plane)),
      pinning_(std::move(opts.pinning)) {
  cx_.cfg = std::move(opts.cfg);
  cx_.epoch = opts.epoch;
  waiters_.set_inline_get(cx_.cfg.inline_get != 0);
  cx_.roles = opts.roles;
  cx_.rank = opts.rank;
  cx_.nodes = std::move(opts.nodes);
  cx_.transport = transport_.get();
  cx_.data = data_.get();
  cx_.store = &store_;
  cx_.objects = &objects_;
  cx_.owners = &owners_;
  cx_.fetcher = &fetcher_;
  cx_.waiters = &waiters_;
  cx_.tasks = &tasks_;
  cx_.router = &router_;
  cx_.actors = &actors_;
  cx_.cancels = &cancels_;
  cx_.gcs = &gcs_;
  cx_.pgs = &pgs_;
  // The job's folder: the node's spill files and its event-log spool.
  const std::string job_folder = cx_.cfg.spill_directory + "/raympi-" + opts.job_tag;
  timeline_ = std::make_unique<TimelineService>(cx_, job_folder, opts.clock_error_us);
  cx_.timeline = timeline_.get();
  membership_ = std::make_unique<Membership>(cx_);
  cx_.membership = membership_.get();
  objects_.bind_process();
  if (data_) data_->on_peer_failed([this](int r) { peer_failed(r); });
  if (cx_.is_node()) {
    // Freed object buffers kept for reuse: up to a quarter of the store's budget.
    set_block_pool_limit(cx_.cfg.object_store_memory / 4);
    store_.configure(cx_.cfg.object_store_memory,
                     std::make_unique<SpillDir>(job_folder, cx_.rank));
    ResourceSet total;
    for (auto& n : cx_.nodes)
      if (n.rank == cx_.rank) total = n.total;
    store_.set_observer([this](TransferKind kind, ObjectId id, std::uint64_t bytes, Clock::time_point began,
                               Clock::time_point ended) { timeline_->stored(kind, id, bytes, began, ended); });
    // Every worker thread (and actor thread, slot -1) starts bound to its PU, at
    // the workers' priority, and takes its timeline row (extra workers: rows
    // after the base workers').
    auto on_start = [p = pinning_, extra = std::make_shared<std::atomic<int>>(
                                       LocalScheduler::base_workers_for(cx_.cfg.num_cpus))](int slot) {
      if (p) p->place_worker(slot);
      set_this_thread_row(slot >= 0 ? slot : extra->fetch_add(1), p ? p->worker_pu(slot) : -1);
    };
    scheduler_ = std::make_unique<LocalScheduler>(total, cx_.cfg.spin_us,
                                                  [this](const TaskPtr& t) { tasks_.execute(t); }, on_start);
    cx_.scheduler = scheduler_.get();
  }
  if (cx_.rank == cx_.roles.gs) {
    std::vector<GlobalScheduler::NodeView> views;
    for (auto& n : cx_.nodes) views.push_back({n.rank, n.total, n.total, 0, 0, false});
    gs_ = std::make_unique<GlobalScheduler>(std::move(views));
    cx_.gs = gs_.get();
  }
  if (cx_.rank == cx_.roles.gcs) {
    std::vector<NodeRecordWire> recs;
    for (auto& n : cx_.nodes) {
      NodeRecordWire w;
      w.rank = n.rank;
      w.host = n.host;
      w.total = n.total.as_map();
      recs.push_back(std::move(w));
    }
    gcs_server_ = std::make_unique<GcsServer>(
        cx_, std::make_unique<Gcs>(std::move(recs), opts.function_keys));
    cx_.gcs_server = gcs_server_.get();
  }
  event_flush_ = event_flush_period(cx_.nodes.size());
  gs_load_spacing_ = gs_load_spacing(cx_.nodes.size());
  last_flush_ = last_heartbeat_ = last_gs_load_ = Clock::now();
}

Runtime::~Runtime() {
  // The components go one by one, releasing the handles they hold: from now
  // on a release frees quietly (no messages, no calls into components that
  // may be gone already), also when the runtime never started or shut down.
  objects_.disable();
}

void Runtime::start() {
  // Polling is free while a worker PU is idle or the runtime has PUs of its
  // own. Beside young tasks (likely short: fine-grained work, sync round
  // trips) it saves a wake-up per message; beside a long computation it would
  // take the CPU from it, so the progress thread blocks at once and, when
  // woken, preempts the worker (its short slice).
  std::function<bool()> may_spin;
  if (scheduler_ && pinning_ && pinning_->runtime_mask().empty())
    may_spin = [s = scheduler_.get(), pus = std::uint32_t(pinning_->worker_pu_count()),
                young = std::chrono::microseconds(cx_.cfg.progress_spin_us)] {
      return s->running_now() < pus || Clock::now() - s->latest_start() < young;
    };
  transport_->start(Transport::Hooks{[this](int src, Buffer msg) { on_message(src, std::move(msg)); },
                                     [this](Clock::time_point now) { return on_tick(now); }, std::move(may_spin)});
  if (scheduler_) scheduler_->start();
}

void Runtime::on_message(int src, Buffer msg) {
  try {
    switch (msg_type(msg)) {
      case MsgType::submit_task:
        if (cx_.is_node()) tasks_.on_submit(src, msg);  // placed by the GS
        else tasks_.on_submit_at_gs(msg);
        break;
      case MsgType::task_done: tasks_.on_task_done(src, msg); break;
      case MsgType::locate: owners_.on_locate(decode_msg<IdMsg>(msg).id, src); break;
      case MsgType::location: {
        Buffer bytes;
        auto m = decode_msg<LocationMsg>(msg, &bytes);
        fetcher_.on_location(m, bytes);
        break;
      }
      case MsgType::pull: fetcher_.on_pull(src, msg); break;
      case MsgType::data: fetcher_.on_data(src, msg); break;
      case MsgType::add_location: owners_.on_add_location(decode_msg<IdMsg>(msg).id, src); break;
      case MsgType::free_objects:
        for (ObjectId id : decode_msg<IdsMsg>(msg).ids) store_.erase(id);
        break;
      case MsgType::dec_ref:
        for (auto& [id, n] : decode_msg<DecRefMsg>(msg).items) objects_.return_children(id, n);
        break;
      case MsgType::node_load: {
        auto m = decode_msg<NodeLoadMsg>(msg);
        membership_->heard_from(src);  // a node's load report is its heartbeat
        if (gs_) gs_->on_load(m);
        if (gcs_server_) gcs_server_->on_load(m);
        break;
      }
      case MsgType::gcs_events:
        if (gcs_server_) gcs_server_->on_events(decode_msg<GcsEventsMsg>(msg));
        break;
      case MsgType::gcs_query:
        if (gcs_server_) cx_.send(src, encode_msg(MsgType::gcs_reply, gcs_server_->answer(decode_msg<GcsQueryMsg>(msg))));
        break;
      case MsgType::gcs_reply: gcs_.on_reply(msg); break;
      case MsgType::actor_kill: actors_.on_kill(decode_msg<ActorKillMsg>(msg)); break;
      case MsgType::actor_release: actors_.on_release(decode_msg<IdMsg>(msg).id); break;
      case MsgType::actor_caller_done: actors_.on_caller_done(decode_msg<ActorCallerDoneMsg>(msg)); break;
      case MsgType::timeline_request: timeline_->on_request(src, msg); break;
      case MsgType::timeline_reply: timeline_->on_reply(src, msg); break;
      case MsgType::heartbeat: membership_->heard_from(src); break;
      case MsgType::node_died: {
        auto m = decode_msg<NodeDiedMsg>(msg);
        if (cx_.rank == cx_.roles.gcs) declare_dead(m.rank, m.reason);  // a suspicion: the GCS decides
        else on_node_died(m.rank, m.reason);
        break;
      }
      case MsgType::task_placed: tasks_.on_task_placed(decode_msg<TaskPlacedMsg>(msg)); break;
      case MsgType::cancel_task: cancels_.on_cancel(decode_msg<CancelMsg>(msg)); break;
      case MsgType::shutdown: on_shutdown(msg); break;
      case MsgType::placement_group: pgs_.on_message(src, msg); break;
      case MsgType::shutdown_ack: {
        std::lock_guard lk(life_mu_);
        acked_.push_back(src);
        life_cv_.notify_all();
        break;
      }
      case MsgType::shutdown_alive: {
        std::lock_guard lk(life_mu_);
        if (cx_.rank == cx_.roles.first_node) finishing_heard_[src] = Clock::now();
        else driver_heard_ = Clock::now();
        break;
      }
      case MsgType::shutdown_final: {
        auto m = decode_msg<ShutdownMsg>(msg);
        std::lock_guard lk(life_mu_);
        // Ranks that died or went silent during the shutdown: no closing barrier then.
        for (int r : m.failed_ranks)
          if (std::find(failed_ranks_.begin(), failed_ranks_.end(), r) == failed_ranks_.end()) failed_ranks_.push_back(r);
        final_received_ = true;
        life_cv_.notify_all();
        break;
      }
      default: throw Error("unknown message type " + std::to_string(int(msg_type(msg))));
    }
  } catch (const std::exception& e) {
    RAYMPI_LOG_ERROR("rank {}: dropped a malformed message of type {} from rank {}: {}", cx_.rank, int(msg_type(msg)),
                     src, e.what());
  }
}

Clock::time_point Runtime::on_tick(Clock::time_point now) {
  try {
    return tick(now);
  } catch (const std::exception& e) {
    // Never out of the progress thread (that would terminate the rank): the
    // next tick tries again.
    RAYMPI_LOG_ERROR("rank {}: the periodic tick failed: {}; retrying in 100 ms", cx_.rank, e.what());
    return now + std::chrono::milliseconds(100);
  }
}

Clock::time_point Runtime::tick(Clock::time_point now) {
  maybe_inject_fault("tick");
  store_.enforce_budget();  // objects released since the last put may be spillable now
  trim_block_pool();        // freed buffers nobody reused for a few seconds go back to the system
  tasks_.drop_finished();   // with no submission coming, tasks that ran release their refs here
  if (now - last_flush_ >= event_flush_) {
    gcs_.flush();
    if (gs_) tasks_.flush_placed();  // the GS tells owners where their tasks went
    last_flush_ = now;
  }
  auto next_beat = membership_->tick(now, [this](int r, const std::string& why) {
    if (cx_.rank == cx_.roles.gcs) declare_dead(r, why);
    else on_node_died(r, why);  // only the GCS itself times out here
  });
  if (shutdown_seen_.load(std::memory_order_relaxed)) shutdown_tick(now);
  const bool several_nodes = cx_.nodes.size() > 1;  // with one node the GS never places anything
  if (now - last_heartbeat_ >= cx_.cfg.heartbeat_period) {
    if (scheduler_) send_load(true);
    last_heartbeat_ = last_gs_load_ = now;
  } else if (scheduler_ && several_nodes && now - last_gs_load_ >= gs_load_spacing_ &&
             scheduler_->load_changed.load(std::memory_order_relaxed)) {
    send_load(false);
    last_gs_load_ = now;
  }
  // Always in the future: the progress loop sleeps until then when idle.
  auto next = std::min(last_heartbeat_ + cx_.cfg.heartbeat_period, next_beat);
  next = std::min(next, pgs_.tick(now));  // placement groups refused by a busy node, tried again
  if (gcs_.pending() || (gs_ && tasks_.placed_pending())) next = std::min(next, last_flush_ + event_flush_);
  if (scheduler_ && several_nodes && scheduler_->load_changed.load(std::memory_order_relaxed))
    next = std::min(next, last_gs_load_ + gs_load_spacing_);
  return std::max(next, now + std::chrono::microseconds(100));
}

void Runtime::send_load(bool to_gcs) {
  scheduler_->load_changed.store(false, std::memory_order_relaxed);
  auto l = scheduler_->load();
  NodeLoadMsg m{cx_.rank, std::move(l.available), l.queued, l.running, l.finished};
  Buffer b = encode_msg(MsgType::node_load, m);
  bool to_gs = cx_.nodes.size() > 1;
  if (to_gs) cx_.send(cx_.roles.gs, b);
  if (to_gcs && !(to_gs && cx_.roles.gcs == cx_.roles.gs)) cx_.send(cx_.roles.gcs, b);  // one copy per rank
}

LocalStats Runtime::stats() {
  LocalStats s;
  s.store_objects = store_.count();
  s.store_bytes = store_.bytes();
  s.ref_records = objects_.size();
  s.owned_objects = owners_.count();
  s.fetches = fetcher_.count();
  s.actors_hosted = actors_.count(&s.actor_callers);
  s.actor_routes = router_.count();
  s.spilled_objects = store_.spilled_count();
  s.spilled_bytes = store_.spilled_bytes();
  s.spill_folder = store_.spill_folder();
  s.data_plane = data_ != nullptr;
  s.pooled_free_bytes = pooled_free_bytes();
  s.data_plane_received = data_ ? data_->received() : 0;
  s.data_plane_cma_received = data_ ? data_->cma_received() : 0;
  s.data_plane_sent = data_ ? data_->sent() : 0;
  return s;
}

// --- start and stop ---------------------------------------------------------

void Runtime::on_shutdown(const Buffer& msg) {
  auto m = decode_msg<ShutdownMsg>(msg);
  membership_->stop();
  std::lock_guard lk(life_mu_);
  driver_heard_ = Clock::now();
  finishing_.store(true);      // shutdown_alive to the driver until the acknowledgement (shutdown_tick)
  shutdown_seen_.store(true);  // and the driver's silence watched until shutdown_final
  shutdown_requested_ = true;
  exit_code_ = m.exit_code;
  for (int r : m.failed_ranks)
    if (std::find(failed_ranks_.begin(), failed_ranks_.end(), r) == failed_ranks_.end()) failed_ranks_.push_back(r);
  life_cv_.notify_all();
}

bool Runtime::lost_peers() {
  if (!membership_->dead_ranks().empty()) return true;  // also those found after the shutdown began
  if (transport_->quiesce_failed()) return true;         // a rank never reached the closing barrier
  std::lock_guard lk(life_mu_);
  return !failed_ranks_.empty() || !silent_ranks_.empty();
}

void Runtime::stop_local() {
  cx_.stopping.store(true);
  waiters_.cancel_all();  // every blocked get/wait (tasks on this node included) throws a shutdown error
  actors_.stop();         // their destructors run on their own threads
  if (scheduler_) scheduler_->stop();
}

void Runtime::shutdown_job(int exit_code) {
  if (!lost_peers()) {
    // While every node still serves: the trace and summary asked for at shutdown.
    if (!cx_.cfg.timeline.empty()) {
      try {
        TraceCounts c = timeline_->write_trace(cx_.cfg.timeline);
        RAYMPI_LOG_INFO("timeline: {} spans, {} flows, {} transfers written to {}", c.spans, c.flows, c.transfers,
                        cx_.cfg.timeline);
      } catch (const std::exception& e) {
        RAYMPI_LOG_ERROR("timeline: {}", e.what());
      }
    }
    if (cx_.cfg.summary == 1) {
      try {
        std::fputs(timeline_->summary().c_str(), stderr);
      } catch (const std::exception& e) {
        RAYMPI_LOG_ERROR("summary: {}", e.what());
      }
    }
  } else if (!cx_.cfg.timeline.empty()) {
    RAYMPI_LOG_WARN("timeline: not written, a rank of this job failed");
  }
  gcs_.flush();
  membership_->stop();  // ranks stop their heartbeats from now on, at different times
  // After the loss of a rank the job cannot do without, the other ranks exit
  // non-zero whatever the driver's code: the job failed.
  ShutdownMsg m{membership_->fatal() ? std::max(exit_code, 1) : exit_code, {}};
  {
    std::lock_guard lk(life_mu_);
    shutdown_requested_ = true;  // freezes failed_ranks_
    m.failed_ranks.assign(failed_ranks_.begin(), failed_ranks_.end());
  }
  auto failed = [&](int r) { return std::find(m.failed_ranks.begin(), m.failed_ranks.end(), r) != m.failed_ranks.end(); };
  for (int r = 0; r < cx_.roles.size; ++r)
    if (r != cx_.rank && !failed(r)) cx_.send(r, encode_msg(MsgType::shutdown, m));
  await_acknowledgements(m.failed_ranks);
  stop_local();
  objects_.disable();
  if (data_) data_->stop();
  transport_->stop(lost_peers());
}

int Runtime::serve() {
  bool failed_job;
  {
    std::unique_lock lk(life_mu_);
    life_cv_.wait(lk, [&] { return shutdown_requested_ || membership_->fatal(); });
    // A fatal loss: the driver normally ends the job (its calls failed with
    // the reason); if it is the one lost, or stays silent, leave on our own.
    if (!shutdown_requested_ && !life_cv_.wait_for(lk, cx_.cfg.heartbeat_timeout, [&] { return shutdown_requested_; }))
      RAYMPI_LOG_ERROR("rank {}: leaving the job: {}", cx_.rank, membership_->fatal_reason());
    // Lost here, or by the driver (its shutdown lists the dead ranks).
    failed_job = membership_->fatal() || std::any_of(failed_ranks_.begin(), failed_ranks_.end(), [&](int r) {
                   return r == cx_.roles.gs || r == cx_.roles.gcs || r == cx_.roles.first_node;
                 });
  }
  if (failed_job) {
    // The job failed: what still runs here has nobody to report to. Leave
    // now, non-zero, instead of waiting for running tasks (the runtime never
    // interrupts user code, so they could run for hours).
    RAYMPI_LOG_ERROR("rank {}: the job failed; leaving it with exit status 1", cx_.rank);
    cx_.stopping.store(true);
    waiters_.cancel_all();
    cx_.send(cx_.roles.first_node, encode_msg(MsgType::shutdown_ack, ShutdownMsg{}));
    transport_->stop(true);
    std::_Exit(1);
  }
  stop_local();
  objects_.disable();
  if (data_) data_->stop();
  finishing_.store(false);
  cx_.send(cx_.roles.first_node, encode_msg(MsgType::shutdown_ack, ShutdownMsg{}));
  if (fault_injected("die_after_ack")) {  // test hook: a death once the acknowledgement left
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    raise(SIGKILL);
  }
  await_final();
  transport_->stop(lost_peers());
  return exit_code_;
}

}  // namespace raympi::detail
