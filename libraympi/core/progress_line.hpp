#pragma once
// The progress line of a long get/wait in the driver (Config::progress,
// RAYMPI_PROGRESS): "raympi: get 12,345 / 100,000 objects (12.3%), 4,567/s, ETA 19 s".
//
// Passive: the waiter owns the blocking. It blocks on its condition variable
// until next_update() (never earlier than 2 s into the wait), then calls
// update() with the done count; finish() ends the line. Nothing runs, no
// thread and no timer, for a wait that ends before the line is due.
//
// On a terminal one line rewritten with '\r' about 4 times a second and a
// newline at the end; forced (Config::progress = 1) on anything else, plain
// newline-terminated lines every 2 s. Time is passed in, so tests drive it
// with their own clock; output goes to a sink (default: stderr).

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace raympi::detail {

class ProgressLine {
 public:
  using Clock = std::chrono::steady_clock;
  using Sink = std::function<void(std::string_view)>;

  enum class Mode { off, tty, plain };

  /// Waits on fewer objects than this never show a line.
  static constexpr std::size_t min_total = 1000;
  /// Nothing is shown before the wait has lasted this long.
  static constexpr std::chrono::milliseconds delay{2000};
  /// Between two updates: on a terminal, and in plain (non-terminal) output.
  static constexpr std::chrono::milliseconds tty_period{250};
  static constexpr std::chrono::milliseconds plain_period{2000};

  /// How a wait shows progress: `setting` is Config::progress (-1 auto, 0 off,
  /// 1 on); auto means only on a terminal.
  static Mode mode_for(int setting, bool stderr_is_tty);
  /// mode_for(setting, isatty(2)), without the isatty call where setting is 0.
  static Mode mode_for_stderr(int setting);
  /// Whether a wait on `total` objects with `setting` may show a line at all
  /// (cheap: no system call); the caller then asks mode_for_stderr.
  static bool may_show(int setting, std::size_t total) { return setting != 0 && total >= min_total; }

  /// A wait for `total` objects that began at `start` with `done_at_start`
  /// already there. `verb` names it ("get", "wait").
  ProgressLine(std::string verb, std::size_t total, Mode mode, Clock::time_point start, std::size_t done_at_start = 0,
               Sink sink = {});
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  /// When the waiter should next wake to call update: start + delay, then one
  /// period after the last update (max() once finished, or when off).
  Clock::time_point next_update() const;
  /// Shows `done` if an update is due at `now`; returns whether it printed.
  bool update(std::size_t done, Clock::time_point now);
  /// Ends the line (a last line with a newline) if one was shown; idempotent.
  void finish(std::size_t done, Clock::time_point now);
  /// Whether a line has been printed.
  bool shown() const { return shown_; }

  /// The text of one line (no '\r', no newline). `rate` in objects per second
  /// (<= 0: unknown); `elapsed_s` >= 0 makes it a final line ("done in" /
  /// "stopped after") instead of one with an ETA.
  static std::string format(std::string_view verb, std::size_t done, std::size_t total, double rate,
                            double elapsed_s = -1);
  /// 1234567 -> "1,234,567".
  static std::string group(std::size_t n);
  /// A duration for an ETA: "19 s", "3 min 05 s", "2 h 07 min".
  static std::string duration(double seconds);

 private:
  double rate(std::size_t done, Clock::time_point now) const;
  void emit(const std::string& text, bool final_line);

  std::string verb_;
  std::size_t total_;
  Mode mode_;
  Clock::time_point start_;
  std::size_t done_at_start_;
  Sink sink_;
  bool shown_ = false;
  bool finished_ = false;
  bool owns_terminal_ = false;  // this line holds the process-wide "one line at a time" claim
  std::size_t last_done_ = 0;
  std::size_t last_width_ = 0;
  Clock::time_point next_;  // when the next update is due
};

}  // namespace raympi::detail
