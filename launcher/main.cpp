// raympi: starts raympi jobs (see launcher/README.md and docs/launching.md).
//
//   raympi run [-n NODES] [--cpus-per-node C] [--gpus-per-node G] [--resources K=V,...]
//              [--object-store-memory SIZE] [--timeline FILE] [--hosts H,...] [-v] [--dry-run]
//              -- PROGRAM [ARGS...]
//   raympi info
//   raympi timeline TRACE.json [-o VIEW.html]
//
// Exit status: the application's (128 + signal if a signal ended it); 2 for
// a mistaken command line; 127 when mpirun/srun cannot be started.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "machine_info.hpp"
#include "plan.hpp"
#include "run_job.hpp"
#include "timeline_view.hpp"

namespace {

constexpr const char* kUsage =
    "usage: raympi run [-n NODES] [--cpus-per-node C] [--gpus-per-node G] [--resources K=V,...]\n"
    "                  [--object-store-memory SIZE] [--timeline FILE] [--hosts H1,H2,...] [-v] [--dry-run]\n"
    "                  -- PROGRAM [ARGS...]\n"
    "       raympi info\n"
    "       raympi timeline TRACE.json [-o VIEW.html]\n"
    "       raympi --help | raympi run --help\n";

// "-n abc" -> "--nodes: 'abc' is not a whole number > 0" (CLI11's own range
// message prints the largest double).
CLI::Validator number_check(bool whole, bool positive) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        try {
          std::size_t used = 0;
          const double v = std::stod(text, &used);
          if (used == text.size() && (!whole || v == double(long(v))) && (positive ? v > 0 : v >= 0)) return "";
        } catch (const std::exception&) {
        }
        return "'" + text + "' is not a " + (whole ? "whole " : "") + "number " + (positive ? "> 0" : ">= 0");
      },
      whole ? "INT" : "NUMBER");
}

int usage_error(const std::string& message) {
  std::cerr << "raympi: error: " << message << '\n' << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace raympi::launcher;
  // Everything after the first "--" is the application's, untouched by CLI11.
  std::vector<std::string> args(argv + 1, argv + argc);
  RunOptions opt;
  bool has_separator = false;
  if (auto sep = std::find(args.begin(), args.end(), "--"); sep != args.end()) {
    opt.command.assign(sep + 1, args.end());
    args.erase(sep, args.end());
    has_separator = true;
  }

  CLI::App app{"raympi: start raympi jobs under mpirun or srun, and show the machine as raympi sees it", "raympi"};
  app.require_subcommand(1);
  CLI::App* run = app.add_subcommand("run", "start PROGRAM as a raympi job (ranks: GS, GCS, then the nodes)");
  run->add_option("-n,--nodes", opt.nodes, "node ranks (default: one per host of the job)")
      ->check(number_check(true, true));
  run->add_option("--cpus-per-node", opt.cpus_per_node, "CPU slots of each node (RAYMPI_NUM_CPUS; default: the rank's binding)")
      ->check(number_check(false, false));
  run->add_option("--gpus-per-node", opt.gpus_per_node, "GPUs of each node (RAYMPI_NUM_GPUS; default: Slurm's GPUs per node)")
      ->check(number_check(false, false));
  run->add_option("--resources", opt.resources, "custom resources of each node, K=V,... (RAYMPI_RESOURCES)");
  run->add_option("--object-store-memory", opt.object_store_memory, "object store budget per node, e.g. 4G (RAYMPI_OBJECT_STORE_MEMORY)");
  run->add_option("--timeline", opt.timeline, "Chrome trace file written at shutdown (RAYMPI_TIMELINE)");
  run->add_option("--hosts", opt.hosts, "mpirun only: hosts of the job, first one gets ranks 0-2 (default: this host)")
      ->delimiter(',');
  run->add_flag("-v,--verbose", opt.verbose, "print the role map (rank, role, host, CPUs, GPUs) before starting");
  run->add_flag("--dry-run", opt.dry_run, "print the launcher command, environment and layout; start nothing");
  run->footer("Put the program after --: raympi run -n 2 -- ./app args");
  CLI::App* info = app.add_subcommand("info", "the local machine as raympi sees it: topology, CPUs, GPUs, environment");
  std::string trace_path, view_path;
  CLI::App* timeline = app.add_subcommand("timeline", "write a Chrome trace (raympi run --timeline) as one self-contained HTML page");
  timeline->add_option("trace", trace_path, "the trace (JSON) to show")->required();
  timeline->add_option("-o,--output", view_path, "the page to write (default: TRACE with .json replaced by .html)");

  const std::string first_word = args.empty() ? "" : args.front();
  try {
    std::reverse(args.begin(), args.end());  // CLI11 consumes a reversed vector
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    std::cout << (run->parsed() ? run->help() : timeline->parsed() ? timeline->help() : app.help());
    return 0;
  } catch (const CLI::ExtrasError& e) {
    return usage_error(std::string(e.what()) + " (options go before --, the program and its arguments after it)");
  } catch (const CLI::RequiredError& e) {
    if (!app.get_subcommands().empty()) return usage_error(e.what());
    return usage_error(first_word.empty() ? "no command: use raympi run or raympi info"
                                          : "unknown command '" + first_word + "': use raympi run or raympi info");
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  }

  if (info->parsed()) {
    if (has_separator) return usage_error("raympi info takes no program");
    std::cout << machine_info();
    return 0;
  }
  if (timeline->parsed()) {
    if (has_separator) return usage_error("raympi timeline takes no program");
    try {
      if (view_path.empty()) view_path = default_view_path(trace_path);
      const TimelineSummary sum = write_timeline_view(trace_path, view_path);
      std::cout << "raympi timeline: wrote " << view_path << " (" << sum.bars << " bars, " << sum.flows
                << " dependency arrows, from " << sum.events << " events)\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << e.what() << '\n';
      return 1;
    }
  }
  if (!has_separator) return usage_error("no program to run: put it after --, e.g. raympi run -n 2 -- ./app");

  try {
    const Site site = discover_site(opt);
    const std::string job_dir = opt.dry_run ? std::string("<job folder>") : make_job_dir();
    Plan plan;
    try {
      plan = make_plan(opt, site, job_dir);
    } catch (...) {
      if (!opt.dry_run) std::filesystem::remove_all(job_dir);
      throw;
    }
    if (opt.verbose || opt.dry_run) {
      std::cout << "raympi: " << plan.roles.size() << " ranks with " << plan.launcher << " (" << site.why << ")\n"
                << role_map(plan);
    }
    if (opt.dry_run) {
      std::cout << describe(plan);
      return 0;
    }
    std::cout.flush();
    return run_plan(plan, job_dir);
  } catch (const UsageError& e) {
    return usage_error(e.what());
  } catch (const std::exception& e) {
    std::cerr << "raympi: " << e.what() << '\n';
    return 1;
  }
}
