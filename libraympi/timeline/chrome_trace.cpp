#include "timeline/chrome_trace.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <unordered_map>
#include <vector>

#include "raympi/detail/object_store_view.hpp"
#include "raympi/errors.hpp"

namespace raympi::detail {

namespace {

using json = nlohmann::json;

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// The counter part of an id, as users see actors numbered.
std::uint64_t short_id(std::uint64_t id) { return id & ((1ull << 43) - 1); }

double us(double seconds) { return seconds * 1e6; }

// Streams events as one JSON array, each event serialised by nlohmann.
class EventWriter {
 public:
  explicit EventWriter(std::ostream& os) : os_(os) {}
  void add(const json& ev) {
    // Names may hold invalid UTF-8 (a name cut at TaskRecord::kNameBytes inside a
    // character, or a corrupt record): replaced by U+FFFD instead of throwing.
    os_ << (first_ ? "\n" : ",\n") << ev.dump(-1, ' ', false, json::error_handler_t::replace);
    first_ = false;
  }

 private:
  std::ostream& os_;
  bool first_ = true;
};

struct Row {
  int pid, tid;
  friend bool operator<(const Row& a, const Row& b) { return a.pid != b.pid ? a.pid < b.pid : a.tid < b.tid; }
};

const char* kind_cat(std::int32_t kind) {
  switch (kind) {
    case 1: return "actor_create";
    case 2: return "actor_call";
    default: return "task";
  }
}

}  // namespace

std::string bytes_text(std::uint64_t b) {
  char buf[32];
  if (b >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.1f GiB", double(b) / double(1ull << 30));
  else if (b >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", double(b) / double(1ull << 20));
  else if (b >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024.0);
  else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  return buf;
}

const char* error_kind_name(std::int32_t kind) {
  switch (ErrorKind(kind)) {
    case ErrorKind::none: return "none";
    case ErrorKind::task: return "task";
    case ErrorKind::infeasible: return "infeasible";
    case ErrorKind::object_lost: return "object_lost";
    case ErrorKind::actor_died: return "actor_died";
    case ErrorKind::serialization: return "serialization";
    case ErrorKind::shutdown: return "shutdown";
    case ErrorKind::node_died: return "node died";
    case ErrorKind::cancelled: return "cancelled";
  }
  return "unknown";
}

TraceCounts write_chrome_trace(const std::string& path, const EventBatch& events, const TraceInfo& info) {
  std::ofstream os(path, std::ios::trunc);
  if (!os) throw Error("raympi::timeline: cannot write the trace to '" + path + "': check that its folder exists and is writable");
  TraceCounts counts;

  // Actor rows: per node, in order of first appearance; named Class#n after the creation record.
  std::map<std::pair<int, std::uint64_t>, int> actor_tid;
  std::map<Row, std::string> actor_row_name;
  std::map<std::uint64_t, std::string> actor_class;
  for (const TaskRecord& t : events.tasks)
    if (t.kind == 1) actor_class[t.actor] = std::string(t.name_view());
  std::map<int, int> next_actor;
  auto row_of = [&](const TaskRecord& t) -> Row {
    if (t.actor == 0 || t.kind == 0) return {t.node, t.row};
    auto key = std::make_pair(t.node, t.actor);
    auto it = actor_tid.find(key);
    if (it != actor_tid.end()) return {t.node, it->second};
    int tid = kFirstActorTid + next_actor[t.node]++;
    actor_tid.emplace(key, tid);
    auto cls = actor_class.find(t.actor);
    std::string name = cls != actor_class.end() ? cls->second : std::string("actor");
    actor_row_name[{t.node, tid}] = name + "#" + std::to_string(short_id(t.actor));
    return {t.node, tid};
  };

  // Indexes: producers by id, pulls by (node, object), dependencies by consumer.
  std::unordered_map<std::uint64_t, std::size_t> by_id;
  by_id.reserve(events.tasks.size());
  for (std::size_t i = 0; i < events.tasks.size(); ++i) by_id[events.tasks[i].id] = i;
  std::map<std::pair<int, std::uint64_t>, const TransferRecord*> pulls;
  for (const TransferRecord& x : events.transfers)
    if (x.kind == int(TransferKind::pull)) pulls[{x.to, x.object}] = &x;
  std::unordered_map<std::uint64_t, std::vector<std::uint64_t>> deps_of;
  for (const EdgeRecord& e : events.edges) deps_of[e.consumer].push_back(e.producer);

  // Rows used, with their names.
  std::map<Row, std::string> rows;
  std::map<Row, int> row_pu;
  for (const TaskRecord& t : events.tasks) {
    Row r = row_of(t);
    if (rows.count(r)) continue;
    if (r.tid >= kFirstActorTid) rows[r] = actor_row_name[r];
    else if (r.tid == TaskRecord::kDriverRow) rows[r] = "driver thread (tasks run by a get)";
    else if (t.row >= 0) rows[r] = "worker " + std::to_string(t.row) + (t.pu >= 0 ? " (PU " + std::to_string(t.pu) + ")" : "");
    else rows[r] = "thread " + std::to_string(t.row);
  }
  for (const TransferRecord& x : events.transfers) rows[{x.to, kTransportTid}] = "transport (pulls, spills)";

  json other = {{"job", "raympi"}, {"ranks", info.ranks}, {"clock_error_us", info.clock_error_us},
                {"tasks", events.tasks.size()}, {"transfers", events.transfers.size()}};
  os << "{\"displayTimeUnit\":\"ms\",\"otherData\":" << other.dump() << ",\"traceEvents\":[";
  EventWriter out(os);

  std::set<int> pids;
  for (auto& [r, name] : rows) pids.insert(r.pid);
  for (int pid : pids) {
    auto h = info.hosts.find(pid);
    std::string pname = "node " + std::to_string(pid) + (h != info.hosts.end() ? " (" + h->second + ")" : "");
    out.add({{"ph", "M"}, {"name", "process_name"}, {"pid", pid}, {"args", {{"name", pname}}}});
    out.add({{"ph", "M"}, {"name", "process_sort_index"}, {"pid", pid}, {"args", {{"sort_index", pid}}}});
  }
  for (auto& [r, name] : rows) {
    out.add({{"ph", "M"}, {"name", "thread_name"}, {"pid", r.pid}, {"tid", r.tid}, {"args", {{"name", name}}}});
    out.add({{"ph", "M"}, {"name", "thread_sort_index"}, {"pid", r.pid}, {"tid", r.tid}, {"args", {{"sort_index", r.tid}}}});
  }

  for (const TaskRecord& t : events.tasks) {
    Row r = row_of(t);
    json args = {{"task_id", hex(t.id)},
                 {"submitted_us", us(t.submitted)},
                 {"queue_wait_us", std::max(0.0, us(t.started - t.submitted))},
                 {"arg_bytes", t.arg_bytes},
                 {"result_bytes", t.result_bytes},
                 {"attempts", t.attempts}};
    if (t.actor) args["actor"] = hex(t.actor);
    if (t.error) args["error"] = error_kind_name(t.error);
    if (auto d = deps_of.find(t.id); d != deps_of.end()) {
      json fetched = json::array();
      for (std::uint64_t dep : d->second)
        if (auto p = pulls.find({t.node, dep}); p != pulls.end())
          fetched.push_back({{"object", hex(dep)}, {"from", p->second->from}, {"bytes", p->second->bytes}});
      if (!fetched.empty()) args["fetched"] = std::move(fetched);
    }
    out.add({{"ph", "X"}, {"cat", kind_cat(t.kind)}, {"name", std::string(t.name_view())}, {"pid", r.pid},
             {"tid", r.tid}, {"ts", us(t.started)}, {"dur", std::max(0.0, us(t.finished - t.started))},
             {"args", std::move(args)}});
    ++counts.spans;
  }

  for (const TransferRecord& x : events.transfers) {
    const char* kind = x.kind == int(TransferKind::spill) ? "spill" : x.kind == int(TransferKind::restore) ? "restore" : "transfer";
    std::string name = x.kind == int(TransferKind::pull)
                           ? "pull " + bytes_text(x.bytes) + " from rank " + std::to_string(x.from)
                           : std::string(kind) + " " + bytes_text(x.bytes);
    out.add({{"ph", "X"}, {"cat", kind}, {"name", name}, {"pid", x.to}, {"tid", kTransportTid},
             {"ts", us(x.started)}, {"dur", std::max(0.0, us(x.finished - x.started))},
             {"args", {{"object", hex(x.object)}, {"bytes", x.bytes}, {"from", x.from}, {"to", x.to}}}});
    ++counts.transfers;
  }

  // Flow arrows: the start sits just inside the producer's span (bound to it),
  // the end at the consumer's start ("bp":"e": bound to the enclosing slice).
  std::uint64_t flow_id = 0;
  for (const EdgeRecord& e : events.edges) {
    auto p = by_id.find(e.producer);
    auto c = by_id.find(e.consumer);
    if (p == by_id.end() || c == by_id.end()) continue;  // a put, or a record outside this trace
    const TaskRecord& pt = events.tasks[p->second];
    const TaskRecord& ct = events.tasks[c->second];
    Row pr = row_of(pt), cr = row_of(ct);
    double s_ts = std::max(us(pt.started), us(pt.finished) - 0.001);
    ++flow_id;
    out.add({{"ph", "s"}, {"cat", "dep"}, {"name", "dep"}, {"id", flow_id}, {"pid", pr.pid}, {"tid", pr.tid}, {"ts", s_ts}});
    out.add({{"ph", "f"}, {"bp", "e"}, {"cat", "dep"}, {"name", "dep"}, {"id", flow_id}, {"pid", cr.pid},
             {"tid", cr.tid}, {"ts", us(ct.started)}});
    ++counts.flows;
  }
  os << "\n]}\n";
  os.flush();
  if (!os) throw Error("raympi::timeline: writing the trace to '" + path + "' failed (disk full?)");
  return counts;
}

}  // namespace raympi::detail
