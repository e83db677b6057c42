#include "run_job.hpp"

#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace raympi::launcher {

namespace {

volatile sig_atomic_t g_child = 0;

void forward(int sig) {
  if (g_child > 0) ::kill(pid_t(g_child), sig);
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
  std::error_code ec;
  std::filesystem::remove_all(job_dir, ec);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace raympi::launcher
