// Tutorial exercise 5: actor handles.
//
// Set-up (per node): 4 CPUs. One logging actor keeps, per experiment, the
// messages it was sent (`log(index, message)`, `get_logs()` -> map<int,
// vector<string>>). Three `run_experiment` tasks (1 CPU each) receive its
// handle and, once a second, log "On iteration i"; the actor holds no CPU, so
// all three tasks run at once. While they run, the driver polls `get_logs`
// about every 0.5 s (a `wait` on the tasks with a timeout paces the polls).
// Checks: each poll returns a map with only experiments 0..2, each list an
// in-order prefix "On iteration 0", "On iteration 1", ...; the number of
// entries never shrinks and grows between the first and the last poll; at the
// end every experiment logged "On iteration 0".."On iteration 3", in order.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/05_actor_handles

#include "tutorial_support.hpp"

#include <raympi/raympi.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using Logs = std::map<int, std::vector<std::string>>;

constexpr int experiments = 3;
constexpr int iterations = 4;

struct Logger {
  void log(int index, const std::string& message) { logs[index].push_back(message); }
  Logs get_logs() const { return logs; }
  Logs logs;
};

std::unique_ptr<Logger> make_logger() { return std::make_unique<Logger>(); }

// Logs one message a second; waits for its calls at the end, so that when the
// task is done, so is its logging.
int run_experiment(raympi::ActorHandle<Logger> logger, int experiment) {
  std::vector<raympi::ObjectRef<void>> logged;
  for (int i = 0; i < iterations; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    logged.push_back(logger.task(&Logger::log).remote(experiment, "On iteration " + std::to_string(i)));
  }
  for (const auto& r : logged) raympi::get(r);
  return experiment;
}

}  // namespace

RAYMPI_REMOTE(make_logger, &Logger::log, &Logger::get_logs, run_experiment);

namespace {

std::string message(int i) { return "On iteration " + std::to_string(i); }

// Experiments 0..2 only, each list "On iteration 0", "On iteration 1", ... so far.
bool in_order(const Logs& logs, bool complete) {
  if (complete && int(logs.size()) != experiments) return false;
  for (const auto& [experiment, messages] : logs) {
    if (experiment < 0 || experiment >= experiments || int(messages.size()) > iterations) return false;
    if (complete && int(messages.size()) != iterations) return false;
    for (std::size_t i = 0; i < messages.size(); ++i)
      if (messages[i] != message(int(i))) return false;
  }
  return true;
}

std::size_t entries(const Logs& logs) {
  std::size_t n = 0;
  for (const auto& kv : logs) n += kv.second.size();
  return n;
}

void exercise() {
  // No timing window here, so its own NOTE rather than timing_applies()'s.
  const std::size_t num_nodes = raympi::nodes().size();
  if (num_nodes > 1) std::printf("NOTE: %zu node ranks (this exercise has no timing window)\n", num_nodes);
  tutorial::warm(4);

  const auto start = tutorial::Clock::now();
  raympi::ActorHandle<Logger> logger = raympi::actor(make_logger).remote();
  std::vector<raympi::ObjectRef<int>> running;
  for (int e = 0; e < experiments; ++e) running.push_back(raympi::task(run_experiment).remote(logger, e));

  std::vector<std::size_t> counts;
  bool all_in_order = true;
  bool done = false;
  while (!done) {
    done = raympi::wait(running, running.size(), std::chrono::milliseconds(500)).remaining.empty();
    const Logs logs = raympi::get(logger.task(&Logger::get_logs).remote());
    counts.push_back(entries(logs));
    all_in_order = all_in_order && in_order(logs, false);
  }
  const std::vector<int> finished = raympi::get(running);
  const Logs final_logs = raympi::get(logger.task(&Logger::get_logs).remote());
  const double d = tutorial::since(start);

  std::string sizes;
  bool never_shrinks = true;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    sizes += (i ? "," : "") + std::to_string(counts[i]);
    if (i > 0 && counts[i] < counts[i - 1]) never_shrinks = false;
  }
  tutorial::check(all_in_order, "each poll returns a map of in-order prefixes for experiments 0..2",
                  std::to_string(counts.size()) + " polls");
  tutorial::check(never_shrinks && counts.size() >= 2 && counts.back() > counts.front(),
                  "entries never shrink and grow between polls", "entries per poll {" + sizes + "}");
  tutorial::check(finished == std::vector<int>{0, 1, 2}, "the 3 experiments finished", tutorial::braced(finished));
  std::string got;
  for (const auto& [experiment, messages] : final_logs)
    got += (got.empty() ? "" : ", ") + std::to_string(experiment) + ": " + std::to_string(messages.size());
  tutorial::check(in_order(final_logs, true),
                  "every experiment logged \"On iteration 0\"..\"On iteration 3\" in order", "{" + got + "}");
  std::printf("INFO: experiments and final get_logs done after %s\n", tutorial::seconds(d).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  raympi::Config cfg;
  cfg.num_cpus = 4;
  return tutorial::main_with(argc, argv, cfg, exercise);
}
