#include <unistd.h>

#include "core/config.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "raympi/errors.hpp"
#include "topology/pinning.hpp"

namespace raympi::detail {

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

double parse_number(const std::string& text, const char* what) {
  try {
    std::size_t used = 0;
    double v = std::stod(text, &used);
    if (used != text.size() || v < 0) throw std::invalid_argument("");
    return v;
  } catch (const std::exception&) {
    throw Error(std::string("raympi: ") + what + "='" + text + "' is not a non-negative number");
  }
}

}  // namespace

std::map<std::string, double> parse_resources(const std::string& text) {
  std::map<std::string, double> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? text.size() : comma + 1;
    if (item.empty()) continue;
    std::size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error("raympi: RAYMPI_RESOURCES item '" + item + "' must look like name=amount (e.g. Custom1=4,disk=1)");
    out[item.substr(0, eq)] = parse_number(item.substr(eq + 1), "RAYMPI_RESOURCES amount");
  }
  return out;
}

std::size_t parse_size(const std::string& text, const char* what) {
  if (text.empty()) throw Error(std::string("raympi: ") + what + " is empty");
  std::size_t mult = 1;
  std::string num = text;
  char last = char(std::toupper(static_cast<unsigned char>(num.back())));
  if (last == 'B') { num.pop_back(); last = num.empty() ? 0 : char(std::toupper(static_cast<unsigned char>(num.back()))); }
  if (last == 'K') mult = 1ull << 10;
  else if (last == 'M') mult = 1ull << 20;
  else if (last == 'G') mult = 1ull << 30;
  else if (last == 'T') mult = 1ull << 40;
  if (mult != 1) num.pop_back();
  return std::size_t(parse_number(num, what) * double(mult));
}

TransportSettings resolve_transport_settings() {
  auto on = [](const char* name) {
    const char* v = env(name);
    return !(v && std::string(v) == "0");
  };
  TransportSettings t;
  t.ucx = on("RAYMPI_UCX");
  t.ucx_peer_errors = on("RAYMPI_UCX_PEER_ERRORS");
  t.direct_send = on("RAYMPI_DIRECT_SEND");
  t.cma = on("RAYMPI_CMA");
  return t;
}

Config resolve_config(Config cfg, const Machine& share) {
  // An integer field left at -1: from its variable, else `fallback`.
  auto whole = [&](int& field, const char* name, int fallback) {
    if (field < 0) field = env(name) ? int(parse_number(env(name), name)) : fallback;
  };
  whole(cfg.reserve_runtime_cpus, "RAYMPI_RESERVE_CPUS", 0);
  whole(cfg.inline_get, "RAYMPI_INLINE_GET", 1);
  if (cfg.worker_priority.empty()) {
    const char* v = env("RAYMPI_WORKER_PRIORITY");
    cfg.worker_priority = v ? v : "normal";
  }
  WorkerPriority::parse(cfg.worker_priority);  // a clear error at init, on every rank
  if (cfg.inline_get > 1) throw Error("raympi: RAYMPI_INLINE_GET / Config::inline_get must be 0 or 1");
  if (cfg.progress < 0)
    if (auto v = env("RAYMPI_PROGRESS")) {
      if (std::string(v) != "0" && std::string(v) != "1")
        throw Error(std::string("raympi: RAYMPI_PROGRESS='") + v +
                    "' must be 0 or 1 (unset: only when stderr is a terminal)");
      cfg.progress = v[0] - '0';
    }
  if (cfg.progress > 1) throw Error("raympi: Config::progress must be -1 (auto), 0 or 1");
  if (cfg.num_cpus < 0) {
    if (auto v = env("RAYMPI_NUM_CPUS")) cfg.num_cpus = parse_number(v, "RAYMPI_NUM_CPUS");
    else cfg.num_cpus = double(worker_pu_count(share, cfg.reserve_runtime_cpus));
  }
  if (cfg.num_gpus < 0) {
    if (auto v = env("RAYMPI_NUM_GPUS")) cfg.num_gpus = parse_number(v, "RAYMPI_NUM_GPUS");
    else cfg.num_gpus = double(local_visible_gpus().size());
  }
  if (auto v = env("RAYMPI_RESOURCES"))
    for (auto& [k, amount] : parse_resources(v)) cfg.resources.try_emplace(k, amount);
  for (auto& [k, amount] : cfg.resources)
    if (k == "CPU" || k == "GPU")
      throw Error("raympi: Config::resources['" + k + "']: set num_cpus / num_gpus instead");
  if (cfg.object_store_memory == 0)
    if (auto v = env("RAYMPI_OBJECT_STORE_MEMORY")) cfg.object_store_memory = parse_size(v, "RAYMPI_OBJECT_STORE_MEMORY");
  if (cfg.object_store_memory == 0)  // default: 30 % of the host's memory
    cfg.object_store_memory = std::size_t(double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGESIZE)) * 0.3);
  if (cfg.spill_directory.empty()) {
    if (auto v = env("RAYMPI_SPILL_DIR")) cfg.spill_directory = v;
    else if (auto t = env("TMPDIR")) cfg.spill_directory = t;
    else cfg.spill_directory = "/tmp";
  }
  if (cfg.timeline.empty())
    if (auto v = env("RAYMPI_TIMELINE")) cfg.timeline = v;
  if (cfg.event_log.empty())
    if (auto v = env("RAYMPI_EVENT_LOG")) cfg.event_log = v;
  if (cfg.event_buffer == 0) {
    double n = env("RAYMPI_EVENT_BUFFER") ? parse_number(env("RAYMPI_EVENT_BUFFER"), "RAYMPI_EVENT_BUFFER") : 100000;
    if (n < 16) throw Error("raympi: RAYMPI_EVENT_BUFFER / Config::event_buffer must be at least 16 records");
    cfg.event_buffer = std::size_t(n);
  }
  whole(cfg.summary, "RAYMPI_SUMMARY", 0);
  if (cfg.summary > 1) throw Error("raympi: RAYMPI_SUMMARY / Config::summary must be 0 or 1");
  if (cfg.log_level.empty()) cfg.log_level = env("RAYMPI_LOG_LEVEL") ? env("RAYMPI_LOG_LEVEL") : "warn";
  if (cfg.heartbeat_period.count() < 0)
    cfg.heartbeat_period = std::chrono::milliseconds(
        env("RAYMPI_HEARTBEAT_MS") ? long(parse_number(env("RAYMPI_HEARTBEAT_MS"), "RAYMPI_HEARTBEAT_MS")) : 1000);
  if (cfg.heartbeat_timeout.count() < 0)
    cfg.heartbeat_timeout = std::chrono::milliseconds(
        env("RAYMPI_HEARTBEAT_TIMEOUT_MS")
            ? long(parse_number(env("RAYMPI_HEARTBEAT_TIMEOUT_MS"), "RAYMPI_HEARTBEAT_TIMEOUT_MS"))
            : std::max<long>(10000, 3 * cfg.heartbeat_period.count()));
  if (cfg.heartbeat_period.count() <= 0 || cfg.heartbeat_timeout < 3 * cfg.heartbeat_period)
    throw Error("raympi: the heartbeat timeout (" + std::to_string(cfg.heartbeat_timeout.count()) +
                " ms) must be at least three heartbeat periods (" + std::to_string(cfg.heartbeat_period.count()) +
                " ms), and the period positive; set RAYMPI_HEARTBEAT_TIMEOUT_MS / RAYMPI_HEARTBEAT_MS "
                "(Config::heartbeat_timeout / heartbeat_period) accordingly");
  whole(cfg.spin_us, "RAYMPI_SPIN_US", 50);
  whole(cfg.progress_spin_us, "RAYMPI_PROGRESS_SPIN_US", 100);
  whole(cfg.max_backoff_us, "RAYMPI_MAX_BACKOFF_US", 2000);
  return cfg;
}

namespace {
// Every busy node sends the GCS its event batch once per flush period and the
// GS its changed load at most once per spacing. Both periods grow with the
// node count so that what the two central ranks receive in all stays within
// what one rank serves (raympi-bench's gcs_event_batches and
// gs_placement_decisions lines; docs/scaling.md): at most ~200,000 batches/s
// and ~250,000 load reports/s, whatever the cluster's size.
constexpr auto kEventFlushMin = std::chrono::microseconds(5000);
constexpr auto kEventFlushPerNode = std::chrono::microseconds(5);
constexpr auto kGsLoadSpacingMin = std::chrono::microseconds(2000);
constexpr auto kGsLoadSpacingPerNode = std::chrono::microseconds(4);
}  // namespace

std::chrono::microseconds event_flush_period(std::size_t nodes) {
  return std::max(kEventFlushMin, kEventFlushPerNode * static_cast<long>(nodes));
}

std::chrono::microseconds gs_load_spacing(std::size_t nodes) {
  return std::max(kGsLoadSpacingMin, kGsLoadSpacingPerNode * static_cast<long>(nodes));
}

}  // namespace raympi::detail
