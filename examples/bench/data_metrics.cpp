// raympi-bench's data-plane metric: cross_rank_get_gigabytes, next to raw UCX
// bandwidth measured in the same run. The yardstick is two actors, one per
// node, each with a UCP worker of its own (like ucx_perftest's tag_bw): the
// one on the driver's node streams tag messages to the other.
#include <ucp/api/ucp.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "bench_harness.hpp"

namespace {

void ucx_check(ucs_status_t st, const char* what) {
  if (st != UCS_OK) throw std::runtime_error(std::string(what) + ": " + ucs_status_string(st));
}

/// A UCP context and worker owned by one actor; progressed only by its methods.
class RawUcx {
 public:
  RawUcx() {
    ucp_params_t p{};
    p.field_mask = UCP_PARAM_FIELD_FEATURES;
    p.features = UCP_FEATURE_TAG;
    ucp_config_t* cfg = nullptr;
    ucx_check(ucp_config_read(nullptr, nullptr, &cfg), "ucp_config_read");
    ucs_status_t st = ucp_init(&p, cfg, &context_);
    ucp_config_release(cfg);
    ucx_check(st, "ucp_init");
    ucp_worker_params_t wp{};
    ucx_check(ucp_worker_create(context_, &wp, &worker_), "ucp_worker_create");
  }
  ~RawUcx() {
    if (ep_) {
      ucp_request_param_t p{};
      p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
      p.flags = UCP_EP_CLOSE_FLAG_FORCE;
      ucs_status_ptr_t r = ucp_ep_close_nbx(ep_, &p);  // errors ignored: the peer may be gone first
      if (UCS_PTR_IS_PTR(r)) {
        while (ucp_request_check_status(r) == UCS_INPROGRESS) ucp_worker_progress(worker_);
        ucp_request_free(r);
      }
    }
    ucp_worker_destroy(worker_);
    ucp_cleanup(context_);
  }
  std::string address() {
    ucp_address_t* a = nullptr;
    std::size_t n = 0;
    ucx_check(ucp_worker_get_address(worker_, &a, &n), "ucp_worker_get_address");
    std::string s(reinterpret_cast<const char*>(a), n);
    ucp_worker_release_address(worker_, a);
    return s;
  }
  /// Receives `count` messages of `size` bytes, into one warm buffer or (with
  /// `fresh`) each into new, untouched memory as an object store must; returns
  /// the bytes received.
  std::uint64_t receive(int count, std::uint64_t size, bool fresh) {
    std::vector<char> warm(fresh ? 0 : size);
    for (int i = 0; i < count; ++i) {
      std::unique_ptr<char[]> mem(fresh ? new char[size] : nullptr);
      ucp_request_param_t p{};
      wait(ucp_tag_recv_nbx(worker_, fresh ? mem.get() : warm.data(), size, 7, ~std::uint64_t(0), &p));
    }
    return std::uint64_t(count) * size;
  }
  /// Sends `count` messages of `size` bytes to `peer`; returns the seconds it took.
  double send(const std::string& peer, int count, std::uint64_t size) {
    if (!ep_) {
      ucp_ep_params_t ep{};
      ep.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS;
      ep.address = reinterpret_cast<const ucp_address_t*>(peer.data());
      ucx_check(ucp_ep_create(worker_, &ep, &ep_), "ucp_ep_create");
    }
    std::vector<char> buf(size, 'x');
    auto t0 = bench::Clock::now();
    for (int i = 0; i < count; ++i) {
      ucp_request_param_t p{};
      wait(ucp_tag_send_nbx(ep_, buf.data(), size, 7, &p));
    }
    return bench::seconds_since(t0);
  }

 private:
  void wait(ucs_status_ptr_t r) {
    if (r == nullptr) return;
    if (UCS_PTR_IS_ERR(r)) ucx_check(UCS_PTR_STATUS(r), "UCX operation");
    while (ucp_request_check_status(r) == UCS_INPROGRESS) ucp_worker_progress(worker_);
    ucs_status_t st = ucp_request_check_status(r);
    ucp_request_free(r);
    ucx_check(st, "UCX operation");
  }
  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  ucp_ep_h ep_ = nullptr;
};
std::unique_ptr<RawUcx> make_raw_ucx() { return std::make_unique<RawUcx>(); }

using Blob = std::vector<char>;
/// An object of `size` bytes, made (and kept) where the task runs.
Blob make_blob(std::uint64_t size) { return Blob(size, 'b'); }
/// Waits (where it runs) until every blob exists: pinned to the node that
/// makes them, it moves no bytes.
std::uint64_t await_blobs(std::vector<raympi::ObjectRef<Blob>> refs) {
  return raympi::wait(refs, refs.size()).ready.size();
}

}  // namespace

/// Reads every byte of a blob where the task runs (after it was brought there).
std::uint64_t blob_sum(const Blob& b) {
  std::uint64_t s = 0;
  for (std::size_t i = 0; i < b.size(); i += 4096) s += std::uint64_t(b[i]);
  return s + b.size();
}

RAYMPI_REMOTE(make_raw_ucx, &RawUcx::address, &RawUcx::receive, &RawUcx::send, make_blob, await_blobs, blob_sum);

namespace bench {

namespace {

/// Raw UCX bandwidth (GB/s) from `from`'s node to `to`'s node at `size` bytes.
double raw_ucx_gbps(int from, int to, std::uint64_t size, int count, bool fresh) {
  auto sender = raympi::actor(make_raw_ucx).resource("node:" + std::to_string(from), 0.001).remote();
  auto receiver = raympi::actor(make_raw_ucx).resource("node:" + std::to_string(to), 0.001).remote();
  std::string addr = raympi::get(receiver.task(&RawUcx::address).remote());
  auto warm = receiver.task(&RawUcx::receive).remote(1, size, false);  // wire-up and first touch, not timed
  raympi::get(sender.task(&RawUcx::send).remote(addr, 1, size));
  raympi::get(warm);
  auto got = receiver.task(&RawUcx::receive).remote(count, size, fresh);
  double seconds = raympi::get(sender.task(&RawUcx::send).remote(addr, count, size));
  raympi::get(got);
  return double(size) * count / seconds / 1e9;
}

}  // namespace

// cross_rank_get_gigabytes: objects made on the other node, brought to the
// driver's node (wait() fetches without deserialising), next to raw UCX.
void Bench::cross_rank_get(const Location& other) {
  struct Size {
    const char* label;
    std::uint64_t bytes;
    int count;
  };
  for (Size s : {Size{"1 MiB", 1ull << 20, 64}, Size{"16 MiB", 16ull << 20, 16}, Size{"100 MiB", 100ull << 20, 4},
                 Size{"1 GiB", 1ull << 30, 2}}) {
    run(std::string("cross_rank_get_gigabytes (") + s.label + ")", other.skip_reason, [&](const std::string& name) {
      auto make = raympi::task(make_blob);
      make.resource(other.resource(), 0.001);
      std::vector<raympi::ObjectRef<Blob>> refs;
      for (int i = 0; i <= s.count; ++i) refs.push_back(make.remote(s.bytes));  // the first one warms up
      auto await = raympi::task(await_blobs);
      await.resource(other.resource(), 0.001);
      if (raympi::get(await.remote(refs)) != refs.size()) throw std::runtime_error("blobs missing on rank " +
                                                                                  std::to_string(other.rank));
      // One object after the other, each dropped once read, as a streaming
      // reader would: the node's buffers are recycled (steady state). The
      // first transfer, into memory this process never touched, is not timed.
      raympi::wait(std::vector<raympi::ObjectRef<Blob>>{refs[0]}, 1);
      refs[0] = {};
      auto t0 = Clock::now();
      for (std::size_t i = 1; i < refs.size(); ++i) {
        raympi::wait(std::vector<raympi::ObjectRef<Blob>>{refs[i]}, 1);
        refs[i] = {};
      }
      double seconds = seconds_since(t0);
      double gbps = double(s.bytes) * s.count / seconds / 1e9;
      double raw = raw_ucx_gbps(other.rank, driver_rank, s.bytes, s.count, false);
      double raw_fresh = raw_ucx_gbps(other.rank, driver_rank, s.bytes, s.count, true);
      Measure m;
      m.rate = gbps;
      m.seconds = seconds;
      m.calls = std::uint64_t(s.count);
      report(tally, name, m, "GB/s",
             fmt("raw UCX %.2f GB/s in the same run, ratio ", raw) + fmt("%.0f %%", 100 * gbps / raw) +
                 fmt("; raw UCX into fresh memory %.2f GB/s", raw_fresh) + "; " +
                 std::to_string(s.count) + " objects of " + s.label + " from rank " + std::to_string(other.rank),
             s.bytes >= (16ull << 20) ? Target{Target::kMinRate, 0.8 * raw} : Target{});
    });
  }
}

// broadcast_100MB_to_nodes: one 100 MB object put on the driver, consumed by
// a task on every node rank (each node fetches it once).
void Bench::broadcast(const std::vector<int>& node_ranks) {
  run("broadcast_100MB_to_nodes", node_ranks.size() < 2 ? "only one node rank: run with -n 4 or more" : "",
      [&](const std::string& name) {
        const std::uint64_t bytes = 100'000'000;
        Measure m;
        double seconds = 0;
        const int rounds = 3;
        for (int round = 0; round < rounds; ++round) {
          raympi::ObjectRef<Blob> ref = raympi::put(Blob(bytes, 'c'));
          auto t0 = Clock::now();
          std::vector<raympi::ObjectRef<std::uint64_t>> uses;
          for (int r : node_ranks) {
            auto t = raympi::task(blob_sum);
            t.resource("node:" + std::to_string(r), 0.001);
            uses.push_back(t.remote(ref));
          }
          for (std::uint64_t v : raympi::get(uses))
            if (v < bytes) throw std::runtime_error("blob_sum saw a short object");
          seconds += seconds_since(t0);
        }
        m.rate = double(node_ranks.size() - 1) * bytes * rounds / seconds / 1e9;  // bytes that had to move
        m.seconds = seconds;
        m.calls = rounds;
        report(tally, name, m, "GB/s",
               fmt("%.1f ms per broadcast to ", 1e3 * seconds / rounds) + std::to_string(node_ranks.size()) +
                   " nodes (the driver's node reads its own copy; the figure counts the bytes that moved)",
               {});
      });
}

// local_get_shared_100MiB: get_shared of a 100 MiB object put on this node:
// a pointer into the store, no copy.
void Bench::local_get_shared() {
  run("local_get_shared_100MiB", "", [&](const std::string& name) {
    raympi::ObjectRef<Blob> ref = raympi::put(Blob(100ull << 20, 'd'));
    const Blob* first = raympi::get_shared(ref).get();
    Measure m = timeit(
        [&] {
          if (raympi::get_shared(ref).get() != first) throw std::runtime_error("get_shared copied the object");
        },
        1, opt.warmup, opt.duration);
    report(tally, name, m, "ops/s", fmt("%.3f us per get_shared (same buffer every time)", 1e6 / m.rate),
           {Target::kMaxMicros, 10.0});
  });
}

}  // namespace bench
