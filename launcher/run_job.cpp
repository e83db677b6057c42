#include "run_job.hpp"

#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace raympi::launcher {

namespace {

volatile sig_atomic_t g_child = 0;
volatile sig_atomic_t g_forwarded = 0;

void forward(int sig) {
  if (g_child > 0) ::kill(pid_t(g_child), sig);
  g_forwarded = sig;
}

// Pids of this process's children (PPid field of /proc/<pid>/stat).
std::vector<pid_t> children() {
  std::vector<pid_t> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == ::getpid())
      out.push_back(pid_t(std::stol(name)));
  }
  return out;
}

// mpirun can exit before its ranks are gone (after a SIGTERM it leaves them
// to notice on their own). As a child subreaper the launcher inherits them:
// it waits for them, and after @p grace_s kills what is left, so that no
// process of the job outlives `raympi run`.
void reap_orphans(double grace_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_s);
  for (;;) {
    int st = 0;
    const pid_t p = ::waitpid(-1, &st, WNOHANG);
    if (p < 0 && errno == ECHILD) return;
    if (p > 0) continue;
    if (std::chrono::steady_clock::now() >= deadline) {
      for (pid_t c : children()) ::kill(c, SIGKILL);
      while (::waitpid(-1, &st, 0) > 0 || errno == EINTR) {
      }
      return;
    }
    ::usleep(20000);
  }
}

std::string user_name() {
  if (const passwd* pw = ::getpwuid(::geteuid())) return pw->pw_name;
  return "uid" + std::to_string(::geteuid());
}

}  // namespace

std::string make_job_dir() {
  const char* base = std::getenv("RAYMPI_SPILL_DIR");
  if (!base || !*base) base = std::getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  std::string templ = std::string(base) + "/raympi-launch-" + user_name() + "-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data()))  // mkdtemp creates it with mode 0700
    throw std::runtime_error("cannot create the job folder '" + templ + "': " + std::strerror(errno) +
                             "; set RAYMPI_SPILL_DIR or TMPDIR to a writable folder");
  return buf.data();
}

int run_plan(const Plan& plan, const std::string& job_dir) {
  {
    std::ofstream f(plan.layout_path);
    f << plan.layout_text;
    if (!f) throw std::runtime_error("cannot write " + plan.layout_path);
  }
  std::vector<char*> argv;
  for (auto& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  // Block the forwarded signals until the child's pid is known, so that none is lost.
  sigset_t block, old;
  sigemptyset(&block);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&block, s);
  ::sigprocmask(SIG_BLOCK, &block, &old);
  struct sigaction sa {};
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &sa, nullptr);

  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  const pid_t child = ::fork();
  if (child < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (child == 0) {
    for (int s : {SIGINT, SIGTERM, SIGHUP}) ::signal(s, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    for (auto& [name, value] : plan.env) {
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
      else ::unsetenv(name.c_str());
    }
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "raympi: cannot start '%s': %s; %s\n", argv[0], std::strerror(errno),
                 plan.launcher == "srun" ? "install Slurm's client (apt-get install slurm-client) or set RAYMPI_LAUNCHER=mpirun"
                                         : "install Open MPI (apt-get install openmpi-bin) or put mpirun on PATH");
    std::fflush(stderr);
    ::_exit(127);
  }
  g_child = child;
  ::sigprocmask(SIG_SETMASK, &old, nullptr);

  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  g_child = 0;
  reap_orphans(g_forwarded ? 10.0 : 2.0);
  std::error_code ec;
  std::filesystem::remove_all(job_dir, ec);
  // Stopped by a forwarded signal: say so as a shell would (143 for SIGTERM).
  if (g_forwarded && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) return 128 + g_forwarded;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace raympi::launcher
