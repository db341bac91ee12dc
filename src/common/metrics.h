// A tiny Prometheus-style metrics registry: counters, gauges and fixed-bucket histograms, rendered
// as the Prometheus text exposition format for /metrics. Thread safe; metric objects live as long
// as the registry and are updated lock-free.
//
//   Metrics metrics;
//   Counter* accepted = metrics.AddCounter("teletrace_spans_accepted_total", "Spans stored",
//                                          {{"transport", "grpc"}});
//   accepted->Add(12);
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace teletrace {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Observations in seconds against fixed upper bounds.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  std::vector<double> bounds() const { return bounds_; }
  // Cumulative counts per bound (+Inf last), sum and count, read consistently enough for scraping.
  std::vector<uint64_t> CumulativeCounts() const;
  double Sum() const;
  uint64_t Count() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

class Metrics {
 public:
  Counter* AddCounter(const std::string& name, const std::string& help, Labels labels = {});
  // The counter registered under `name` and exactly `labels`, registering it on first use: for
  // label values known only at run time (refusal reasons). Linear in the number of metrics: keep
  // it off hot paths.
  Counter* CounterFor(const std::string& name, const std::string& help, Labels labels);
  Gauge* AddGauge(const std::string& name, const std::string& help, Labels labels = {});
  Histogram* AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds, Labels labels = {});
  // A gauge computed at scrape time (queue depth, database size).
  void AddCallbackGauge(const std::string& name, const std::string& help,
                        std::function<double()> fn, Labels labels = {});

  // Prometheus text format 0.0.4, metrics grouped by name in registration order.
  std::string Render() const;

 private:
  struct Entry {
    std::string name, help, type;
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> callback;
  };
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;  // guarded by mu_ (the vector, not the values)
};

}  // namespace teletrace
