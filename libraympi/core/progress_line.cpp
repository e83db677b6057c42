#include "core/progress_line.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>

namespace raympi::detail {

namespace {

// One progress line on stderr at a time: a second long get (another driver
// thread) stays quiet until the first one's line has ended.
std::atomic<bool> g_line_busy{false};

void write_stderr(std::string_view s) {
  std::fwrite(s.data(), 1, s.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

ProgressLine::Mode ProgressLine::mode_for(int setting, bool stderr_is_tty) {
  if (setting == 0) return Mode::off;
  if (stderr_is_tty) return Mode::tty;
  return setting > 0 ? Mode::plain : Mode::off;
}

ProgressLine::Mode ProgressLine::mode_for_stderr(int setting) {
  if (setting == 0) return Mode::off;
  return mode_for(setting, ::isatty(STDERR_FILENO) == 1);
}

ProgressLine::ProgressLine(std::string verb, std::size_t total, Mode mode, Clock::time_point start,
                           std::size_t done_at_start, Sink sink)
    : verb_(std::move(verb)),
      total_(total),
      mode_(mode),
      start_(start),
      done_at_start_(done_at_start),
      sink_(sink ? std::move(sink) : Sink(write_stderr)),
      last_done_(done_at_start),
      next_(start + delay) {}

ProgressLine::~ProgressLine() {
  if (shown_ && !finished_) finish(last_done_, Clock::now());
  if (owns_terminal_) g_line_busy.store(false, std::memory_order_release);
}

ProgressLine::Clock::time_point ProgressLine::next_update() const {
  if (mode_ == Mode::off || finished_ || total_ < min_total) return Clock::time_point::max();
  return next_;
}

double ProgressLine::rate(std::size_t done, Clock::time_point now) const {
  double secs = std::chrono::duration<double>(now - start_).count();
  if (secs <= 0 || done <= done_at_start_) return 0;
  return double(done - done_at_start_) / secs;
}

bool ProgressLine::update(std::size_t done, Clock::time_point now) {
  done = std::min(done, total_);
  last_done_ = std::max(last_done_, done);
  if (now < next_update()) return false;
  next_ = now + (mode_ == Mode::tty ? tty_period : plain_period);  // also the retry when another line shows
  if (!owns_terminal_) {
    bool expected = false;
    if (!g_line_busy.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return false;
    owns_terminal_ = true;
  }
  emit(format(verb_, last_done_, total_, rate(last_done_, now)), false);
  return true;
}

void ProgressLine::finish(std::size_t done, Clock::time_point now) {
  if (finished_) return;
  finished_ = true;
  done = std::max(last_done_, std::min(done, total_));
  if (shown_) {
    double elapsed = std::max(0.0, std::chrono::duration<double>(now - start_).count());
    emit(format(verb_, done, total_, rate(done, now), elapsed), true);
  }
  if (owns_terminal_) {
    g_line_busy.store(false, std::memory_order_release);
    owns_terminal_ = false;
  }
}

void ProgressLine::emit(const std::string& text, bool final_line) {
  std::string out;
  if (mode_ == Mode::tty) {
    // Rewrite the line in place; blanks cover what a longer previous text left.
    out = "\r" + text;
    if (text.size() < last_width_) out.append(last_width_ - text.size(), ' ');
    last_width_ = text.size();
    if (final_line) out += '\n';
  } else {
    out = text + '\n';
  }
  shown_ = true;
  sink_(out);
}

std::string ProgressLine::group(std::size_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string ProgressLine::duration(double seconds) {
  char buf[48];
  if (!(seconds >= 0) || seconds > 1e9) return "?";
  auto s = static_cast<long long>(std::ceil(seconds));
  if (s < 60) std::snprintf(buf, sizeof buf, "%lld s", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%lld min %02lld s", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lld h %02lld min", s / 3600, (s % 3600) / 60);
  return buf;
}

std::string ProgressLine::format(std::string_view verb, std::size_t done, std::size_t total, double rate,
                                 double elapsed_s) {
  char buf[64];
  // Rounded down: 99.96 % shows as 99.9 %, not 100.0 %, until the last object.
  double pct = total ? std::floor(double(done) * 1000.0 / double(total)) / 10.0 : 100.0;
  std::string out = "raympi: ";
  out.append(verb);
  out += ' ' + group(done) + " / " + group(total) + " objects (";
  std::snprintf(buf, sizeof buf, "%.1f%%), ", pct);
  out += buf;
  if (rate > 0 && rate < 10) {
    std::snprintf(buf, sizeof buf, "%.1f/s", rate);
    out += buf;
  } else {
    out += group(rate > 0 ? static_cast<std::size_t>(std::llround(rate)) : 0) + "/s";
  }
  if (elapsed_s >= 0) {
    if (elapsed_s < 60) std::snprintf(buf, sizeof buf, "%.1f s", elapsed_s);
    else std::snprintf(buf, sizeof buf, "%s", duration(elapsed_s).c_str());
    out += done >= total ? ", done in " : ", stopped after ";
    out += buf;
  } else {
    out += ", ETA ";
    out += rate > 0 ? duration(double(total - std::min(done, total)) / rate) : std::string("?");
  }
  return out;
}

}  // namespace raympi::detail
