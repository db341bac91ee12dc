#include "common/metrics.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "fmt/format.h"

namespace teletrace {
namespace {

std::string RenderLabels(const Labels& labels, const std::string& extra_key = "",
                         const std::string& extra_value = "") {
  Labels all = labels;
  if (!extra_key.empty()) all.emplace_back(extra_key, extra_value);
  if (all.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) out += ",";
    absl::StrAppend(&out, all[i].first, "=\"");
    for (char c : all[i].second) {
      if (c == '"' || c == '\\') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += "\"";
  }
  return out + "}";
}

// Shortest text that reads back as exactly `v` (absl::StrCat keeps only 6 digits, so a 256 MiB
// limit read 2.68435e+08), in the exposition format's spelling of the special values.
std::string FormatDouble(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  return fmt::format("{}", v);
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(std::max(0.0, value) * 1e6),
                        std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

double Histogram::Sum() const { return sum_micros_.load(std::memory_order_relaxed) / 1e6; }
uint64_t Histogram::Count() const { return count_.load(std::memory_order_relaxed); }

Counter* Metrics::AddCounter(const std::string& name, const std::string& help, Labels labels) {
  auto e = std::make_unique<Entry>();
  e->name = name, e->help = help, e->type = "counter", e->labels = std::move(labels);
  e->counter = std::make_unique<Counter>();
  Counter* c = e->counter.get();
  std::lock_guard lock(mu_);
  entries_.push_back(std::move(e));
  return c;
}

Counter* Metrics::CounterFor(const std::string& name, const std::string& help, Labels labels) {
  std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    if (e->counter != nullptr && e->name == name && e->labels == labels) return e->counter.get();
  }
  auto e = std::make_unique<Entry>();
  e->name = name, e->help = help, e->type = "counter", e->labels = std::move(labels);
  e->counter = std::make_unique<Counter>();
  Counter* c = e->counter.get();
  entries_.push_back(std::move(e));
  return c;
}

Gauge* Metrics::AddGauge(const std::string& name, const std::string& help, Labels labels) {
  auto e = std::make_unique<Entry>();
  e->name = name, e->help = help, e->type = "gauge", e->labels = std::move(labels);
  e->gauge = std::make_unique<Gauge>();
  Gauge* g = e->gauge.get();
  std::lock_guard lock(mu_);
  entries_.push_back(std::move(e));
  return g;
}

Histogram* Metrics::AddHistogram(const std::string& name, const std::string& help,
                                 std::vector<double> bounds, Labels labels) {
  auto e = std::make_unique<Entry>();
  e->name = name, e->help = help, e->type = "histogram", e->labels = std::move(labels);
  e->histogram = std::make_unique<Histogram>(std::move(bounds));
  Histogram* h = e->histogram.get();
  std::lock_guard lock(mu_);
  entries_.push_back(std::move(e));
  return h;
}

void Metrics::AddCallbackGauge(const std::string& name, const std::string& help,
                               std::function<double()> fn, Labels labels) {
  auto e = std::make_unique<Entry>();
  e->name = name, e->help = help, e->type = "gauge", e->labels = std::move(labels);
  e->callback = std::move(fn);
  std::lock_guard lock(mu_);
  entries_.push_back(std::move(e));
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  // Group samples by metric name, keeping first-registration order.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Entry*>> by_name;
  for (const auto& e : entries_) {
    if (by_name.find(e->name) == by_name.end()) order.push_back(e->name);
    by_name[e->name].push_back(e.get());
  }
  std::string out;
  for (const auto& name : order) {
    const auto& group = by_name[name];
    absl::StrAppend(&out, "# HELP ", name, " ", group[0]->help, "\n# TYPE ", name, " ",
                    group[0]->type, "\n");
    for (const Entry* e : group) {
      if (e->counter) {
        absl::StrAppend(&out, name, RenderLabels(e->labels), " ", e->counter->Value(), "\n");
      } else if (e->gauge) {
        absl::StrAppend(&out, name, RenderLabels(e->labels), " ", e->gauge->Value(), "\n");
      } else if (e->callback) {
        absl::StrAppend(&out, name, RenderLabels(e->labels), " ", FormatDouble(e->callback()),
                        "\n");
      } else if (e->histogram) {
        auto counts = e->histogram->CumulativeCounts();
        auto bounds = e->histogram->bounds();
        for (size_t i = 0; i < counts.size(); ++i) {
          std::string le = i < bounds.size() ? FormatDouble(bounds[i]) : "+Inf";
          absl::StrAppend(&out, name, "_bucket", RenderLabels(e->labels, "le", le), " ",
                          counts[i], "\n");
        }
        absl::StrAppend(&out, name, "_sum", RenderLabels(e->labels), " ",
                        FormatDouble(e->histogram->Sum()), "\n");
        absl::StrAppend(&out, name, "_count", RenderLabels(e->labels), " ",
                        e->histogram->Count(), "\n");
      }
    }
  }
  return out;
}

}  // namespace teletrace
