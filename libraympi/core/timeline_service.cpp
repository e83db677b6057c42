#include "core/timeline_service.hpp"

#include <cstdio>
#include <cstring>

#include "base/log.hpp"
#include "core/gcs_client.hpp"
#include "raympi/errors.hpp"
#include "scheduler/task.hpp"
#include "timeline/event_spool.hpp"
#include "timeline/thread_row.hpp"

namespace raympi::detail {

namespace {
constexpr auto kGatherTimeout = std::chrono::seconds(120);

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string duration_text(double s) {
  if (s >= 1) return fixed(s, 3) + " s";
  if (s >= 1e-3) return fixed(s * 1e3, 3) + " ms";
  return fixed(s * 1e6, 1) + " us";
}

std::string pad(std::string s, std::size_t width, bool right = false) {
  if (s.size() >= width) return s + " ";
  return right ? std::string(width - s.size(), ' ') + s + " " : s + std::string(width - s.size(), ' ') + " ";
}
}  // namespace

TimelineService::TimelineService(Context& cx, const std::string& job_folder, double clock_error_us)
    : cx_(cx), clock_error_us_(clock_error_us) {
  if (cx_.is_node())
    log_ = std::make_unique<EventLog>(cx_.rank, cx_.cfg.event_buffer,
                                      job_folder + "/events-rank" + std::to_string(cx_.rank) + ".h5");
}

TimelineService::~TimelineService() = default;

void TimelineService::task_finished(const Task& t, ErrorKind err, double started, std::uint64_t result_bytes) {
  TaskRecord r;
  r.id = t.id.value;
  r.actor = t.kind == TaskKind::actor_create ? t.id.value : t.actor.value;
  r.node = cx_.rank;
  ThreadRow row = this_thread_row();
  r.row = row.row;
  r.pu = row.pu;
  r.kind = int(t.kind);
  r.error = int(err);
  r.attempts = t.attempts;
  r.submitted = t.submitted_at;
  r.started = started;
  r.finished = cx_.now_seconds();
  r.arg_bytes = t.args.size;
  for (const auto& d : t.resolved)
    if (d) r.arg_bytes += d->bytes.size;
  r.result_bytes = result_bytes;
  if (t.kind == TaskKind::actor_create && t.fn) r.set_name(t.fn->actor_display);
  else if (!t.name.empty()) r.set_name(t.name);
  else r.set_name(t.fn ? std::string_view(t.fn->name) : std::string_view("?"));
  // Aggregated by function id unless the task has its own name (the summary's rows).
  cx_.gcs->record_task(r, t.name.empty() && t.fn && t.kind != TaskKind::actor_create ? t.fn->id : 0);
  if (log_) log_->record(r, t.deps);
}

void TimelineService::pulled(ObjectId id, int from, std::uint64_t bytes, Clock::time_point began) {
  cx_.gcs->bytes_in(bytes);
  if (!log_) return;
  TransferRecord x;
  x.object = id.value;
  x.bytes = bytes;
  x.from = from;
  x.to = cx_.rank;
  x.kind = int(TransferKind::pull);
  x.started = cx_.seconds_at(began);
  x.finished = cx_.now_seconds();
  log_->record(x);
}

void TimelineService::served(std::uint64_t bytes) { cx_.gcs->bytes_out(bytes); }

void TimelineService::stored(TransferKind kind, ObjectId id, std::uint64_t bytes, Clock::time_point began,
                             Clock::time_point ended) {
  if (kind == TransferKind::spill) cx_.gcs->spilled(bytes);
  if (!log_) return;
  TransferRecord x;
  x.object = id.value;
  x.bytes = bytes;
  x.from = x.to = cx_.rank;
  x.kind = int(kind);
  x.started = cx_.seconds_at(began);
  x.finished = cx_.seconds_at(ended);
  log_->record(x);
}

void TimelineService::on_request(int src, const Buffer& msg) {
  auto m = decode_msg<TimelineRequestMsg>(msg);
  if (!log_) return;
  // Reading the spool back may take a while: on the log's thread, not this one.
  log_->post([this, src, m]() mutable {
    EventBatch b = log_->collect();
    m.node = cx_.rank;
    m.tasks = b.tasks.size();
    m.edges = b.edges.size();
    m.transfers = b.transfers.size();
    Buffer bytes = encode_records(b);
    cx_.send(src, encode_msg(MsgType::timeline_reply, m, &bytes));
  });
}

void TimelineService::on_reply(int src, const Buffer& msg) {
  Buffer bytes;
  auto m = decode_msg<TimelineRequestMsg>(msg, &bytes);
  EventBatch b = decode_records(bytes, m.tasks, m.edges, m.transfers);
  std::lock_guard lk(mu_);
  auto it = replies_.find(m.request);
  if (it == replies_.end()) return;  // a gather that gave up
  it->second[m.node] = std::move(b);
  cv_.notify_all();
}

EventBatch TimelineService::gather() {
  std::uint64_t request;
  std::vector<int> others;
  {
    std::lock_guard lk(mu_);
    request = next_request_++;
    replies_[request];
  }
  for (auto& n : cx_.nodes)
    if (n.rank != cx_.rank) others.push_back(n.rank);
  for (int r : others) cx_.send(r, encode_msg(MsgType::timeline_request, TimelineRequestMsg{request, -1, 0, 0, 0}));
  EventBatch all;
  if (log_) all = log_->collect();
  std::unique_lock lk(mu_);
  bool complete = cv_.wait_for(lk, kGatherTimeout, [&] { return replies_[request].size() == others.size(); });
  auto got = std::move(replies_[request]);
  replies_.erase(request);
  lk.unlock();
  if (!complete) {
    std::string missing;
    for (int r : others)
      if (!got.count(r)) missing += " " + std::to_string(r);
    throw Error("raympi::timeline: node rank(s)" + missing + " did not send their records within 120 s");
  }
  for (auto& [rank, b] : got) all.append(std::move(b));
  return all;
}

TraceCounts TimelineService::write_trace(const std::string& path) {
  EventBatch all = gather();
  TraceInfo info;
  info.clock_error_us = clock_error_us_;
  info.ranks = cx_.roles.size;
  for (auto& n : cx_.nodes) info.hosts[n.rank] = n.host;
  return write_chrome_trace(path, all, info);
}

std::string TimelineService::summary() {
  GcsReplyMsg r = cx_.gcs->query(GcsQueryKind::summary);
  const double elapsed = cx_.now_seconds();
  std::uint64_t tasks = 0, failed = 0;
  for (auto& [name, f] : r.functions) {
    tasks += f.count;
    failed += f.failed;
  }
  std::string out = "raympi summary after " + fixed(elapsed, 2) + " s: " + std::to_string(tasks) +
                    " tasks and actor calls, " + std::to_string(failed) + " failed\n";
  out += "  " + pad("function", 28) + pad("count", 10, true) + pad("mean", 12, true) + pad("max", 12, true) +
         pad("total", 12, true) + pad("failed", 8, true) + pad("retries", 8, true) + "\n";
  for (auto& [name, f] : r.functions)
    out += "  " + pad(name, 28) + pad(std::to_string(f.count), 10, true) +
           pad(duration_text(f.count ? f.total_s / double(f.count) : 0), 12, true) + pad(duration_text(f.max_s), 12, true) +
           pad(duration_text(f.total_s), 12, true) + pad(std::to_string(f.failed), 8, true) +
           pad(std::to_string(f.retries), 8, true) + "\n";
  out += "  " + pad("node", 24) + pad("tasks", 10, true) + pad("busy", 8, true) + pad("bytes in", 12, true) +
         pad("bytes out", 12, true) + pad("spilled", 12, true) + "\n";
  for (auto& n : cx_.nodes) {
    NodeStats s;
    if (auto it = r.node_stats.find(n.rank); it != r.node_stats.end()) s = it->second;
    double cpus = n.total.as_map().count("CPU") ? n.total.as_map().at("CPU") : 1.0;
    double busy = elapsed > 0 && cpus > 0 ? 100.0 * s.busy_s / (elapsed * cpus) : 0;
    out += "  " + pad("rank " + std::to_string(n.rank) + " (" + n.host + ")", 24) + pad(std::to_string(s.tasks), 10, true) +
           pad(fixed(busy, 1) + "%", 8, true) + pad(bytes_text(s.bytes_in), 12, true) +
           pad(bytes_text(s.bytes_out), 12, true) +
           pad(bytes_text(s.spilled_bytes) + (s.spills ? " (" + std::to_string(s.spills) + ")" : ""), 12, true) + "\n";
  }
  out += "  objects: " + std::to_string(r.counters["objects_seen"]) + " created, " +
         std::to_string(r.counters["objects_freed"]) + " freed, " + std::to_string(r.counters["objects_live"]) +
         " live\n";
  return out;
}

void TimelineService::write_event_log(MPI_Comm comm) {
  // The driver's setting decides for every rank (one collective or none).
  std::string path = cx_.is_driver() ? cx_.cfg.event_log : std::string();
  int len = int(path.size());
  MPI_Bcast(&len, 1, MPI_INT, cx_.roles.first_node, comm);
  if (len == 0) return;
  path.resize(std::size_t(len));
  MPI_Bcast(path.data(), len, MPI_CHAR, cx_.roles.first_node, comm);
  EventBatch mine;
  if (log_) mine = log_->collect();
  try {
    bool merged = write_merged_log(comm, path, mine);
    if (cx_.is_driver())
      RAYMPI_LOG_INFO("event log written to {}", merged ? path : rank_log_path(path, cx_.rank) + " (one file per rank)");
  } catch (const std::exception& e) {
    RAYMPI_LOG_ERROR("rank {}: writing the event log {} failed: {}", cx_.rank, path, e.what());
  }
}

}  // namespace raympi::detail
