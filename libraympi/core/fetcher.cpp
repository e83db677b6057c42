#include "core/fetcher.hpp"

#include "base/log.hpp"
#include "raympi/errors.hpp"
#include "core/context.hpp"
#include "core/object_table.hpp"
#include "core/owner_table.hpp"
#include "core/timeline_service.hpp"
#include "store/object_store.hpp"
#include "transport/ucx_plane.hpp"

namespace raympi::detail {

namespace {
constexpr int kPullAttempts = 3;
}

void Fetcher::fetch(ObjectId id, Callback cb) {
  if (auto o = cx_.store->get(id)) {
    cb(o);
    return;
  }
  bool first;
  {
    std::lock_guard lk(mu_);
    auto& f = fetching_[id];
    first = f.callbacks.empty();
    f.callbacks.push_back(std::move(cb));
  }
  if (auto o = cx_.store->get(id)) {  // it arrived while we registered
    complete(id, o);
    return;
  }
  if (first) locate(id);
}

void Fetcher::complete(ObjectId id, const StoredPtr& o) {
  std::vector<Callback> cbs;
  {
    std::lock_guard lk(mu_);
    auto it = fetching_.find(id);
    if (it == fetching_.end()) return;
    cbs.swap(it->second.callbacks);
    fetching_.erase(it);
  }
  for (auto& cb : cbs) cb(o);
}

void Fetcher::fail(ObjectId id, std::string message, ErrorKind kind) {
  complete(id, cx_.store->put(make_error_object(id, kind, std::move(message))));
}

std::size_t Fetcher::count() {
  std::lock_guard lk(mu_);
  return fetching_.size();
}

void Fetcher::locate(ObjectId id) {
  int owner = id.owner();
  if (owner != cx_.rank) {
    cx_.send(owner, encode_msg(MsgType::locate, IdMsg{id}));
    return;
  }
  RefPtr p = cx_.objects->find(id);
  if (!p) {
    cx_.owners->answer_locate(nullptr, id, cx_.rank);
    return;
  }
  ObjectRecord& r = ObjectTable::record(p);
  cx_.owners->when_resolved(r, [this, p, id] { cx_.owners->answer_locate(&ObjectTable::record(p), id, cx_.rank); });
}

void Fetcher::on_location(const LocationMsg& m, const Buffer& bytes) {
  if (m.state != LocState::ready) {
    fail(m.id, m.message, m.state == LocState::lost ? ErrorKind::object_lost : m.error);
    return;
  }
  if (auto o = cx_.store->get(m.id)) {
    complete(m.id, o);
    return;
  }
  if (m.inlined) {
    pulled(m.id, m.id.owner(), bytes.size);  // small objects come with the owner's answer (a span of ~0)
    store_copy(m.id, bytes);
    return;
  }
  for (int l : m.locations) {
    if (l == cx_.rank) continue;
    {
      std::lock_guard lk(mu_);
      auto it = fetching_.find(m.id);
      if (it != fetching_.end()) {
        it->second.pulling_from = l;
        it->second.pull_began = Clock::now();
      }
    }
    // The data plane watches the holder from now on: if it dies before or
    // while it answers, fail_pulls_from() fails this fetch instead of leaving it waiting.
    if (cx_.data) cx_.data->watch(l);
    cx_.send(l, encode_msg(MsgType::pull, IdMsg{m.id}));
    return;
  }
  fail(m.id, "raympi::ObjectLostError: no live copy of object " + std::to_string(m.id.value));
}

void Fetcher::fail_fetches_involving(int rank) {
  std::vector<std::pair<ObjectId, bool>> ids;  // id, pulling (else: locating at its owner)
  {
    std::lock_guard lk(mu_);
    for (auto& [id, f] : fetching_)
      if (f.pulling_from == rank || (f.pulling_from < 0 && int(id.owner()) == rank))
        ids.emplace_back(id, f.pulling_from == rank);
  }
  for (auto [id, pulling] : ids)
    fail(id, "raympi::ObjectLostError: object " + std::to_string(id.value) +
                 (pulling ? " was being fetched from rank " + std::to_string(rank) + ", which failed"
                          : " is owned by rank " + std::to_string(rank) + ", which failed (its owner's objects go with it)"));
}

bool Fetcher::awaited(ObjectId id) {
  std::lock_guard lk(mu_);
  return fetching_.count(id) != 0;
}

void Fetcher::produced_here(const StoredPtr& o, bool in_store) {
  if (!awaited(o->id)) return;  // a fetch that starts later finds it through the owner or the store
  if (in_store) complete(o->id, o);
  else store_copy(o->id, o->bytes);
}

void Fetcher::store_copy(ObjectId id, const Buffer& bytes) {
  auto o = std::make_shared<StoredObject>();
  o->id = id;
  o->bytes = bytes;
  StoredPtr held = cx_.store->put(o);
  if (id.owner() != cx_.rank) cx_.send(id.owner(), encode_msg(MsgType::add_location, IdMsg{id}));
  complete(id, held);
}

void Fetcher::on_pull(int src, const Buffer& msg) {
  ObjectId id = decode_msg<IdMsg>(msg).id;
  StoredPtr o = cx_.store->get(id);
  DataMsg d;
  d.id = id;
  d.found = o && o->error == ErrorKind::none;
  if (d.found && cx_.data && o->bytes.size > kInlineObjectBytes) {
    // Large: the control message says so, the bytes go over UCX (the Buffer
    // keeps them alive until the send completes, even if the store drops them).
    d.size = o->bytes.size;
    d.ucx_tag = cx_.data->next_tag();
    cx_.timeline->served(d.size);
    cx_.send(src, encode_msg(MsgType::data, d));
    cx_.data->send(src, d.ucx_tag, o->bytes, [this, id, src](const std::string& error) {
      if (!error.empty())
        RAYMPI_LOG_WARN("rank {}: sending object {} to rank {}: {}", cx_.rank, id.value, src, error);
    });
    return;
  }
  if (d.found) cx_.timeline->served(o->bytes.size);
  cx_.send(src, encode_msg(MsgType::data, d, d.found ? &o->bytes : nullptr));
}

void Fetcher::pulled(ObjectId id, int src, std::uint64_t bytes) {
  Clock::time_point began = Clock::now();
  {
    std::lock_guard lk(mu_);
    auto it = fetching_.find(id);
    if (it != fetching_.end() && it->second.pull_began != Clock::time_point{}) began = it->second.pull_began;
  }
  cx_.timeline->pulled(id, src, bytes, began);
}

void Fetcher::on_data(int src, const Buffer& msg) {
  Buffer bytes;
  auto d = decode_msg<DataMsg>(msg, &bytes);
  if (d.found && d.ucx_tag != 0) {
    if (!cx_.data)
      throw Error("raympi: rank " + std::to_string(src) + " sent object " + std::to_string(d.id.value) +
                  " over UCX, but this rank has no UCX data plane");
    cx_.data->recv(src, d.ucx_tag, d.size, [this, id = d.id, src](Buffer b, const std::string& error) {
      if (error.empty()) {
        pulled(id, src, b.size);
        store_copy(id, b);
      }
      else
        fail(id, "raympi::ObjectLostError: object " + std::to_string(id.value) +
                     " could not be transferred from rank " + std::to_string(src) + ": " + error);
    });
    return;
  }
  if (d.found) {
    pulled(d.id, src, bytes.size);
    store_copy(d.id, bytes);
    return;
  }
  int attempts = kPullAttempts;
  {
    std::lock_guard lk(mu_);
    auto it = fetching_.find(d.id);
    if (it != fetching_.end()) attempts = ++it->second.attempts;
  }
  if (attempts < kPullAttempts) {
    locate(d.id);  // the holder dropped it meanwhile: ask the owner again
    return;
  }
  fail(d.id, "raympi::ObjectLostError: object " + std::to_string(d.id.value) + " could not be fetched from rank " +
                 std::to_string(src));
}

}  // namespace raympi::detail
