// raympi-bench's server metrics: what one rank of the job's two central roles
// can serve per second, for the scaling model of docs/scaling.md.
//
// They run the real components in the driver's process, fed real encoded
// messages: the global scheduler (rank 0) decoding a submission and choosing
// its node among N (GlobalScheduler::choose), and the GCS (rank 1) decoding
// and applying the per-node event batches, load reports (a node's heartbeat)
// and node-table queries it receives (gcs/Gcs). The MPI receive and send of
// each message come on top: the "per message" line measures that cost
// between the driver node and the other node in the same run (MPI's own
// one-way small-message cost, half a round trip).
#include "bench_harness.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

// libraympi's private headers (the bench target adds the folder): the
// components themselves, not a copy of their logic.
#include "core/config.hpp"
#include "gcs/gcs.hpp"
#include "scheduler/global_scheduler.hpp"
#include "serialization/messages.hpp"

namespace bench {

namespace {

namespace d = raympi::detail;

constexpr double kNodeCpus = 64;  // a cluster node's cores (each node rank owns one node)

std::map<std::string, double> node_resources(double cpus_free) {
  return {{"CPU", cpus_free}, {"GPU", 0}, {"memory", 256e9}};
}

/// A submission as a node sends it to the GS when it cannot run the task at
/// once: one CPU, one dependency of 8 bytes on the submitting node.
d::Buffer submission(int owner, std::uint64_t seq) {
  d::TaskSpec spec;
  spec.id = d::ObjectId::make(owner, seq);
  spec.name = "work";
  spec.demand = d::ResourceDemand(1);
  spec.deps.push_back(d::ObjectId::make(owner, seq + 1));
  d::Locality locality{{owner, 8}};
  std::vector<d::ObjectId> refs = spec.deps;
  return d::encode_task(spec, owner, refs, locality);
}

d::NodeLoadMsg load_report(int rank, double cpus_free, std::uint64_t finished) {
  d::NodeLoadMsg m;
  m.rank = rank;
  m.available = node_resources(cpus_free);
  m.queued = 3;
  m.running = static_cast<std::uint32_t>(kNodeCpus - cpus_free);
  m.finished = finished;
  return m;
}

}  // namespace

// gs_placement_decisions: the global scheduler's work per spilled task
// (decode the submission, choose a node), with load reports mixed in; the
// details give a load report's cost alone and the share of the rank that
// busy nodes' reports take (one per node per gs_load_spacing(n)).
void Bench::gs_placement(const std::vector<int>& node_counts) {
  for (int n : node_counts) {
    run("gs_placement_decisions (one rank, " + with_commas(n) + " nodes)", "", [&](const std::string& name) {
      std::vector<d::GlobalScheduler::NodeView> views;
      for (int r = 0; r < n; ++r) {
        d::GlobalScheduler::NodeView v;
        v.rank = r + 2;
        v.total = d::ResourceSet::from_map(node_resources(kNodeCpus));
        v.available = v.total;
        views.push_back(std::move(v));
      }
      d::GlobalScheduler gs(std::move(views));
      std::vector<d::Buffer> msgs;
      for (int i = 0; i < 64; ++i) msgs.push_back(submission(2 + i % n, 2 * static_cast<std::uint64_t>(i) + 1));
      std::vector<d::Buffer> reports;
      for (int r = 0; r < n; ++r)
        reports.push_back(d::encode_msg(d::MsgType::node_load, load_report(r + 2, kNodeCpus / 2, 0)));
      std::uint64_t i = 0, placed = 0;
      // One report per `every` decisions: n reports per second at ~every x n decisions/s.
      const std::uint64_t every = 8;
      Measure m = timeit(
          [&] {
            auto w = d::decode_msg<d::TaskWire>(msgs[i % msgs.size()]);
            if (gs.choose(w.spec.demand, w.locality) >= 0) ++placed;
            if (++i % every == 0) gs.on_load(d::decode_msg<d::NodeLoadMsg>(reports[(i / every) % reports.size()]));
          },
          1, opt.warmup, opt.duration);
      if (placed != i) throw std::runtime_error("a feasible task was not placed");
      // Load reports alone: every busy node sends one per spacing.
      Measure r = timeit([&] { gs.on_load(d::decode_msg<d::NodeLoadMsg>(reports[i++ % reports.size()])); }, 1,
                         opt.warmup / 4, opt.duration / 4);
      // A saturated cluster: no node has a free CPU (the sample's worst case).
      for (int rank = 2; rank < n + 2; ++rank) gs.on_load(load_report(rank, 0, 0));
      Measure full = timeit(
          [&] {
            auto w = d::decode_msg<d::TaskWire>(msgs[i++ % msgs.size()]);
            if (gs.choose(w.spec.demand, w.locality) < 0) throw std::runtime_error("a feasible task was not placed");
          },
          1, opt.warmup / 4, opt.duration / 4);
      const double spacing_s = std::chrono::duration<double>(d::gs_load_spacing(n)).count();
      const double report_share = n / spacing_s / r.rate;  // seconds per second on load reports
      report(tally, name, m, "decisions/s",
             fmt("%.2f us per decision (decode + choose among ", 1e6 / m.rate) + with_commas(n) +
                 fmt(" nodes), %.2f us with none free;", 1e6 / full.rate) +
                 fmt(" load reports %.2f us each, ", 1e6 / r.rate) +
                 fmt("%.1f%% of the rank with every node busy", 100 * report_share) +
                 fmt(" (one per %.0f us each)", spacing_s * 1e6),
             Target{});
    });
  }
}

// gcs_*: the GCS's work per message of each kind it receives from nodes.
void Bench::gcs_events(const std::vector<int>& node_counts) {
  for (int n : node_counts) {
    const std::string nodes_label = " (one rank, " + with_commas(n) + " nodes)";
    std::vector<d::NodeRecordWire> records;
    for (int r = 0; r < n; ++r) {
      d::NodeRecordWire w;
      w.rank = r + 2;
      w.host = "node" + std::to_string(r);
      w.total = node_resources(kNodeCpus);
      records.push_back(std::move(w));
    }
    auto gcs = std::make_unique<d::Gcs>(records, std::vector<std::string>{"work", "reduce", "io"});

    // A node's batch per flush: counts, three functions' aggregates, node stats.
    run("gcs_event_batches" + nodes_label, "", [&](const std::string& name) {
      std::vector<d::Buffer> batches;
      for (int r = 0; r < std::min(n, 64); ++r) {
        d::GcsEventsMsg b;
        b.node = r + 2;
        b.tasks_finished = 5000;
        b.objects_created = 5000;
        b.objects_freed = 4990;
        for (const char* f : {"work", "reduce", "io"}) {
          auto& s = b.functions[f];
          s.count = 1666;
          s.total_s = 1.5;
          s.max_s = 0.01;
        }
        batches.push_back(d::encode_msg(d::MsgType::gcs_events, b));
      }
      std::uint64_t i = 0;
      Measure m = timeit([&] { gcs->on_events(d::decode_msg<d::GcsEventsMsg>(batches[i++ % batches.size()])); }, 1,
                         opt.warmup, opt.duration);
      const double flush_s = std::chrono::duration<double>(d::event_flush_period(n)).count();
      report(tally, name, m, "batches/s",
             fmt("%.2f us per node batch", 1e6 / m.rate) + " (3 functions' aggregates); " +
                 fmt("%.1f%% of the rank with every node busy", 100.0 * n / flush_s / m.rate) +
                 fmt(" (one per %.1f ms each)", flush_s * 1e3),
             Target{});
    });
    run("gcs_load_reports" + nodes_label, "", [&](const std::string& name) {
      std::vector<d::Buffer> reports;
      for (int r = 0; r < std::min(n, 64); ++r)
        reports.push_back(d::encode_msg(d::MsgType::node_load, load_report(r + 2, 10, 1000)));
      std::uint64_t i = 0;
      Measure m = timeit([&] { gcs->on_load(d::decode_msg<d::NodeLoadMsg>(reports[i++ % reports.size()])); }, 1,
                         opt.warmup, opt.duration);
      report(tally, name, m, "reports/s",
             fmt("%.2f us per load report", 1e6 / m.rate) + " (a node's heartbeat): " +
                 fmt("%.2f%%", 100.0 * n / m.rate) + " of the rank at one per node per second",
             Target{});
    });
    run("gcs_node_queries" + nodes_label, "", [&](const std::string& name) {
      d::Buffer q = d::encode_msg(d::MsgType::gcs_query, d::GcsQueryMsg{});
      std::uint64_t bytes = 0;
      Measure m = timeit(
          [&] {
            d::GcsReplyMsg reply = gcs->answer(d::decode_msg<d::GcsQueryMsg>(q));
            bytes = d::encode_msg(d::MsgType::gcs_reply, reply).size;
          },
          1, opt.warmup / 4, opt.duration / 4);
      report(tally, name, m, "queries/s",
             fmt("%.1f us per raympi::nodes() answered, ", 1e6 / m.rate) + with_commas(static_cast<double>(bytes)) +
                 " bytes each",
             Target{});
    });
  }
}

}  // namespace bench
