#pragma once
/// @file tutorial_timeline.hpp
/// @brief The tutorial's "view the timeline" step as checks: the program
/// writes its trace with raympi::timeline(path) and reads it back (nlohmann-json)
/// as spans (the "X" events) and arrows (matched "s"/"f" flow events, each end
/// bound to the span that encloses it on its row).
///
/// @code
/// tutorial::Trace t = tutorial::write_and_read_timeline("12_tree_reduce");
/// auto creates = t.named("create_data");
/// tutorial::check(tutorial::Trace::overlap(t, creates), "the 8 create spans overlap", "...");
/// @endcode

#include <raympi/raympi.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

namespace tutorial {

/// @brief A trace as the tutorial checks see it.
struct Trace {
  struct Span {
    std::string name, cat;
    int pid = 0, tid = 0;
    double ts = 0, dur = 0;  // µs
    double end() const { return ts + dur; }
  };
  std::vector<Span> spans;
  std::vector<std::pair<std::size_t, std::size_t>> arrows;  // producer span -> consumer span
  std::map<std::pair<int, int>, std::string> row_names;     // (pid, tid) -> thread name
  int unbound_flow_ends = 0;                                 // flow ends with no span around them
  double clock_error_us = 0;  // the job clock's bound on cross-rank offsets (otherData.clock_error_us)

  /// Indices of the spans called @p name.
  std::vector<std::size_t> named(const std::string& name) const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < spans.size(); ++i)
      if (spans[i].name == name) out.push_back(i);
    return out;
  }
  /// The arrows that end on span @p i.
  std::vector<std::size_t> inputs_of(std::size_t i) const {
    std::vector<std::size_t> out;
    for (auto& [from, to] : arrows)
      if (to == i) out.push_back(from);
    return out;
  }
  /// True when all of @p idx run at one common instant.
  bool overlap(const std::vector<std::size_t>& idx) const {
    double latest_start = -1e300, earliest_end = 1e300;
    for (std::size_t i : idx) {
      latest_start = std::max(latest_start, spans[i].ts);
      earliest_end = std::min(earliest_end, spans[i].end());
    }
    return !idx.empty() && latest_start < earliest_end;
  }
  /// Rows on which two spans overlap without one containing the other (a get
  /// inside a task may run another task inline: that one nests).
  int rows_with_overlaps() const {
    std::map<std::pair<int, int>, std::vector<const Span*>> by_row;
    for (auto& s : spans)
      if (s.cat != "transfer" && s.cat != "spill" && s.cat != "restore") by_row[{s.pid, s.tid}].push_back(&s);
    int bad = 0;
    for (auto& [row, v] : by_row) {
      std::sort(v.begin(), v.end(), [](const Span* a, const Span* b) { return a->ts < b->ts; });
      for (std::size_t i = 1; i < v.size(); ++i)
        if (v[i]->ts < v[i - 1]->end() && v[i]->end() > v[i - 1]->end() + 1e-3) {
          ++bad;
          break;
        }
    }
    return bad;
  }

  static Trace read(const std::string& path) {
    std::ifstream in(path);
    nlohmann::json j = nlohmann::json::parse(in);
    Trace t;
    if (j.contains("otherData")) t.clock_error_us = j["otherData"].value("clock_error_us", 0.0);
    std::map<std::uint64_t, std::pair<const nlohmann::json*, const nlohmann::json*>> flows;
    for (const auto& e : j.at("traceEvents")) {
      const std::string ph = e.at("ph");
      if (ph == "X") {
        t.spans.push_back({e.at("name"), e.value("cat", ""), e.at("pid"), e.at("tid"), e.at("ts"), e.at("dur")});
      } else if (ph == "M" && e.at("name") == "thread_name") {
        t.row_names[{e.at("pid"), e.at("tid")}] = e.at("args").at("name");
      } else if (ph == "s") {
        flows[e.at("id").get<std::uint64_t>()].first = &e;
      } else if (ph == "f") {
        flows[e.at("id").get<std::uint64_t>()].second = &e;
      }
    }
    auto enclosing = [&](const nlohmann::json& e) -> long {
      int pid = e.at("pid"), tid = e.at("tid");
      double ts = e.at("ts");
      for (std::size_t i = 0; i < t.spans.size(); ++i) {
        const Span& s = t.spans[i];
        if (s.pid == pid && s.tid == tid && s.ts <= ts && ts <= s.end()) return long(i);
      }
      return -1;
    };
    for (auto& [id, ends] : flows) {
      if (!ends.first || !ends.second) {
        ++t.unbound_flow_ends;
        continue;
      }
      long from = enclosing(*ends.first), to = enclosing(*ends.second);
      if (from < 0 || to < 0) ++t.unbound_flow_ends;
      else t.arrows.emplace_back(std::size_t(from), std::size_t(to));
    }
    return t;
  }
};

/// Writes this job's trace (to $RAYMPI_TIMELINE when set, else a file in
/// /tmp named after @p program) and reads it back.
inline Trace write_and_read_timeline(const std::string& program) {
  const char* env = std::getenv("RAYMPI_TIMELINE");
  std::string path = env && *env ? env : "/tmp/raympi-" + program + "-" + std::to_string(getpid()) + ".json";
  raympi::timeline(path);
  Trace t = Trace::read(path);
  std::printf("NOTE: timeline written to %s (%zu spans, %zu arrows); open it with `raympi timeline %s`\n",
              path.c_str(), t.spans.size(), t.arrows.size(), path.c_str());
  if (!(env && *env)) std::remove(path.c_str());
  return t;
}

}  // namespace tutorial
