// The storage contract, modeled on Jaeger's span store: a writer that makes spans durable and a
// reader that answers the query model. Every backend implements both and must pass the conformance
// suite (storage/testing/conformance_suite.h) against its real engine.
//
// What a backend must implement: WriteSpans, Search, GetTrace, SystemId, EnforceRetention,
// DiskBytes. The aggregations (TagKeys, TagValues, Statistics, Histograms) have a generic fallback:
// a backend that implements ScanSpans gets them answered by the engine's collectors over its scan
// (storage/scan_fallback.cc), exact and complete, and overrides each one it can push down to its
// engine. So a new backend passes the suite before its first aggregation is pushed down.
// Dependencies has a fallback over Search (storage/dependencies_fallback.cc), so any backend.
//
// Thread safety: every method may be called concurrently from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/settings.h"
#include "model/span.h"
#include "query/dependencies.h"
#include "query/query.h"

namespace teletrace::storage {

class Backend {
 public:
  virtual ~Backend() = default;

  // Stores every span of `batch`, stamped with `ingestion_time_unix_nano`. On OK every span is
  // durable (survives a crash of the process or machine). A span whose (trace id, span id) is
  // already stored is skipped: the first stored copy wins, so retries are harmless. On error the
  // caller must assume nothing was stored and may retry the whole batch.
  virtual absl::Status WriteSpans(model::SpanBatch batch, uint64_t ingestion_time_unix_nano) = 0;

  // WriteSpans in two steps, so the ingest pipeline can prepare one group of spans while the
  // previous one commits. PrepareWrite does the work that needs nothing stored (grouping, encoding)
  // and may run concurrently with any call, CommitWrite included; CommitWrite then stores exactly
  // what WriteSpans would have stored at that moment (spans stored since the prepare still win) and
  // has the same durability and errors. It is called once per prepared write, which the caller
  // destroys afterwards (the pipeline does so off the commit path: freeing a group's spans costs
  // as much as a good part of its commit). CommitWrite(*PrepareWrite(b, t)) is WriteSpans(b, t).
  // The defaults keep the batch and call WriteSpans.
  class PreparedWrite {
   public:
    virtual ~PreparedWrite() = default;
  };
  virtual std::unique_ptr<PreparedWrite> PrepareWrite(model::SpanBatch batch,
                                                      uint64_t ingestion_time_unix_nano);
  virtual absl::Status CommitWrite(PreparedWrite& prepared);

  // One page of spans matching `query`. No match is OK with an empty page.
  virtual absl::StatusOr<query::SearchResult> Search(const query::SearchQuery& query) = 0;

  // The trace's spans (all, or the requested page). An unknown trace is NotFound.
  virtual absl::StatusOr<query::TraceResult> GetTrace(const query::TraceQuery& query) = 0;

  // Calls `fn` with every stored span that starts in `range` (none = all) and matches `filters`,
  // once each, in any order; `fn` must not call back into the backend. The default is
  // Unimplemented: a backend that pushes every aggregation down need not scan.
  virtual absl::Status ScanSpans(const std::optional<query::TimeRange>& range,
                                 const std::vector<query::Filter>& filters,
                                 const std::function<void(const model::StoredSpan&)>& fn);

  // Aggregations. The defaults answer through ScanSpans and the engine's collectors.
  virtual absl::StatusOr<std::vector<query::TagInfo>> TagKeys(const query::TagKeysQuery& query);
  virtual absl::StatusOr<query::TagValuesResult> TagValues(const query::TagValuesQuery& query);
  // What TagValues answers for each query, in order. The default asks them one by one; a backend
  // that scans may answer them in one pass (the Jaeger API's operations of a service: span names
  // of the service, once per span kind).
  virtual absl::StatusOr<std::vector<query::TagValuesResult>> TagValuesOfEach(
      const std::vector<query::TagValuesQuery>& queries);
  virtual absl::StatusOr<query::StatisticsResult> Statistics(const query::StatisticsQuery& query);
  virtual absl::StatusOr<query::HistogramResult> Histograms(const query::HistogramQuery& query);

  // The Jaeger and Zipkin APIs' service and operation lists, over all stored data (their APIs take
  // no time range): every string service.name of a stored span, sorted; and the distinct (span
  // name, span kind) of the spans whose service.name is `service`, sorted. The defaults ask
  // TagValues (one query per kind for the operations). A backend may answer from a catalog kept
  // as it writes; it may then still list, for a bounded time, an operation whose spans retention
  // has just deleted, and never misses one that is stored.
  struct Operation {
    std::string name;
    model::SpanKind kind = model::SpanKind::kUnspecified;
    auto operator<=>(const Operation&) const = default;
  };
  virtual absl::StatusOr<std::vector<std::string>> Services();
  virtual absl::StatusOr<std::vector<Operation>> Operations(const std::string& service);

  // The calls between services (query/dependencies.h). The default reads the range's spans through
  // Search, newest first, at most query.max_examined of them, and joins them in memory: every
  // backend answers it, but it holds every span's ids and reads whole spans.
  virtual absl::StatusOr<query::DependenciesResult> Dependencies(
      const query::DependenciesQuery& query);

  // A UUID created once per data store and returned unchanged afterwards.
  virtual absl::StatusOr<std::string> SystemId() = 0;

  // Deletes data past the configured retention (age, size). Called periodically by the server from
  // a background thread; must not block WriteSpans for long.
  virtual absl::Status EnforceRetention() = 0;

  // Bytes the store occupies (for /metrics and the size cap), or 0 when unknown.
  virtual uint64_t DiskBytes() = 0;
};

// The distinct span names of backend.Operations(service), sorted.
absl::StatusOr<std::vector<std::string>> OperationNames(Backend& backend,
                                                        const std::string& service);

// Backend settings from the config file's `storage.<backend>` section, flattened to strings
// ("path" -> "./teletrace-data", "retention_max_age" -> "168h"). Factories reject unknown keys
// and bad values with InvalidArgument naming "storage.<backend>.<key>".
using BackendSettings = std::map<std::string, std::string>;
using BackendFactory =
    std::function<absl::StatusOr<std::unique_ptr<Backend>>(const BackendSettings& settings)>;

// What a backend declares to the server: its settings (keys relative to `storage.<name>`, with
// defaults and help; the server's --help, environment names and YAML/flag validation are built
// from them) and how to create it from them.
struct BackendDescriptor {
  std::vector<settings::Spec> settings;
  BackendFactory factory;
};

// Backends by name. Construct one, register the built-ins (server/backends.cc: one line per
// backend), create by name.
class BackendRegistry {
 public:
  void Register(std::string name, BackendDescriptor descriptor);
  // NotFound naming the backend and listing the registered ones when `name` is unknown.
  absl::StatusOr<std::unique_ptr<Backend>> Create(const std::string& name,
                                                  const BackendSettings& settings) const;
  std::vector<std::string> Names() const;
  const std::map<std::string, BackendDescriptor>& Backends() const { return backends_; }

 private:
  std::map<std::string, BackendDescriptor> backends_;
};

}  // namespace teletrace::storage
