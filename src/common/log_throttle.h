// Rate-limits log lines per key, so that a client repeating a bad request (or a library repeating
// a complaint) costs one line per interval instead of flooding the log, while the count of the
// lines left out is still reported with the next one.
//
//   LogThrottle throttle(absl::Seconds(10));
//   throttle.Warn("too_large", "otlp http: refused a 20 MiB body");  // logged
//   throttle.Warn("too_large", "...");                                // suppressed, counted
//   // 10 s later: "otlp http: ... (1 more suppressed)"
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "spdlog/spdlog.h"

namespace teletrace {

class LogThrottle {
 public:
  // Keys beyond this many share one slot, so a caller that builds keys from client data cannot
  // grow the map without bound.
  static constexpr size_t kMaxKeys = 256;

  // At most one line per key per `interval`.
  explicit LogThrottle(absl::Duration interval = absl::Seconds(10)) : interval_(interval) {}
  LogThrottle(const LogThrottle&) = delete;
  LogThrottle& operator=(const LogThrottle&) = delete;

  // True when a line for `key` may be written at `now`: the first time, and once `interval` has
  // passed since the last admitted line. Then *suppressed is the number of lines refused for
  // `key` since that one (0 otherwise). False counts one suppressed line. Thread safe.
  bool Admit(std::string_view key, absl::Time now, uint64_t* suppressed) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = slots_.find(key);
    if (it == slots_.end()) {
      if (slots_.size() >= kMaxKeys) key = kOverflowKey;
      it = slots_.try_emplace(std::string(key)).first;
    }
    Slot& slot = it->second;
    if (now - slot.last < interval_) {
      ++slot.suppressed;
      return false;
    }
    slot.last = now;
    *suppressed = slot.suppressed;
    slot.suppressed = 0;
    return true;
  }

  // Writes `message` through spdlog at `level` when Admit(key, now) allows it, with
  // " (N more suppressed)" appended when lines were left out since the last one.
  void Log(spdlog::level::level_enum level, std::string_view key, std::string_view message,
           absl::Time now = absl::Now()) {
    uint64_t suppressed = 0;
    if (!Admit(key, now, &suppressed)) return;
    if (suppressed == 0) {
      spdlog::log(level, "{}", message);
    } else {
      spdlog::log(level, "{} ({} more suppressed)", message, suppressed);
    }
  }
  void Warn(std::string_view key, std::string_view message) {
    Log(spdlog::level::warn, key, message);
  }

 private:
  static constexpr std::string_view kOverflowKey = "\x01overflow";

  struct Slot {
    absl::Time last = absl::InfinitePast();  // so the first line is always admitted
    uint64_t suppressed = 0;
  };

  const absl::Duration interval_;
  std::mutex mu_;
  std::map<std::string, Slot, std::less<>> slots_;  // guarded by mu_
};

}  // namespace teletrace
