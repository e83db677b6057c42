// The progress line of long gets and waits in the driver (Config::progress,
// RAYMPI_PROGRESS; libraympi/core/progress_line.*).
//
// ProgressLine.*: the formatting, rate, ETA and timing logic with an injected
// clock and output sink, the mode choice, and RAYMPI_PROGRESS parsing.
// Progress.*: real gets and waits with RAYMPI_PROGRESS=1 (set by the test's
// ENV) and stderr captured into a file: a get / wait on 2,000 refs lasting ~3 s
// prints plain lines (stderr is not a terminal), done counts never go down; a
// get on 2,000 refs under 2 s and a get on 10 refs over 2 s print nothing.
// Runs at NP 1 and 3 with RAYMPI_NUM_CPUS=4.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <raympi/raympi.hpp>

#include "core/config.hpp"
#include "core/progress_line.hpp"
#include "test_support.hpp"

namespace {

using raympi::ObjectRef;
using raympi::detail::ProgressLine;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int sleep_then(int ms, int value) {
  std::this_thread::sleep_for(milliseconds(ms));
  return value;
}

}  // namespace

RAYMPI_REMOTE(sleep_then);

namespace {

// ---------------------------------------------------------------------------
// ProgressLine on its own.

struct Recorded {
  std::vector<std::string> writes;
  ProgressLine::Sink sink() {
    return [this](std::string_view s) { writes.emplace_back(s); };
  }
};

TEST(ProgressLine, FormatsCountsRateAndEta) {
  EXPECT_EQ(ProgressLine::group(0), "0");
  EXPECT_EQ(ProgressLine::group(999), "999");
  EXPECT_EQ(ProgressLine::group(1000), "1,000");
  EXPECT_EQ(ProgressLine::group(1234567), "1,234,567");
  EXPECT_EQ(ProgressLine::duration(0.2), "1 s");
  EXPECT_EQ(ProgressLine::duration(19), "19 s");
  EXPECT_EQ(ProgressLine::duration(125), "2 min 05 s");
  EXPECT_EQ(ProgressLine::duration(7260), "2 h 01 min");
  // 87,655 left at 4,567/s: 19.2 s, shown rounded up.
  EXPECT_EQ(ProgressLine::format("get", 12345, 100000, 4567.2),
            "raympi: get 12,345 / 100,000 objects (12.3%), 4,567/s, ETA 20 s");
  EXPECT_EQ(ProgressLine::format("wait", 0, 2000, 0), "raympi: wait 0 / 2,000 objects (0.0%), 0/s, ETA ?");
  EXPECT_EQ(ProgressLine::format("get", 1999, 2000, 2.5),
            "raympi: get 1,999 / 2,000 objects (99.9%), 2.5/s, ETA 1 s");
  EXPECT_EQ(ProgressLine::format("get", 2000, 2000, 650.4, 3.07),
            "raympi: get 2,000 / 2,000 objects (100.0%), 650/s, done in 3.1 s");
  EXPECT_EQ(ProgressLine::format("get", 1500, 2000, 500, 75),
            "raympi: get 1,500 / 2,000 objects (75.0%), 500/s, stopped after 1 min 15 s");
}

TEST(ProgressLine, ModeFollowsSettingAndTerminal) {
  EXPECT_EQ(ProgressLine::mode_for(-1, false), ProgressLine::Mode::off);
  EXPECT_EQ(ProgressLine::mode_for(-1, true), ProgressLine::Mode::tty);
  EXPECT_EQ(ProgressLine::mode_for(0, true), ProgressLine::Mode::off);
  EXPECT_EQ(ProgressLine::mode_for(0, false), ProgressLine::Mode::off);
  EXPECT_EQ(ProgressLine::mode_for(1, false), ProgressLine::Mode::plain);
  EXPECT_EQ(ProgressLine::mode_for(1, true), ProgressLine::Mode::tty);
  EXPECT_FALSE(ProgressLine::may_show(1, 999));
  EXPECT_FALSE(ProgressLine::may_show(0, 100000));
  EXPECT_TRUE(ProgressLine::may_show(-1, 1000));
}

TEST(ProgressLine, TerminalLineStartsAfterTwoSecondsAndUpdatesFourTimesASecond) {
  Recorded out;
  auto t0 = Clock::time_point{} + std::chrono::hours(1);
  ProgressLine line("get", 2000, ProgressLine::Mode::tty, t0, 0, out.sink());
  EXPECT_EQ(line.next_update(), t0 + milliseconds(2000));
  EXPECT_FALSE(line.update(500, t0 + milliseconds(1999)));
  ASSERT_TRUE(line.update(800, t0 + milliseconds(2000)));
  ASSERT_EQ(out.writes.size(), 1u);
  EXPECT_EQ(out.writes[0], "\rraympi: get 800 / 2,000 objects (40.0%), 400/s, ETA 3 s");
  EXPECT_EQ(line.next_update(), t0 + milliseconds(2250));
  // Over the next second: at most one line per 250 ms, whatever the caller does.
  int printed = 0;
  for (int ms = 2010; ms <= 3000; ms += 10) printed += line.update(800 + std::size_t(ms - 2000), t0 + milliseconds(ms));
  EXPECT_EQ(printed, 4);
  line.finish(2000, t0 + milliseconds(4000));
  ASSERT_EQ(out.writes.size(), 6u);
  const std::string& last = out.writes.back();
  EXPECT_EQ(last.front(), '\r');
  EXPECT_EQ(last.back(), '\n');
  EXPECT_NE(last.find("raympi: get 2,000 / 2,000 objects (100.0%), 500/s, done in 4.0 s"), std::string::npos) << last;
  for (std::size_t i = 0; i + 1 < out.writes.size(); ++i)
    EXPECT_EQ(out.writes[i].find('\n'), std::string::npos) << "an update ends the line: " << out.writes[i];
  line.finish(2000, t0 + milliseconds(5000));  // idempotent
  EXPECT_EQ(out.writes.size(), 6u);
}

TEST(ProgressLine, PlainLinesEveryTwoSecondsWithoutCarriageReturns) {
  Recorded out;
  auto t0 = Clock::time_point{} + std::chrono::hours(1);
  ProgressLine line("wait", 5000, ProgressLine::Mode::plain, t0, 1000, out.sink());
  int printed = 0;
  for (int ms = 0; ms <= 7000; ms += 50) printed += line.update(1000 + std::size_t(ms / 2), t0 + milliseconds(ms));
  EXPECT_EQ(printed, 3);  // at 2 s, 4 s, 6 s
  line.finish(3000, t0 + milliseconds(7000));
  ASSERT_EQ(out.writes.size(), 4u);
  for (auto& w : out.writes) {
    EXPECT_EQ(w.find('\r'), std::string::npos) << w;
    EXPECT_EQ(w.back(), '\n') << w;
  }
  // Rate counts only what arrived during the wait: (2,000 - 1,000) / 2 s.
  EXPECT_EQ(out.writes[0], "raympi: wait 2,000 / 5,000 objects (40.0%), 500/s, ETA 6 s\n");
  EXPECT_EQ(out.writes[3], "raympi: wait 4,500 / 5,000 objects (90.0%), 500/s, stopped after 7.0 s\n");
}

// What a terminal shows after `writes`: '\r' returns to the line's start, '\n' starts a new line.
std::vector<std::string> screen(const std::vector<std::string>& writes) {
  std::vector<std::string> lines(1);
  std::size_t col = 0;
  for (auto& w : writes)
    for (char c : w) {
      if (c == '\r') {
        col = 0;
      } else if (c == '\n') {
        lines.emplace_back();
        col = 0;
      } else {
        std::string& l = lines.back();
        if (col < l.size()) l[col] = c;
        else l += c;
        ++col;
      }
    }
  for (auto& l : lines) l.erase(l.find_last_not_of(' ') + 1);
  return lines;
}

TEST(ProgressLine, ShorterRewriteLeavesNothingOld) {
  Recorded out;
  auto t0 = Clock::time_point{} + std::chrono::hours(1);
  ProgressLine line("get", 100000, ProgressLine::Mode::tty, t0, 0, out.sink());
  ASSERT_TRUE(line.update(1000, t0 + milliseconds(2000)));
  EXPECT_EQ(screen(out.writes).back(), "raympi: get 1,000 / 100,000 objects (1.0%), 500/s, ETA 3 min 18 s");
  ASSERT_TRUE(line.update(90000, t0 + milliseconds(2250)));
  EXPECT_EQ(screen(out.writes).back(), "raympi: get 90,000 / 100,000 objects (90.0%), 40,000/s, ETA 1 s");
  line.finish(100000, t0 + milliseconds(2500));
  auto shown = screen(out.writes);
  ASSERT_EQ(shown.size(), 2u);  // one line, then the cursor on a fresh one
  EXPECT_EQ(shown[0], "raympi: get 100,000 / 100,000 objects (100.0%), 40,000/s, done in 2.5 s");
  EXPECT_EQ(shown[1], "");
}

TEST(ProgressLine, QuietForShortWaitsFewObjectsAndWhenOff) {
  auto t0 = Clock::time_point{} + std::chrono::hours(1);
  Recorded out;
  {
    ProgressLine fast("get", 2000, ProgressLine::Mode::tty, t0, 0, out.sink());
    EXPECT_FALSE(fast.update(1000, t0 + milliseconds(1500)));
    fast.finish(2000, t0 + milliseconds(1900));
  }
  {
    ProgressLine few("get", 999, ProgressLine::Mode::tty, t0, 0, out.sink());
    EXPECT_EQ(few.next_update(), Clock::time_point::max());
    EXPECT_FALSE(few.update(10, t0 + milliseconds(10000)));
    few.finish(999, t0 + milliseconds(11000));
  }
  {
    ProgressLine off("get", 100000, ProgressLine::Mode::off, t0, 0, out.sink());
    EXPECT_EQ(off.next_update(), Clock::time_point::max());
    EXPECT_FALSE(off.update(10, t0 + milliseconds(10000)));
  }
  EXPECT_TRUE(out.writes.empty());
}

TEST(ProgressLine, OneLineAtATime) {
  auto t0 = Clock::time_point{} + std::chrono::hours(1);
  Recorded a_out, b_out;
  {
    ProgressLine a("get", 2000, ProgressLine::Mode::tty, t0, 0, a_out.sink());
    ProgressLine b("get", 3000, ProgressLine::Mode::tty, t0, 0, b_out.sink());
    EXPECT_TRUE(a.update(100, t0 + milliseconds(2000)));
    EXPECT_FALSE(b.update(100, t0 + milliseconds(2000)));
    EXPECT_EQ(b.next_update(), t0 + milliseconds(2250));  // retries later, never in a loop
    a.finish(2000, t0 + milliseconds(2100));
    EXPECT_TRUE(b.update(200, t0 + milliseconds(2250)));
  }  // b's destructor ends its line
  EXPECT_EQ(a_out.writes.size(), 2u);
  ASSERT_EQ(b_out.writes.size(), 2u);
  EXPECT_EQ(b_out.writes.back().back(), '\n');
}

// RAYMPI_PROGRESS as resolve_config reads it (restored afterwards).
struct EnvGuard {
  explicit EnvGuard(const char* name) : name_(name) {
    if (const char* v = std::getenv(name)) saved_ = v, had_ = true;
  }
  ~EnvGuard() {
    if (had_) setenv(name_, saved_.c_str(), 1);
    else unsetenv(name_);
  }
  const char* name_;
  std::string saved_;
  bool had_ = false;
};

TEST(ProgressLine, ConfigReadsRaympiProgress) {
  EnvGuard guard("RAYMPI_PROGRESS");
  using raympi::detail::resolve_config;
  unsetenv("RAYMPI_PROGRESS");
  EXPECT_EQ(resolve_config({}).progress, -1);
  setenv("RAYMPI_PROGRESS", "0", 1);
  EXPECT_EQ(resolve_config({}).progress, 0);
  setenv("RAYMPI_PROGRESS", "1", 1);
  EXPECT_EQ(resolve_config({}).progress, 1);
  raympi::Config off;
  off.progress = 0;  // the code's setting wins over the variable
  EXPECT_EQ(resolve_config(off).progress, 0);
  for (const char* bad : {"yes", "2", "-1", "0.5"}) {
    setenv("RAYMPI_PROGRESS", bad, 1);
    try {
      resolve_config({});
      ADD_FAILURE() << "RAYMPI_PROGRESS=" << bad << " was accepted";
    } catch (const raympi::Error& e) {
      EXPECT_NE(std::string(e.what()).find("RAYMPI_PROGRESS"), std::string::npos) << e.what();
    }
  }
  unsetenv("RAYMPI_PROGRESS");
  raympi::Config two;
  two.progress = 2;
  EXPECT_THROW(resolve_config(two), raympi::Error);
}

// ---------------------------------------------------------------------------
// Real gets and waits, stderr captured.

// Sends fd 2 to a temporary file until stop(), which returns what was written.
class StderrCapture {
 public:
  StderrCapture() {
    char path[] = "/tmp/raympi_progress_XXXXXX";
    fd_ = mkstemp(path);
    path_ = path;
    std::fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    dup2(fd_, STDERR_FILENO);
  }
  std::string stop() {
    if (saved_ < 0) return text_;
    std::fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    close(fd_);
    saved_ = -1;
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    text_ = ss.str();
    unlink(path_.c_str());
    return text_;
  }
  ~StderrCapture() { stop(); }

 private:
  int fd_ = -1, saved_ = -1;
  std::string path_, text_;
};

double cpu_slots() { return std::max(1.0, raympi::cluster_resources()["CPU"]); }

// `n` tasks of `ms` milliseconds each.
std::vector<ObjectRef<int>> sleepers(int n, int ms) {
  std::vector<std::tuple<int, int>> calls;
  for (int i = 0; i < n; ++i) calls.emplace_back(ms, i);
  return raympi::task(sleep_then).remote_batch(calls);
}

// The done counts of the progress lines of `verb` in `text`, in order.
std::vector<long> done_counts(const std::string& text, const std::string& verb, const std::string& total) {
  std::vector<long> out;
  std::regex re("raympi: " + verb + " ([0-9,]+) / " + total + " objects");
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, re)) continue;
    std::string digits = m[1];
    digits.erase(std::remove(digits.begin(), digits.end(), ','), digits.end());
    out.push_back(std::stol(digits));
  }
  return out;
}

void expect_plain_progress(const std::string& text, const std::string& verb, double elapsed) {
  SCOPED_TRACE("captured stderr:\n" + text);
  ASSERT_GT(elapsed, 2.2) << "the tasks ran faster than planned; nothing to check";
  auto counts = done_counts(text, verb, "2,000");
  ASSERT_GE(counts.size(), 2u) << "expected a line after 2 s and a final one";
  EXPECT_TRUE(std::is_sorted(counts.begin(), counts.end())) << "done counts went down";
  EXPECT_EQ(counts.back(), 2000);
  EXPECT_NE(text.find("done in"), std::string::npos);
  EXPECT_EQ(text.find('\r'), std::string::npos) << "stderr is not a terminal: no carriage returns";
  // Plain lines come at most every 2 s (plus the final one).
  EXPECT_LE(double(counts.size()), elapsed / 2.0 + 2.0);
}

TEST(Progress, LongGetOnManyRefsPrintsLines) {
  // ~3 s of work whatever the number of CPU slots.
  int ms = int(std::lround(3000.0 * cpu_slots() / 2000.0));
  auto refs = sleepers(2000, ms);
  StderrCapture cap;
  auto t0 = Clock::now();
  std::vector<int> values = raympi::get(refs);
  double elapsed = raympi_test::seconds_since(t0);
  std::string text = cap.stop();
  ASSERT_EQ(values.size(), 2000u);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(values[std::size_t(i)], i);
  expect_plain_progress(text, "get", elapsed);
}

TEST(Progress, LongWaitOnManyRefsPrintsLines) {
  int ms = int(std::lround(3000.0 * cpu_slots() / 2000.0));
  auto refs = sleepers(2000, ms);
  StderrCapture cap;
  auto t0 = Clock::now();
  auto wr = raympi::wait(refs, refs.size());
  double elapsed = raympi_test::seconds_since(t0);
  std::string text = cap.stop();
  EXPECT_EQ(wr.ready.size(), 2000u);
  expect_plain_progress(text, "wait", elapsed);
}

TEST(Progress, ShortGetOnManyRefsPrintsNothing) {
  auto refs = sleepers(2000, 1);  // ~0.5 s of work on 4 slots
  StderrCapture cap;
  auto t0 = Clock::now();
  std::vector<int> values = raympi::get(refs);
  double elapsed = raympi_test::seconds_since(t0);
  std::string text = cap.stop();
  EXPECT_EQ(values.size(), 2000u);
  if (elapsed >= 1.9) GTEST_SKIP() << "2,000 empty tasks took " << elapsed << " s here; not a short get";
  EXPECT_EQ(text.find("raympi: get"), std::string::npos) << text;
}

TEST(Progress, LongGetOnFewRefsPrintsNothing) {
  // 10 tasks in ceil(10 / slots) rounds of equal length: ~2.4 s in all.
  int rounds = int(std::ceil(10.0 / cpu_slots()));
  auto refs = sleepers(10, 2400 / rounds);
  StderrCapture cap;
  auto t0 = Clock::now();
  std::vector<int> values = raympi::get(refs);
  double elapsed = raympi_test::seconds_since(t0);
  std::string text = cap.stop();
  EXPECT_EQ(values.size(), 10u);
  EXPECT_GT(elapsed, 2.0);
  EXPECT_EQ(text.find("raympi: get"), std::string::npos) << text;
}

}  // namespace
