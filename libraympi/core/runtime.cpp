#include "core/runtime.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "raympi/errors.hpp"

namespace raympi::detail {

namespace {
std::atomic<Runtime*> g_runtime{nullptr};
constexpr auto kEventFlush = std::chrono::milliseconds(5);
constexpr auto kGsLoadSpacing = std::chrono::milliseconds(2);
}  // namespace

Roles Roles::for_size(int size) {
  Roles r;
  r.size = size;
  if (size >= 3) { r.gs = 0; r.gcs = 1; r.first_node = 2; }
  else if (size == 2) { r.gs = 0; r.gcs = 0; r.first_node = 1; }
  else { r.gs = 0; r.gcs = 0; r.first_node = 0; }
  return r;
}

Runtime* Runtime::instance() { return g_runtime.load(std::memory_order_acquire); }
void Runtime::set_instance(Runtime* rt) { g_runtime.store(rt, std::memory_order_release); }

Runtime::Runtime(Options opts, std::unique_ptr<Transport> transport)
    : cfg_(std::move(opts.cfg)),
      roles_(opts.roles),
      rank_(opts.rank),
      nodes_(std::move(opts.nodes)),
      transport_(std::move(transport)),
      data_(std::move(opts.data_plane)),
      refs_(opts.rank, RefTable::Actions{
                           [this](int minter, ObjectId id, int count) {
                             DecRefMsg m;
                             m.items.emplace_back(id, count);
                             transport_->send(minter, encode_msg(MsgType::dec_ref, m));
                           },
                           [this](ObjectId id) { own_free(id); },
                           [this](ObjectId actor) { forget_route(actor); }}),
      pinning_(std::move(opts.pinning)),
      epoch_(Clock::now()) {
  if (data_) data_->on_peer_failed([this](int r) { peer_failed(r); });
  if (roles_.is_node(rank_)) {
    // Freed object buffers kept for reuse: up to a quarter of the store's budget.
    set_block_pool_limit(cfg_.object_store_memory / 4);
    store_.configure(cfg_.object_store_memory,
                     std::make_unique<SpillDir>(cfg_.spill_directory + "/raympi-" + opts.job_tag, rank_));
    ResourceSet total;
    for (auto& n : nodes_)
      if (n.rank == rank_) total = n.total;
    // Every worker thread (and actor thread, slot -1) starts bound to its PU.
    auto on_start = [p = pinning_](int slot) {
      if (p) p->bind_worker(slot);
    };
    scheduler_ =
        std::make_unique<LocalScheduler>(total, cfg_.spin_us, [this](const TaskPtr& t) { execute(t); }, on_start);
  }
  if (rank_ == roles_.gs) {
    std::vector<GlobalScheduler::NodeView> views;
    for (auto& n : nodes_) views.push_back({n.rank, n.total, n.total, 0, 0});
    gs_ = std::make_unique<GlobalScheduler>(std::move(views));
  }
  if (rank_ == roles_.gcs) {
    std::vector<NodeRecordWire> recs;
    for (auto& n : nodes_) {
      NodeRecordWire w;
      w.rank = n.rank;
      w.host = n.host;
      w.total = n.total.as_map();
      recs.push_back(std::move(w));
    }
    gcs_ = std::make_unique<Gcs>(std::move(recs), opts.function_keys, cfg_.heartbeat_period);
  }
  events_.node = rank_;
  last_flush_ = last_heartbeat_ = last_gs_load_ = Clock::now();
}

Runtime::~Runtime() {
  if (instance() == this) set_instance(nullptr);
}

void Runtime::start() {
  transport_->start(Transport::Hooks{[this](int src, Buffer msg) { on_message(src, std::move(msg)); },
                                     [this](Clock::time_point now) { return on_tick(now); }});
  if (scheduler_) scheduler_->start();
}

double Runtime::now_seconds() const { return std::chrono::duration<double>(Clock::now() - epoch_).count(); }

void Runtime::on_message(int src, Buffer msg) {
  try {
    switch (msg_type(msg)) {
      case MsgType::submit_task:
        if (roles_.is_node(rank_)) handle_submit(src, msg);  // placed by the GS
        else route_at_gs(msg);
        break;
      case MsgType::task_done: handle_task_done(src, msg); break;
      case MsgType::locate: answer_locate(decode_msg<IdMsg>(msg).id, src); break;
      case MsgType::location: {
        Buffer bytes;
        auto m = decode_msg<LocationMsg>(msg, &bytes);
        on_location(m, bytes);
        break;
      }
      case MsgType::pull: handle_pull(src, msg); break;
      case MsgType::data: handle_data(src, msg); break;
      case MsgType::add_location: own_add_location(decode_msg<IdMsg>(msg).id, src); break;
      case MsgType::free_objects:
        for (ObjectId id : decode_msg<IdsMsg>(msg).ids) store_.erase(id);
        break;
      case MsgType::dec_ref:
        for (auto& [id, n] : decode_msg<DecRefMsg>(msg).items) refs_.return_children(id, n);
        break;
      case MsgType::node_load: {
        auto m = decode_msg<NodeLoadMsg>(msg);
        if (gs_) gs_->on_load(m);
        if (gcs_) gcs_->on_load(m);
        break;
      }
      case MsgType::gcs_events:
        if (gcs_) gcs_events(decode_msg<GcsEventsMsg>(msg));
        break;
      case MsgType::gcs_query:
        if (gcs_) transport_->send(src, encode_msg(MsgType::gcs_reply, answer_gcs(decode_msg<GcsQueryMsg>(msg))));
        break;
      case MsgType::actor_kill: handle_actor_kill(decode_msg<ActorKillMsg>(msg)); break;
      case MsgType::actor_release: handle_actor_release(decode_msg<IdMsg>(msg).id); break;
      case MsgType::actor_caller_done: handle_caller_done(decode_msg<ActorCallerDoneMsg>(msg)); break;
      case MsgType::gcs_reply: {
        auto m = decode_msg<GcsReplyMsg>(msg);
        std::lock_guard lk(query_mu_);
        auto it = queries_.find(m.request);
        if (it != queries_.end()) {
          it->second.set_value(std::move(m));
          queries_.erase(it);
        }
        break;
      }
      case MsgType::shutdown: {
        auto m = decode_msg<ShutdownMsg>(msg);
        std::lock_guard lk(life_mu_);
        shutdown_requested_ = true;
        exit_code_ = m.exit_code;
        failed_ranks_.assign(m.failed_ranks.begin(), m.failed_ranks.end());
        life_cv_.notify_all();
        break;
      }
      case MsgType::shutdown_ack: {
        std::lock_guard lk(life_mu_);
        ++acks_;
        life_cv_.notify_all();
        break;
      }
    }
  } catch (const std::exception& e) {
    RAYMPI_LOG_ERROR("rank {}: dropped a malformed message of type {} from rank {}: {}", rank_, int(msg_type(msg)),
                     src, e.what());
  }
}

Clock::time_point Runtime::on_tick(Clock::time_point now) {
  store_.enforce_budget();  // objects released since the last put may be spillable now
  trim_block_pool();        // freed buffers nobody reused for a few seconds go back to the system
  if (now - last_flush_ >= kEventFlush) {
    flush_events();
    last_flush_ = now;
  }
  if (now - last_heartbeat_ >= cfg_.heartbeat_period) {
    if (scheduler_) send_load(true);
    last_heartbeat_ = now;
    last_gs_load_ = now;
  } else if (scheduler_ && nodes_.size() > 1 && now - last_gs_load_ >= kGsLoadSpacing &&
             scheduler_->load_changed.load(std::memory_order_relaxed)) {
    send_load(false);
    last_gs_load_ = now;
  }
  // Always in the future: the progress loop sleeps until then when idle.
  auto next = last_heartbeat_ + cfg_.heartbeat_period;
  bool events_pending;
  {
    std::lock_guard lk(events_mu_);
    events_pending = !events_.empty();
  }
  if (events_pending) next = std::min(next, last_flush_ + kEventFlush);
  if (scheduler_ && nodes_.size() > 1 && scheduler_->load_changed.load(std::memory_order_relaxed))
    next = std::min(next, last_gs_load_ + kGsLoadSpacing);
  return std::max(next, now + std::chrono::microseconds(100));
}

void Runtime::send_load(bool to_gcs) {
  scheduler_->load_changed.store(false, std::memory_order_relaxed);
  auto l = scheduler_->load();
  NodeLoadMsg m{rank_, std::move(l.available), l.queued, l.running, l.finished};
  Buffer b = encode_msg(MsgType::node_load, m);
  bool to_gs = nodes_.size() > 1;  // with one node the GS never places anything
  if (to_gs) transport_->send(roles_.gs, b);
  if (to_gcs && !(to_gs && roles_.gcs == roles_.gs)) transport_->send(roles_.gcs, b);  // one copy per rank
}

void Runtime::record_event(TaskEvent ev) {
  std::lock_guard lk(events_mu_);
  events_.tasks.push_back(std::move(ev));
}

void Runtime::flush_events() {
  GcsEventsMsg batch;
  {
    std::lock_guard lk(events_mu_);
    if (events_.empty()) return;
    batch.node = rank_;
    std::swap(batch.tasks, events_.tasks);
    std::swap(batch.objects_created, events_.objects_created);
    std::swap(batch.objects_freed, events_.objects_freed);
    std::swap(batch.actors, events_.actors);
  }
  if (gcs_) gcs_events(batch);
  else transport_->send(roles_.gcs, encode_msg(MsgType::gcs_events, batch));
}

void Runtime::gcs_events(const GcsEventsMsg& batch) {
  std::vector<RefPtr> dropped;  // handles of named actors that died: their names are free again
  for (ObjectId id : gcs_->on_events(batch)) {
    std::lock_guard lk(pins_mu_);
    auto it = named_pins_.find(id);
    if (it == named_pins_.end()) continue;
    dropped.push_back(std::move(it->second));
    named_pins_.erase(it);
  }
}

GcsReplyMsg Runtime::query_gcs(GcsQueryMsg q) {
  flush_events();
  if (gcs_) return answer_gcs(q);
  std::future<GcsReplyMsg> f;
  {
    std::lock_guard lk(query_mu_);
    q.request = next_query_++;
    f = queries_[q.request].get_future();
  }
  transport_->send(roles_.gcs, encode_msg(MsgType::gcs_query, q));
  if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
    throw Error("raympi: the GCS (rank " + std::to_string(roles_.gcs) + ") did not answer within 30 s");
  return f.get();
}

LocalStats Runtime::stats() {
  LocalStats s;
  s.store_objects = store_.count();
  s.store_bytes = store_.bytes();
  s.ref_records = refs_.size();
  {
    std::lock_guard lk(owned_mu_);
    s.owned_objects = owned_.size();
  }
  {
    std::lock_guard lk(fetch_mu_);
    s.fetches = fetching_.size();
  }
  std::vector<std::shared_ptr<ActorHost>> hosts;
  {
    std::lock_guard lk(actors_mu_);
    s.actors_hosted = actors_.size();
    for (auto& [id, h] : actors_) hosts.push_back(h);
  }
  for (auto& h : hosts) s.actor_callers += h->callers();
  s.spilled_objects = store_.spilled_count();
  s.spilled_bytes = store_.spilled_bytes();
  s.spill_folder = store_.spill_folder();
  s.data_plane = data_ != nullptr;
  s.pooled_free_bytes = pooled_free_bytes();
  s.data_plane_received = data_ ? data_->received() : 0;
  s.data_plane_sent = data_ ? data_->sent() : 0;
  {
    std::lock_guard lk(routes_mu_);
    s.actor_routes = routes_.size();
  }
  return s;
}

void Runtime::stop_local() {
  stopping_.store(true);
  {
    // Wake every blocked get/wait (tasks on this node included) with a shutdown error.
    std::lock_guard lk(waiters_mu_);
    for (auto& w : waiters_) {
      std::lock_guard wl(w->mu);
      w->cancelled = true;
      w->cv.notify_all();
    }
  }
  stop_actors();  // their destructors run on their own threads
  if (scheduler_) scheduler_->stop();
}

void Runtime::peer_failed(int rank) {
  {
    std::lock_guard lk(life_mu_);
    // Once shutdown began, peers closing their endpoints is expected; and the
    // failed list the ranks agreed on (sent with the shutdown) must not change.
    if (shutdown_requested_) return;
    if (std::find(failed_ranks_.begin(), failed_ranks_.end(), rank) != failed_ranks_.end()) return;
    failed_ranks_.push_back(rank);
  }
  RAYMPI_LOG_ERROR("rank {}: rank {} failed (its data-plane endpoint broke); objects only it held are lost", rank_,
                   rank);
  fail_pulls_from(rank);
}

void Runtime::shutdown_job(int exit_code) {
  flush_events();
  ShutdownMsg m{exit_code, {}};
  {
    std::lock_guard lk(life_mu_);
    shutdown_requested_ = true;  // freezes failed_ranks_
    m.failed_ranks.assign(failed_ranks_.begin(), failed_ranks_.end());
  }
  auto failed = [&](int r) { return std::find(m.failed_ranks.begin(), m.failed_ranks.end(), r) != m.failed_ranks.end(); };
  for (int r = 0; r < roles_.size; ++r)
    if (r != rank_ && !failed(r)) transport_->send(r, encode_msg(MsgType::shutdown, m));
  const int expected = roles_.size - 1 - int(m.failed_ranks.size());
  {
    std::unique_lock lk(life_mu_);
    while (acks_ < expected)
      if (!life_cv_.wait_for(lk, std::chrono::seconds(10), [&] { return acks_ >= expected; }))
        RAYMPI_LOG_WARN("shutdown: waiting for {} rank(s) to finish their running tasks", expected - acks_);
  }
  stop_local();
  refs_.disable();
  if (data_) data_->stop();
  transport_->stop(!m.failed_ranks.empty());
}

int Runtime::serve() {
  {
    std::unique_lock lk(life_mu_);
    life_cv_.wait(lk, [&] { return shutdown_requested_; });
  }
  stop_local();
  refs_.disable();
  if (data_) data_->stop();
  transport_->send(roles_.first_node, encode_msg(MsgType::shutdown_ack, ShutdownMsg{}));
  transport_->stop(lost_peers());
  return exit_code_;
}

}  // namespace raympi::detail
