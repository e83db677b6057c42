// Bringing objects to this node (locate at the owner, pull from a holder),
// and the blocking get / wait / put built on it.
#include "base/log.hpp"
#include "core/runtime.hpp"
#include "raympi/errors.hpp"

namespace raympi::detail {

const Task* current_task();

namespace {
constexpr int kPullAttempts = 3;
}

void Runtime::fetch(ObjectId id, FetchCallback cb) {
  if (auto o = store_.get(id)) {
    cb(o);
    return;
  }
  bool first;
  {
    std::lock_guard lk(fetch_mu_);
    auto& v = fetching_[id];
    first = v.empty();
    v.push_back(std::move(cb));
  }
  if (auto o = store_.get(id)) {  // it arrived while we registered
    complete_fetch(id, o);
    return;
  }
  if (first) locate(id);
}

void Runtime::complete_fetch(ObjectId id, const StoredPtr& o) {
  std::vector<FetchCallback> cbs;
  {
    std::lock_guard lk(fetch_mu_);
    auto it = fetching_.find(id);
    if (it == fetching_.end()) return;
    cbs.swap(it->second);
    fetching_.erase(it);
    fetch_attempts_.erase(id);
    pulling_from_.erase(id);
  }
  for (auto& cb : cbs) cb(o);
}

void Runtime::locate(ObjectId id) {
  int owner = id.owner();
  if (owner == rank_) own_when_resolved(id, [this, id] { answer_locate(id, rank_); });
  else transport_->send(owner, encode_msg(MsgType::locate, IdMsg{id}));
}

void Runtime::on_location(const LocationMsg& m, const Buffer& bytes) {
  if (m.state != LocState::ready) {
    ErrorKind kind = m.state == LocState::lost ? ErrorKind::object_lost : m.error;
    complete_fetch(m.id, store_.put(make_error_object(m.id, kind, m.message)));
    return;
  }
  if (auto o = store_.get(m.id)) {
    complete_fetch(m.id, o);
    return;
  }
  if (m.inlined) {
    store_copy(m.id, bytes);
    return;
  }
  for (int l : m.locations) {
    if (l == rank_) continue;
    {
      std::lock_guard lk(fetch_mu_);
      pulling_from_[m.id] = l;
    }
    // The data plane watches the holder from now on: if it dies before or
    // while it answers, lost_peer() fails this fetch instead of leaving it waiting.
    if (data_) data_->watch(l);
    transport_->send(l, encode_msg(MsgType::pull, IdMsg{m.id}));
    return;
  }
  complete_fetch(m.id, store_.put(make_error_object(m.id, ErrorKind::object_lost,
                                                    "raympi::ObjectLostError: no live copy of object " +
                                                        std::to_string(m.id.value))));
}

void Runtime::fail_pulls_from(int rank) {
  std::vector<ObjectId> ids;
  {
    std::lock_guard lk(fetch_mu_);
    for (auto& [id, from] : pulling_from_)
      if (from == rank) ids.push_back(id);
  }
  for (ObjectId id : ids)
    complete_fetch(id, store_.put(make_error_object(id, ErrorKind::object_lost,
                                                    "raympi::ObjectLostError: object " + std::to_string(id.value) +
                                                        " was being fetched from rank " + std::to_string(rank) +
                                                        ", which failed")));
}

void Runtime::store_copy(ObjectId id, const Buffer& bytes) {
  auto o = std::make_shared<StoredObject>();
  o->id = id;
  o->bytes = bytes;
  StoredPtr held = store_.put(o);
  if (id.owner() != rank_) transport_->send(id.owner(), encode_msg(MsgType::add_location, IdMsg{id}));
  complete_fetch(id, held);
}

void Runtime::handle_pull(int src, const Buffer& msg) {
  ObjectId id = decode_msg<IdMsg>(msg).id;
  StoredPtr o = store_.get(id);
  DataMsg d;
  d.id = id;
  d.found = o && o->error == ErrorKind::none;
  if (d.found && data_ && o->bytes.size > kInlineObjectBytes) {
    // Large: the control message says so, the bytes go over UCX (the Buffer
    // keeps them alive until the send completes, even if the store drops them).
    d.size = o->bytes.size;
    d.ucx_tag = data_->next_tag();
    transport_->send(src, encode_msg(MsgType::data, d));
    data_->send(src, d.ucx_tag, o->bytes, [this, id, src](const std::string& error) {
      if (!error.empty()) RAYMPI_LOG_WARN("rank {}: sending object {} to rank {}: {}", rank_, id.value, src, error);
    });
    return;
  }
  transport_->send(src, encode_msg(MsgType::data, d, d.found ? &o->bytes : nullptr));
}

void Runtime::handle_data(int src, const Buffer& msg) {
  Buffer bytes;
  auto d = decode_msg<DataMsg>(msg, &bytes);
  if (d.found && d.ucx_tag != 0) {
    data_->recv(src, d.ucx_tag, d.size, [this, id = d.id, src](Buffer b, const std::string& error) {
      if (error.empty()) {
        store_copy(id, b);
        return;
      }
      complete_fetch(id, store_.put(make_error_object(
                             id, ErrorKind::object_lost,
                             "raympi::ObjectLostError: object " + std::to_string(id.value) +
                                 " could not be transferred from rank " + std::to_string(src) + ": " + error)));
    });
    return;
  }
  if (d.found) {
    store_copy(d.id, bytes);
    return;
  }
  int attempts;
  {
    std::lock_guard lk(fetch_mu_);
    attempts = ++fetch_attempts_[d.id];
  }
  if (attempts < kPullAttempts) {
    locate(d.id);  // the holder dropped it meanwhile: ask the owner again
    return;
  }
  complete_fetch(d.id, store_.put(make_error_object(d.id, ErrorKind::object_lost,
                                                    "raympi::ObjectLostError: object " + std::to_string(d.id.value) +
                                                        " could not be fetched from rank " + std::to_string(src))));
}

std::vector<StoredPtr> Runtime::block_on(const std::vector<ObjectId>& ids, std::size_t need,
                                         std::chrono::nanoseconds timeout, bool& timed_out) {
  if (const Task* cur = current_task(); cur && cur->kind == TaskKind::actor_call) refuse_self_wait(*cur, ids);
  auto w = std::make_shared<Waiter>();
  w->need = need;
  w->results.resize(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    fetch(ids[i], [w, i](const StoredPtr& o) {
      std::size_t n;
      {
        std::lock_guard lk(w->mu);
        if (w->results[i]) return;
        w->results[i] = o;
        n = w->arrived.fetch_add(1) + 1;
      }
      if (n == w->need) w->cv.notify_all();
    });
  }
  auto start = Clock::now();
  auto done = [&] { return w->arrived.load(std::memory_order_acquire) >= need; };
  if (!done()) {
    auto spin_until = start + std::chrono::microseconds(cfg_.spin_us);
    while (!done() && Clock::now() < spin_until) sched_yield();
  }
  if (!done()) {
    {
      std::lock_guard lk(waiters_mu_);
      waiters_.insert(w);
    }
    const Task* cur = current_task();
    if (cur && scheduler_) scheduler_->block(cur->demand);  // lend our CPU to our children
    {
      std::unique_lock lk(w->mu);
      auto pred = [&] { return w->arrived.load() >= need || w->cancelled || stopping(); };
      if (timeout.count() < 0) w->cv.wait(lk, pred);
      else w->cv.wait_until(lk, start + timeout, pred);
    }
    if (cur && scheduler_) scheduler_->unblock(cur->demand);
    {
      std::lock_guard lk(waiters_mu_);
      waiters_.erase(w);
    }
    if (!done() && (w->cancelled || stopping())) throw Error("raympi: the job is shutting down");
  }
  std::lock_guard lk(w->mu);
  timed_out = w->arrived.load() < need;
  return w->results;
}

std::vector<StoredPtr> Runtime::get(const std::vector<ObjectId>& ids, std::chrono::nanoseconds timeout) {
  // Waiting for one result whose task still sits in this node's queue: run it
  // on this thread (it holds its resources as on a worker). The caller would
  // only wait for a worker to pick it up; nothing else is delayed. Not with a
  // timeout: a task cannot be interrupted.
  if (ids.size() == 1 && timeout.count() < 0 && scheduler_ && ids[0].owner() == rank_ && !store_.get(ids[0]))
    if (TaskPtr t = scheduler_->take_queued(ids[0])) {
      ResourceDemand held = t->demand;  // what take_queued took (an actor creation changes t->demand)
      execute(t);
      scheduler_->finished_inline(held);
    }
  bool timed_out = false;
  auto out = block_on(ids, ids.size(), timeout, timed_out);
  if (timed_out) {
    std::size_t missing = 0;
    for (auto& o : out) missing += !o;
    throw GetTimeoutError("raympi::get: " + std::to_string(missing) + " of " + std::to_string(ids.size()) +
                          " object(s) not ready after " +
                          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()) +
                          " ms");
  }
  return out;
}

std::vector<char> Runtime::wait(const std::vector<ObjectId>& ids, std::size_t num_returns,
                                std::chrono::nanoseconds timeout) {
  bool timed_out = false;
  auto out = block_on(ids, num_returns, timeout, timed_out);
  std::vector<char> ready(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ready[i] = out[i] != nullptr;
  return ready;
}

RefPtr Runtime::put(Buffer bytes, std::shared_ptr<const void> value, const std::type_info* type,
                    std::vector<RefPtr> contained) {
  if (stopping()) throw Error("raympi: the job is shutting down");
  ObjectId id = next_id();
  RefPtr ref = refs_.create_owned(id);
  auto o = std::make_shared<StoredObject>();
  o->id = id;
  o->bytes = std::move(bytes);
  o->value = std::move(value);
  o->type = type;
  std::uint64_t size = o->bytes.size;
  store_.put(std::move(o));
  own_pending(id);
  own_ready(id, rank_, size, std::move(contained));
  return ref;
}

}  // namespace raympi::detail
