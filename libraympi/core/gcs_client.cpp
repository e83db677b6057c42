#include "core/gcs_client.hpp"

#include "core/context.hpp"
#include "core/gcs_server.hpp"
#include "raympi/detail/registry.hpp"
#include "raympi/errors.hpp"

namespace raympi::detail {

GcsClient::GcsClient(Context& cx) : cx_(cx) {}

void GcsClient::record_task(const TaskRecord& t, std::uint64_t fn_id) {
  const bool failed = t.error != 0;
  if (failed) failed_.fetch_add(1, std::memory_order_relaxed);
  finished_.fetch_add(1, std::memory_order_relaxed);
  const double took = t.finished > t.started ? t.finished - t.started : 0.0;
  FunctionStats one;
  one.count = 1;
  one.failed = failed ? 1 : 0;
  one.retries = t.attempts > 1 ? std::uint64_t(t.attempts - 1) : 0;
  one.total_s = one.max_s = took;
  std::lock_guard lk(events_mu_);
  if (fn_id != 0) {
    by_function_[fn_id].add(one);
  } else {
    auto it = events_.functions.find(std::string_view(t.name_view()));
    if (it == events_.functions.end()) it = events_.functions.emplace(std::string(t.name_view()), FunctionStats{}).first;
    it->second.add(one);
  }
  ++events_.node_stats.tasks;
  events_.node_stats.busy_s += took;
}

void GcsClient::bytes_in(std::uint64_t n) {
  std::lock_guard lk(events_mu_);
  events_.node_stats.bytes_in += n;
}
void GcsClient::bytes_out(std::uint64_t n) {
  std::lock_guard lk(events_mu_);
  events_.node_stats.bytes_out += n;
}
void GcsClient::spilled(std::uint64_t n) {
  std::lock_guard lk(events_mu_);
  events_.node_stats.spilled_bytes += n;
  ++events_.node_stats.spills;
}

void GcsClient::record_actor(ActorEvent ev) {
  std::lock_guard lk(events_mu_);
  events_.actors.push_back(std::move(ev));
}

bool GcsClient::pending() {
  if (finished_.load(std::memory_order_relaxed) || created_.load(std::memory_order_relaxed) ||
      freed_.load(std::memory_order_relaxed))
    return true;
  std::lock_guard lk(events_mu_);
  return !events_.empty();
}

void GcsClient::flush() {
  GcsEventsMsg batch;
  batch.node = cx_.rank;
  {
    std::lock_guard lk(events_mu_);
    std::swap(batch.actors, events_.actors);
    std::swap(batch.functions, events_.functions);
    for (auto& [id, stats] : by_function_) {
      const FunctionInfo* f = find_function(id);
      batch.functions[f ? f->name : "function " + std::to_string(id)].add(stats);
    }
    by_function_.clear();
    std::swap(batch.node_stats, events_.node_stats);
  }
  batch.tasks_failed = failed_.exchange(0, std::memory_order_relaxed);  // before finished: failed <= finished
  batch.tasks_finished = finished_.exchange(0, std::memory_order_relaxed);
  // Frees first: an object created and freed between the two reads is then
  // counted as created in this batch, never as freed before it was created.
  batch.objects_freed = freed_.exchange(0, std::memory_order_relaxed);
  batch.objects_created = created_.exchange(0, std::memory_order_relaxed);
  if (batch.empty()) return;
  if (cx_.gcs_server) cx_.gcs_server->on_events(batch);
  else cx_.send(cx_.roles.gcs, encode_msg(MsgType::gcs_events, batch));
}

GcsReplyMsg GcsClient::query(GcsQueryMsg q) {
  flush();
  if (cx_.gcs_server) return cx_.gcs_server->answer(q);
  std::future<GcsReplyMsg> f;
  {
    std::lock_guard lk(query_mu_);
    q.request = next_query_++;
    f = queries_[q.request].get_future();
  }
  cx_.send(cx_.roles.gcs, encode_msg(MsgType::gcs_query, q));
  if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
    throw Error("raympi: the GCS (rank " + std::to_string(cx_.roles.gcs) + ") did not answer within 30 s");
  return f.get();
}

void GcsClient::on_reply(const Buffer& msg) {
  auto m = decode_msg<GcsReplyMsg>(msg);
  std::lock_guard lk(query_mu_);
  auto it = queries_.find(m.request);
  if (it != queries_.end()) {
    it->second.set_value(std::move(m));
    queries_.erase(it);
  }
}

}  // namespace raympi::detail
