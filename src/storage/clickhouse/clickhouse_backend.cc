#include "storage/clickhouse/clickhouse_backend.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "common/status_macros.h"
#include "common/uuid.h"
#include "common/time_util.h"
#include "fmt/format.h"
#include "query/duration_sketch.h"
#include "query/engine.h"
#include "query/intrinsics.h"
#include "query/percentile.h"
#include "query/range_count.h"
#include "query/values.h"
#include "spdlog/spdlog.h"
#include "storage/clickhouse/clickhouse_http.h"
#include "storage/clickhouse/clickhouse_settings.h"
#include "storage/clickhouse/query_sql.h"
#include "storage/clickhouse/row_binary.h"
#include "storage/clickhouse/schema.h"
#include "storage/clickhouse/server_version.h"
#include "storage/clickhouse/span_rows.h"
#include "storage/clickhouse/sql_literal.h"

namespace teletrace::storage::clickhouse {
namespace {

using model::StoredSpan;
using SpanKey = std::pair<TraceId, SpanId>;

constexpr uint64_t kNanosPerDay = uint64_t{86400} * 1000000000;
// The tables partitioned by start day, whose days retention drops together.
constexpr std::array<std::string_view, 3> kDailyTables = {"spans", "trace_index", "tag_keys"};
// Ids per IN list when checking which spans are already stored; keeps each statement well under
// the max_query_size we send.
constexpr size_t kIdsPerLookup = 5000;

template <size_t N>
std::array<uint8_t, N> ToId(std::string_view bytes) {
  std::array<uint8_t, N> id{};
  IdFromBytes(bytes, &id);
  return id;
}

std::string SortColumn(const query::Sort& sort) {
  return sort.field == query::SortField::kStartTime ? "start_time_unix_nano" : "duration_nano";
}

// Spans strictly after `after` in the order (sort value, trace id, span id), direction applied.
std::string AfterCondition(const query::Sort& sort, const query::Cursor& after) {
  const char* op = sort.ascending ? ">" : "<";
  const std::string column = SortColumn(sort);
  const std::string value = SqlUInt(after.sort_value);
  const std::string trace = SqlBytes(IdBytes(after.trace_id));
  const std::string span = SqlBytes(IdBytes(after.span_id));
  return fmt::format(
      "({c} {op} {v} OR ({c} = {v} AND (trace_id {op} {t} OR (trace_id = {t} AND span_id {op} "
      "{s}))))",
      fmt::arg("c", column), fmt::arg("op", op), fmt::arg("v", value), fmt::arg("t", trace),
      fmt::arg("s", span));
}

std::string InList(const std::vector<std::string>& literals) {
  return fmt::format("({})", fmt::join(literals, ", "));
}

class ClickHouseBackend : public Backend {
 public:
  explicit ClickHouseBackend(ClickHouseSettings settings)
      : settings_(std::move(settings)),
        http_(HttpOptions{settings_.endpoints, settings_.user, settings_.password,
                          settings_.tls_ca_file, settings_.request_timeout_nano}),
        db_(settings_.database),
        local_suffix_(settings_.cluster.empty() ? "" : "_local") {
    read_settings_ = {{"max_query_size", "67108864"}};
    if (!settings_.cluster.empty()) {
      // Reads and inserts go to the same (first live) replica of each shard, so a search sees
      // what was just acknowledged, and the insert's check for stored spans sees earlier inserts;
      // a replica lagging by more than a second (one just restarted) is skipped for reads.
      read_settings_["load_balancing"] = "in_order";
      read_settings_["max_replica_delay_for_distributed_queries"] = "1";
    }
    write_settings_ = read_settings_;
    if (!settings_.cluster.empty()) {
      // The Distributed table forwards the rows to their shards before answering, so OK means the
      // shards stored them, not that they wait in a local queue.
      write_settings_["insert_distributed_sync"] = "1";
    }
  }

  absl::Status EnsureSchema();

  absl::Status WriteSpans(model::SpanBatch batch, uint64_t ingestion_time_unix_nano) override;
  absl::StatusOr<query::SearchResult> Search(const query::SearchQuery& query) override;
  absl::StatusOr<query::TraceResult> GetTrace(const query::TraceQuery& query) override;
  absl::StatusOr<std::vector<query::TagInfo>> TagKeys(const query::TagKeysQuery& query) override;
  absl::StatusOr<query::TagValuesResult> TagValues(const query::TagValuesQuery& query) override;
  absl::StatusOr<query::StatisticsResult> Statistics(const query::StatisticsQuery& query) override;
  absl::StatusOr<query::HistogramResult> Histograms(const query::HistogramQuery& query) override;
  absl::StatusOr<query::DependenciesResult> Dependencies(
      const query::DependenciesQuery& query) override;
  absl::StatusOr<std::vector<std::string>> Services() override;
  absl::StatusOr<std::vector<Operation>> Operations(const std::string& service) override;
  absl::StatusOr<std::string> SystemId() override;
  absl::Status EnforceRetention() override;
  uint64_t DiskBytes() override;

 private:
  struct WriteRequest {
    std::vector<StoredSpan> spans;
    absl::Status status;
    bool done = false;
  };

  std::string Table(std::string_view name) const { return fmt::format("{}.{}", db_, name); }
  std::string LocalTable(std::string_view name) const {
    return fmt::format("{}.{}{}", db_, name, local_suffix_);
  }
  std::string OnCluster() const {
    return settings_.cluster.empty() ? "" : fmt::format(" ON CLUSTER {}", settings_.cluster);
  }

  absl::StatusOr<std::string> Select(const std::string& sql, std::string_view what) {
    RETURN_IF_ERROR(EnsureSchema());
    return http_.Execute(sql + " FORMAT RowBinary", {}, what, read_settings_);
  }

  // What DurationsByGroup reads of one group's durations.
  struct Durations {
    uint64_t count;
    double sum, min, max;
    query::DurationSketch sketch;
    // The approximate value of percentile `p` (> 0) of a non-empty group.
    double Percentile(double p) const {
      return query::ApproximateRank(sketch, query::NearestRankIndex(count, p), min, max);
    }
  };
  // (time bucket, group value as TaggedValuesExpr writes it, or "").
  using DurationGroup = std::pair<uint64_t, std::string>;
  absl::StatusOr<std::optional<std::map<DurationGroup, Durations>>> DurationsByGroup(
      const std::string& bucket, const std::string& tagged_values, const SpanSource& spans,
      const std::string& values, std::string_view what);
  absl::StatusOr<KeyTypesMap> KnownTypes(std::vector<query::Key> keys,
                                         const std::vector<query::Filter>& filters,
                                         const std::optional<query::TimeRange>& range);

  absl::Status InsertGroup(const std::vector<WriteRequest*>& group);
  absl::StatusOr<std::set<SpanKey>> StoredAmong(const std::vector<const StoredSpan*>& spans);
  absl::StatusOr<std::vector<StoredSpan>> FetchSpans(const std::string& sql, std::string_view what);
  absl::StatusOr<std::vector<uint16_t>> PartitionDays(std::string_view table,
                                                      std::optional<uint16_t> before_day);
  absl::Status DropDay(uint16_t day);
  absl::StatusOr<uint64_t> MeasureBytes();

  const ClickHouseSettings settings_;
  ClickHouseHttp http_;
  const std::string db_;
  const std::string local_suffix_;
  QuerySettings read_settings_;
  QuerySettings write_settings_;

  std::mutex schema_mu_;
  bool schema_ready_ = false;  // guarded by schema_mu_
  // Where spans stored before migration 002's view may be (none when the database was created with
  // it): ingested before `untracked_before_` and starting no later than `untracked_until_`
  // (nanoseconds). Written once, by the first EnsureSchema that succeeds.
  uint64_t untracked_before_ = 0, untracked_until_ = 0;

  std::mutex system_id_mu_;
  std::string system_id_;  // guarded by system_id_mu_; empty until read

  // Group commit: requests wait in pending_; one caller at a time (the leader) inserts everything
  // pending, at most one INSERT start per flush_interval.
  std::mutex write_mu_;
  std::condition_variable write_cv_;
  std::deque<WriteRequest*> pending_;  // guarded by write_mu_
  size_t pending_spans_ = 0;           // guarded by write_mu_
  bool flushing_ = false;              // guarded by write_mu_
  std::chrono::steady_clock::time_point last_flush_start_{};  // guarded by write_mu_

  std::mutex retention_mu_;  // one retention pass at a time
};

absl::Status ClickHouseBackend::EnsureSchema() {
  std::lock_guard<std::mutex> lock(schema_mu_);
  if (schema_ready_) return absl::OkStatus();
  // The version decides what the DDL may carry (server_version.h), so it is read at every
  // connect: the server may have been upgraded since this database was created.
  ASSIGN_OR_RETURN(ServerVersion version, DetectServerVersion(http_));
  VersionSettings for_version = SettingsForVersion(version, !settings_.cluster.empty());
  RETURN_IF_ERROR(ApplyMigrations(http_, SchemaOptions{db_, settings_.cluster,
                                                       for_version.low_cardinality,
                                                       std::move(for_version.ddl_settings),
                                                       for_version.skip_indices}));
  // A database created before migration 002 recorded version 1 earlier than version 2 (a new one
  // records both in one run). Its spans from before the upgrade are not in tag_keys: those
  // ingested up to an hour after it (for clock skew between Teletrace and ClickHouse) and starting
  // up to a day after it, which retention removes in time.
  ASSIGN_OR_RETURN(std::string history,
                   http_.Execute(fmt::format("SELECT toUInt64(maxIf(applied_at, version = 1)), "
                                             "toUInt64(maxIf(applied_at, version = 2)) FROM "
                                             "{}.schema_migrations FORMAT RowBinary",
                                             db_),
                                 {}, "read schema history", read_settings_));
  RowBinaryReader r(history);
  ASSIGN_OR_RETURN(uint64_t created, r.UInt64());
  ASSIGN_OR_RETURN(uint64_t upgraded, r.UInt64());
  if (upgraded > created + 60) {
    untracked_before_ = (upgraded + 3600) * 1000000000;
    untracked_until_ = (upgraded / 86400 + 2) * kNanosPerDay - 1;
  }
  spdlog::info("clickhouse: server version {}, database {} ready", version.ToString(), db_);
  schema_ready_ = true;
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Writes.

absl::Status ClickHouseBackend::WriteSpans(model::SpanBatch batch,
                                           uint64_t ingestion_time_unix_nano) {
  if (batch.SpanCount() == 0) return absl::OkStatus();
  RETURN_IF_ERROR(EnsureSchema());
  WriteRequest request;
  request.spans = model::Flatten(std::move(batch), ingestion_time_unix_nano);
  const auto interval = std::chrono::nanoseconds(settings_.flush_interval_nano);

  std::unique_lock<std::mutex> lock(write_mu_);
  pending_.push_back(&request);
  pending_spans_ += request.spans.size();
  write_cv_.notify_all();
  while (!request.done) {
    const auto now = std::chrono::steady_clock::now();
    const bool due = now >= last_flush_start_ + interval ||
                     pending_spans_ >= settings_.insert_batch_spans;
    if (!flushing_ && due && !pending_.empty()) {
      std::vector<WriteRequest*> group(pending_.begin(), pending_.end());
      pending_.clear();
      pending_spans_ = 0;
      flushing_ = true;
      last_flush_start_ = now;
      lock.unlock();
      absl::Status status = InsertGroup(group);
      lock.lock();
      for (WriteRequest* r : group) {
        r->status = status;
        r->done = true;
      }
      flushing_ = false;
      write_cv_.notify_all();
    } else if (flushing_) {
      write_cv_.wait(lock);
    } else {
      write_cv_.wait_until(lock, last_flush_start_ + interval);
    }
  }
  return request.status;
}

absl::StatusOr<std::set<SpanKey>> ClickHouseBackend::StoredAmong(
    const std::vector<const StoredSpan*>& spans) {
  std::set<SpanKey> stored;
  std::set<TraceId> traces;
  for (const StoredSpan* s : spans) traces.insert(s->span.trace_id);
  // Which of the traces already have spans, and when they start: the trace index answers this
  // from its primary key, and most batches bring mostly new traces.
  std::vector<TraceId> known;
  uint64_t min_start = UINT64_MAX;
  uint64_t max_start = 0;
  std::vector<std::string> ids;
  auto flush_lookup = [&]() -> absl::Status {
    if (ids.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(
        std::string body,
        http_.Execute(fmt::format("SELECT trace_id, min(start_min), max(start_max) FROM {} WHERE "
                                  "trace_id IN {} GROUP BY trace_id FORMAT RowBinary",
                                  Table("trace_index"), InList(ids)),
                      {}, "look up stored traces", read_settings_));
    ids.clear();
    RowBinaryReader r(body);
    while (!r.AtEnd()) {
      ASSIGN_OR_RETURN(std::string_view trace, r.Fixed(16));
      ASSIGN_OR_RETURN(uint64_t lo, r.UInt64());
      ASSIGN_OR_RETURN(uint64_t hi, r.UInt64());
      known.push_back(ToId<16>(trace));
      min_start = std::min(min_start, lo);
      max_start = std::max(max_start, hi);
    }
    return absl::OkStatus();
  };
  for (const TraceId& t : traces) {
    ids.push_back(SqlBytes(IdBytes(t)));
    if (ids.size() >= kIdsPerLookup) RETURN_IF_ERROR(flush_lookup());
  }
  RETURN_IF_ERROR(flush_lookup());
  if (known.empty()) return stored;

  for (size_t i = 0; i < known.size(); i += kIdsPerLookup) {
    std::vector<std::string> chunk;
    for (size_t j = i; j < std::min(known.size(), i + kIdsPerLookup); ++j) {
      chunk.push_back(SqlBytes(IdBytes(known[j])));
    }
    ASSIGN_OR_RETURN(
        std::string body,
        http_.Execute(fmt::format("SELECT trace_id, span_id FROM {} WHERE {} AND trace_id IN {} "
                                  "FORMAT RowBinary",
                                  Table("spans"),
                                  RangeCondition(query::TimeRange{min_start, max_start}),
                                  InList(chunk)),
                      {}, "look up stored spans", read_settings_));
    RowBinaryReader r(body);
    while (!r.AtEnd()) {
      ASSIGN_OR_RETURN(std::string_view trace, r.Fixed(16));
      ASSIGN_OR_RETURN(std::string_view span, r.Fixed(8));
      stored.emplace(ToId<16>(trace), ToId<8>(span));
    }
  }
  return stored;
}

absl::Status ClickHouseBackend::InsertGroup(const std::vector<WriteRequest*>& group) {
  // The first copy of a span wins: earlier requests first, and within a request the batch order.
  std::vector<const StoredSpan*> spans;
  std::set<SpanKey> seen;
  for (WriteRequest* r : group) {
    for (const StoredSpan& s : r->spans) {
      if (seen.emplace(s.span.trace_id, s.span.span_id).second) spans.push_back(&s);
    }
  }
  ASSIGN_OR_RETURN(std::set<SpanKey> stored, StoredAmong(spans));
  std::vector<const StoredSpan*> fresh;
  fresh.reserve(spans.size());
  for (const StoredSpan* s : spans) {
    if (!stored.contains({s->span.trace_id, s->span.span_id})) fresh.push_back(s);
  }
  const std::string statement =
      fmt::format("INSERT INTO {} {} FORMAT RowBinary", Table("spans"), SpanInsertColumns());
  for (size_t i = 0; i < fresh.size(); i += settings_.insert_batch_spans) {
    const size_t end = std::min(fresh.size(), i + settings_.insert_batch_spans);
    RowBinaryWriter rows;
    for (size_t j = i; j < end; ++j) {
      RETURN_IF_ERROR(AppendSpanRow(*fresh[j], rows));
      // Room for the rest at the first row's size and a quarter more: the rows (~1.5 KB a span)
      // are then not copied each time the buffer doubles.
      if (j == i) rows.Reserve(rows.data().size() * (end - i) * 5 / 4);
    }
    ASSIGN_OR_RETURN(std::string ignored,
                     http_.Execute(statement, rows.data(),
                                   fmt::format("insert {} spans into {}", end - i, Table("spans")),
                                   write_settings_));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Reads.

absl::StatusOr<std::vector<StoredSpan>> ClickHouseBackend::FetchSpans(const std::string& sql,
                                                                      std::string_view what) {
  ASSIGN_OR_RETURN(std::string body, Select(sql, what));
  std::vector<StoredSpan> out;
  RowBinaryReader r(body);
  while (!r.AtEnd()) {
    ASSIGN_OR_RETURN(std::string_view blob, r.String());
    ASSIGN_OR_RETURN(StoredSpan span, DecodeSpanColumn(blob));
    out.push_back(std::move(span));
  }
  return out;
}

absl::StatusOr<query::SearchResult> ClickHouseBackend::Search(const query::SearchQuery& q) {
  const size_t page_size = std::max<size_t>(q.page_size, 1);
  const char* dir = q.sort.ascending ? "ASC" : "DESC";
  struct Position {
    uint64_t start;
    SpanKey key;
  };
  std::vector<Position> positions;
  // The types of the filters' keys (tag_keys): numbers and bools are compared in attr_int and
  // attr_dbl, and only those their keys use are read (strings read attr_str alone). And a filter
  // that needs a held value (query::NeedsHeldValue) matches nothing when no span of the range
  // holds its key: the page is empty without reading a span. A Jaeger tag search asks its key at
  // four levels, of which usually one holds it; the other three cost a lookup instead of three
  // slices each.
  std::vector<query::Filter> looked_up;
  std::copy_if(q.filters.begin(), q.filters.end(), std::back_inserter(looked_up),
               [](const query::Filter& f) {
                 auto non_string = [](const query::Scalar& v) {
                   return !std::holds_alternative<std::string>(v);
                 };
                 return query::NeedsHeldValue(f) ||
                        (f.value.has_value() && non_string(*f.value)) ||
                        std::any_of(f.values.begin(), f.values.end(), non_string);
               });
  ASSIGN_OR_RETURN(KeyTypesMap types, KnownTypes({}, looked_up, q.range));
  for (const query::Filter& f : q.filters) {
    if (!query::NeedsHeldValue(f)) continue;
    // Absent when nothing is known (the range reaches spans stored before tag_keys).
    auto known = types.find(AttrKeyEntry(f.key));
    if (known != types.end() && known->second.scalars == 0) return query::SearchResult{};
  }
  // First the page's positions (narrow columns), then the encoded spans of just those rows:
  // ClickHouse would otherwise read the wide span column of every matching row to sort them.
  // Appends at most `limit` rows of `range`, in the page's order.
  auto read_positions = [&](const query::TimeRange& range, size_t limit) -> absl::Status {
    const SpanSource spans = SpansMatching(
        Table("spans"), range, q.filters,
        q.after.has_value() ? AfterCondition(q.sort, *q.after) : std::string(), types);
    ASSIGN_OR_RETURN(
        std::string body,
        Select(fmt::format("SELECT start_time_unix_nano, trace_id, span_id FROM {} {} ORDER BY "
                           "{c} {d}, trace_id {d}, span_id {d} LIMIT {n}",
                           spans.from, spans.where, fmt::arg("c", SortColumn(q.sort)),
                           fmt::arg("d", dir), fmt::arg("n", limit)),
               "search"));
    RowBinaryReader r(body);
    while (!r.AtEnd()) {
      ASSIGN_OR_RETURN(uint64_t start, r.UInt64());
      ASSIGN_OR_RETURN(std::string_view trace, r.Fixed(16));
      ASSIGN_OR_RETURN(std::string_view span, r.Fixed(8));
      positions.push_back(Position{start, {ToId<16>(trace), ToId<8>(span)}});
    }
    return absl::OkStatus();
  };
  // Sorted by start time, the page lies at the range's newest (oldest) end, where the cursor is:
  // the range is read in slices from that end, each next to the one before and 8 times the span
  // of all before it (a 64th of the range, then the rest of the first eighth, then the rest),
  // until a page is found. Every span of a slice sorts before every span of the next, so the page
  // is the slices' rows in order. In a table ordered by start time (new stores) ClickHouse reads
  // only a slice's granules, and a filter few spans match costs one read of the range.
  const size_t want = page_size + 1;
  uint64_t from = q.range.start_unix_nano, to = q.range.end_unix_nano;
  if (q.after.has_value()) {
    if (q.sort.ascending) from = std::max(from, q.after->sort_value);
    else to = std::min(to, q.after->sort_value);
  }
  const uint64_t extent = from < to && to != UINT64_MAX ? to - from : 0;
  const uint64_t first = q.sort.field == query::SortField::kStartTime ? extent / 64 : 0;
  if (first == 0) {
    RETURN_IF_ERROR(read_positions(q.range, want));
  } else {
    // `covered`: how far from the sorted end the slices read so far reach.
    for (uint64_t covered = 0; positions.size() < want && covered < extent;) {
      // The third slice reaches the range's far end: `covered * 8` again (once `extent / 8` was
      // passed, the test used before) left the last `extent % 64` ns to a fourth statement.
      const uint64_t reach = covered == 0 ? first : covered == first ? first * 8 : extent;
      query::TimeRange slice = q.range;
      if (q.sort.ascending) {
        if (covered > 0) slice.start_unix_nano = from + covered + 1;
        if (reach < extent) slice.end_unix_nano = from + reach;
      } else {
        if (covered > 0) slice.end_unix_nano = to - covered - 1;
        if (reach < extent) slice.start_unix_nano = to - reach;
      }
      RETURN_IF_ERROR(read_positions(slice, want - positions.size()));
      covered = reach;
    }
  }
  query::SearchResult result;
  const bool more = positions.size() > page_size;
  if (more) positions.resize(page_size);
  if (positions.empty()) return result;

  uint64_t lo = UINT64_MAX;
  uint64_t hi = 0;
  std::set<TraceId> traces;
  std::set<SpanId> span_ids;
  for (const Position& p : positions) {
    lo = std::min(lo, p.start);
    hi = std::max(hi, p.start);
    traces.insert(p.key.first);
    span_ids.insert(p.key.second);
  }
  std::vector<std::string> trace_literals, span_literals;
  for (const TraceId& t : traces) trace_literals.push_back(SqlBytes(IdBytes(t)));
  for (const SpanId& s : span_ids) span_literals.push_back(SqlBytes(IdBytes(s)));
  ASSIGN_OR_RETURN(std::vector<StoredSpan> spans,
                   FetchSpans(fmt::format("SELECT span FROM {} PREWHERE trace_id IN {} AND "
                                          "span_id IN {} WHERE {}",
                                          Table("spans"), InList(trace_literals),
                                          InList(span_literals), RangeCondition({lo, hi})),
                              "search: read spans"));
  std::map<SpanKey, StoredSpan> by_key;
  for (StoredSpan& s : spans) {
    by_key.emplace(SpanKey{s.span.trace_id, s.span.span_id}, std::move(s));
  }
  for (const Position& p : positions) {
    auto it = by_key.find(p.key);
    if (it == by_key.end()) continue;  // dropped by retention between the two statements
    result.spans.push_back(it->second);
  }
  if (more && !result.spans.empty()) result.next = query::PositionOf(q.sort, result.spans.back());
  return result;
}

absl::StatusOr<query::TraceResult> ClickHouseBackend::GetTrace(const query::TraceQuery& q) {
  const std::string trace = SqlBytes(IdBytes(q.trace_id));
  ASSIGN_OR_RETURN(std::string body,
                   Select(fmt::format("SELECT min(start_min), max(start_max), count() FROM {} "
                                      "WHERE trace_id = {}",
                                      Table("trace_index"), trace),
                          "get trace: look up"));
  RowBinaryReader r(body);
  ASSIGN_OR_RETURN(uint64_t lo, r.UInt64());
  ASSIGN_OR_RETURN(uint64_t hi, r.UInt64());
  ASSIGN_OR_RETURN(uint64_t rows, r.UInt64());
  const auto not_found = [&] {
    return absl::NotFoundError(fmt::format("trace {} not found", ToHex(q.trace_id)));
  };
  if (rows == 0) return not_found();
  // PREWHERE: the wide span column is read only where the trace id matches. Left to itself,
  // ClickHouse 18.16 moves the narrowest condition (start_date's) to PREWHERE instead and reads the
  // span column of every row in the range (~0.6 s instead of ~0.08 s at 1M spans an hour).
  std::string where =
      fmt::format("PREWHERE trace_id = {} WHERE {}", trace, RangeCondition({lo, hi}));
  if (q.after.has_value()) {
    where += fmt::format(
        " AND (start_time_unix_nano > {v} OR (start_time_unix_nano = {v} AND span_id > {s}))",
        fmt::arg("v", SqlUInt(q.after->sort_value)),
        fmt::arg("s", SqlBytes(IdBytes(q.after->span_id))));
  }
  std::string limit = q.page_size > 0 ? fmt::format(" LIMIT {}", q.page_size + 1) : "";
  ASSIGN_OR_RETURN(std::vector<StoredSpan> spans,
                   FetchSpans(fmt::format("SELECT span FROM {} {} ORDER BY start_time_unix_nano, "
                                          "span_id{}",
                                          Table("spans"), where, limit),
                              "get trace"));
  if (spans.empty() && !q.after.has_value()) return not_found();
  query::TraceCollector collector(q);
  for (StoredSpan& s : spans) collector.Add(std::move(s));
  return std::move(collector).Finish();
}

// The types of the attribute keys among `keys` and the filters' in `range`, from the tag_keys table
// (a few rows per day and key; KeyTypes), so that statements read only the value columns those
// keys use. Nothing is known (every type possible) when the range reaches spans stored before the
// table existed. A span being inserted meanwhile may show in the spans table before its tag_keys
// rows: a statement then misses it, as if it had run a moment earlier.
absl::StatusOr<KeyTypesMap> ClickHouseBackend::KnownTypes(
    std::vector<query::Key> keys, const std::vector<query::Filter>& filters,
    const std::optional<query::TimeRange>& range) {
  RETURN_IF_ERROR(EnsureSchema());  // first: it sets untracked_before_ and untracked_until_
  for (const query::Filter& f : filters) keys.push_back(f.key);
  std::erase_if(keys, [](const query::Key& k) { return k.level == query::KeyLevel::kIntrinsic; });
  KeyTypesMap types;
  if (keys.empty() ||
      (untracked_before_ > 0 && (!range || range->start_unix_nano <= untracked_until_))) {
    return types;
  }
  for (const query::Key& k : keys) types[AttrKeyEntry(k)].scalars = 0;
  ASSIGN_OR_RETURN(std::string body,
                   Select(KeyTypesSql(Table("tag_keys"), keys, range), "attribute key types"));
  RowBinaryReader r(body);
  while (!r.AtEnd()) {
    ASSIGN_OR_RETURN(std::string_view key, r.String());
    ASSIGN_OR_RETURN(uint8_t type, r.UInt8());
    auto it = types.find(key);
    if (it == types.end() || type >= 32) continue;
    it->second.scalars |= uint32_t{1} << type;
  }
  return types;
}

absl::StatusOr<std::vector<query::TagInfo>> ClickHouseBackend::TagKeys(
    const query::TagKeysQuery& q) {
  RETURN_IF_ERROR(EnsureSchema());  // first: it sets untracked_before_ and untracked_until_
  // Over all stored data, the tag_keys table's few rows per day (migration 002), and the spans
  // stored before it from their arrays; in a range, the spans' own arrays.
  std::vector<std::string> statements;
  if (q.range) {
    statements.push_back(fmt::format("SELECT DISTINCT arrayJoin({}) FROM {} {}",
                                     TagKeyEntriesExpr(), Table("spans"),
                                     WhereClause(q.range, {})));
  } else {
    statements.push_back(
        fmt::format("SELECT DISTINCT concat(toString(attr_type), ':', attr_key) FROM {}",
                    Table("tag_keys")));
    if (untracked_before_ > 0) {
      statements.push_back(fmt::format(
          "SELECT DISTINCT arrayJoin({}) FROM {} PREWHERE ingestion_time_unix_nano < {} WHERE {}",
          TagKeyEntriesExpr(), Table("spans"), SqlUInt(untracked_before_),
          RangeCondition({0, untracked_until_})));
    }
  }
  std::set<std::pair<std::string, query::ValueType>> keys;
  for (const std::string& sql : statements) {
    ASSIGN_OR_RETURN(std::string body, Select(sql, "tag keys"));
    RowBinaryReader r(body);
    while (!r.AtEnd()) {
      ASSIGN_OR_RETURN(std::string_view entry, r.String());
      ASSIGN_OR_RETURN(query::TagInfo info, DecodeTagKeyEntry(entry));
      keys.emplace(std::move(info.name), info.type);
    }
  }
  for (const query::IntrinsicInfo& info : query::kIntrinsics) {
    keys.emplace(std::string(info.name), info.type == query::IntrinsicType::kNumber
                                             ? query::ValueType::kInt
                                             : query::ValueType::kStr);
  }
  std::vector<query::TagInfo> out;
  for (const auto& [name, type] : keys) out.push_back(query::TagInfo{name, type});
  return out;
}

absl::StatusOr<query::TagValuesResult> ClickHouseBackend::TagValues(
    const query::TagValuesQuery& q) {
  const std::string what = fmt::format("tag values of {}", q.key.text);
  // The rows are counted (and the page chosen) as SQLite's are, in a hash table: a key with a
  // value per span returns ~250k rows per 1M spans, which an ordered map took ~0.3 s to insert.
  query::TagValuesCollector counts(q);
  // (value, count) rows; `tagged`: values as TaggedValuesExpr writes them, else plain strings.
  auto add = [&](const std::string& sql, bool tagged) -> absl::Status {
    ASSIGN_OR_RETURN(std::string body, Select(sql, what));
    RowBinaryReader r(body);
    while (!r.AtEnd()) {
      ASSIGN_OR_RETURN(std::string_view value, r.String());
      ASSIGN_OR_RETURN(uint64_t count, r.UInt64());
      if (!tagged) {
        counts.AddCounted(query::TagValue(std::string(value)), count);
      } else if (std::optional<query::TagValue> v = DecodeTagged(value)) {
        counts.AddCounted(*std::move(v), count);
      }
    }
    return absl::OkStatus();
  };
  if (query::IsServiceNameKey(q.key)) {
    // The search page's service facet. A span whose service_name is not '' has exactly one
    // service.name value, that string (attribute lists keep a key's last occurrence, span_rows.h),
    // so one LowCardinality column answers it; only the spans with '' (an empty or non-string
    // service.name, or none) have their arrays read, and PREWHERE skips the others' granules.
    const SpanSource named = SpansMatching(Table("spans"), q.range, q.filters,
                                           "service_name != ''");
    RETURN_IF_ERROR(add(fmt::format("SELECT service_name, count() FROM {} {} GROUP BY service_name",
                                    named.from, named.where),
                        false));
    RETURN_IF_ERROR(add(fmt::format("SELECT arrayJoin({}) AS v, count() FROM {} {} GROUP BY v",
                                    TaggedValuesExpr(q.key), Table("spans"),
                                    WhereServiceNameEmpty(q.range, q.filters)),
                        true));
  } else {
    ASSIGN_OR_RETURN(KeyTypesMap types, KnownTypes({q.key}, q.filters, q.range));
    const SpanSource spans = SpansMatching(Table("spans"), q.range, q.filters, "", types);
    RETURN_IF_ERROR(
        add(fmt::format("SELECT arrayJoin({}) AS v, count() FROM {} {} GROUP BY v",
                        TaggedValuesExpr(q.key, TypesOf(types, q.key)), spans.from, spans.where),
            true));
  }
  return std::move(counts).Finish();
}

// The Jaeger and Zipkin service and operation lists from the service_name column, which holds a
// span's service.name when it is a string (its last occurrence, as SQLite's operations catalog and
// filters read it) and '' otherwise: a scan of one LowCardinality column instead of every span's
// attribute arrays (the default's TagValues). Only '' is ambiguous there; the spans carrying it
// are checked in their arrays: the last service.name entry that is not an array's element (types
// below 16, or 255 for an empty value) must be a string (type 0).
constexpr char kEmptyStringService[] =
    "has(attr_keys, 'rservice.name') AND arrayElement(arrayFilter((t, k) -> k = 'rservice.name' "
    "AND (t < 16 OR t = 255), attr_types, attr_keys), -1) = 0";

absl::StatusOr<std::vector<std::string>> ClickHouseBackend::Services() {
  ASSIGN_OR_RETURN(
      std::string empty,
      Select(fmt::format("SELECT 1 FROM {} PREWHERE service_name = '' WHERE {} LIMIT 1",
                         Table("spans"), kEmptyStringService),
             "services: the empty string"));
  std::vector<std::string> services;
  if (!empty.empty()) services.emplace_back();
  ASSIGN_OR_RETURN(std::string body,
                   Select(fmt::format("SELECT DISTINCT service_name FROM {} WHERE service_name != "
                                      "''",
                                      Table("spans")),
                          "services"));
  RowBinaryReader r(body);
  while (!r.AtEnd()) {
    ASSIGN_OR_RETURN(std::string_view service, r.String());
    services.emplace_back(service);
  }
  std::sort(services.begin(), services.end());
  return services;
}

absl::StatusOr<std::vector<Backend::Operation>> ClickHouseBackend::Operations(
    const std::string& service) {
  const std::string where =
      service.empty() ? fmt::format("PREWHERE service_name = '' WHERE {}", kEmptyStringService)
                      : fmt::format("WHERE service_name = {}", SqlString(service));
  ASSIGN_OR_RETURN(std::string body,
                   Select(fmt::format("SELECT DISTINCT name, kind FROM {} {}", Table("spans"),
                                      where),
                          "operations"));
  std::vector<Operation> operations;
  RowBinaryReader r(body);
  while (!r.AtEnd()) {
    ASSIGN_OR_RETURN(std::string_view name, r.String());
    ASSIGN_OR_RETURN(uint8_t kind, r.UInt8());
    if (kind > static_cast<uint8_t>(model::SpanKind::kConsumer)) continue;  // as the default
    operations.push_back(Operation{std::string(name), static_cast<model::SpanKind>(kind)});
  }
  std::sort(operations.begin(), operations.end());
  return operations;
}

absl::StatusOr<query::DependenciesResult> ClickHouseBackend::Dependencies(
    const query::DependenciesQuery& q) {
  // Every span in the range with a parent, joined on (trace id, parent id) with the spans in the
  // range; ClickHouse holds the parents' side in memory, so the answer is never partial here.
  // (Aliased subqueries joined USING renamed columns: what ClickHouse 18.16 accepts and what
  // current releases require.)
  const std::string range = RangeCondition(q.range);
  ASSIGN_OR_RETURN(
      std::string body,
      Select(fmt::format(
                 "SELECT parent_service, child_service, count(), sum(child_error) FROM "
                 "(SELECT trace_id, parent_span_id AS joined_span_id, service_name AS child_service, "
                 "toUInt64(status_code = {error}) AS child_error FROM {t} WHERE {range} AND "
                 "reinterpretAsUInt64(parent_span_id) != 0) AS calls "
                 "ALL INNER JOIN "
                 "(SELECT trace_id, span_id AS joined_span_id, service_name AS parent_service "
                 "FROM {t} WHERE {range}) AS parents USING (trace_id, joined_span_id) "
                 "GROUP BY parent_service, child_service",
                 fmt::arg("t", Table("spans")), fmt::arg("range", range),
                 fmt::arg("error", static_cast<int>(model::StatusCode::kError))),
             "dependencies"));
  query::DependencyCounter counter;
  RowBinaryReader r(body);
  while (!r.AtEnd()) {
    ASSIGN_OR_RETURN(std::string_view parent, r.String());
    ASSIGN_OR_RETURN(std::string_view child, r.String());
    ASSIGN_OR_RETURN(uint64_t calls, r.UInt64());
    ASSIGN_OR_RETURN(uint64_t errors, r.UInt64());
    counter.Add(parent, child, calls, errors);
  }
  return std::move(counter).Finish(q.service, /*partial=*/false);
}

// Approximate duration percentiles (the search page's duration facet and latency chart, the
// services page's latency per service ask for them): the spans counted per duration sketch bucket
// (query/duration_sketch.h) in SQL, instead of every duration gathered and sorted, per time bucket
// (`bucket`, a UInt64 expression, or a constant) and, with `tagged_values` (a TaggedValuesExpr),
// per distinct value of it on each span. nullopt when a duration is negative (no relative bound
// there): the caller asks exactly then.
auto ClickHouseBackend::DurationsByGroup(const std::string& bucket,
                                         const std::string& tagged_values,
                                         const SpanSource& spans, const std::string& values,
                                         std::string_view what)
    -> absl::StatusOr<std::optional<std::map<DurationGroup, Durations>>> {
  const std::string group =
      tagged_values.empty()
          ? "''"
          : fmt::format("arrayJoin(arrayReduce('groupUniqArray', {}))", tagged_values);
  ASSIGN_OR_RETURN(std::string body,
                   Select(fmt::format("SELECT {} AS t, {} AS g, {} AS b, count(), sum(x), min(x), "
                                      "max(x) FROM {} ARRAY JOIN {} AS x {} GROUP BY t, g, b",
                                      bucket, group, DurationBucketExpr("x"), spans.from, values,
                                      spans.where),
                          what));
  std::map<DurationGroup, std::vector<std::pair<uint32_t, uint64_t>>> buckets;
  std::map<DurationGroup, Durations> out;
  RowBinaryReader r(body);
  while (!r.AtEnd()) {
    ASSIGN_OR_RETURN(uint64_t t, r.UInt64());
    ASSIGN_OR_RETURN(std::string_view tagged, r.String());
    const DurationGroup g{t, std::string(tagged)};
    ASSIGN_OR_RETURN(uint64_t b, r.UInt64());
    ASSIGN_OR_RETURN(uint64_t c, r.UInt64());
    ASSIGN_OR_RETURN(double sum, r.Float64());
    ASSIGN_OR_RETURN(double min, r.Float64());
    ASSIGN_OR_RETURN(double max, r.Float64());
    if (!(min >= 0)) return std::nullopt;
    // FromBuckets checks the index; only its width is checked here.
    buckets[g].emplace_back(static_cast<uint32_t>(std::min<uint64_t>(b, UINT32_MAX)), c);
    auto [it, first] = out.try_emplace(g, Durations{0, 0, min, max, {}});
    Durations& d = it->second;
    d.count += c;
    d.sum += sum;
    d.min = std::min(d.min, min);
    d.max = std::max(d.max, max);
  }
  for (auto& [g, pairs] : buckets) {
    absl::StatusOr<query::DurationSketch> sketch = query::DurationSketch::FromBuckets(pairs);
    if (!sketch.ok()) {
      return absl::DataLossError(fmt::format("{}: the server's duration buckets: {}", what,
                                             std::string(sketch.status().message())));
    }
    out[g].sketch = *std::move(sketch);
  }
  return out;
}

absl::StatusOr<query::StatisticsResult> ClickHouseBackend::Statistics(
    const query::StatisticsQuery& q) {
  std::vector<std::string> percentiles;
  for (const query::Statistic& s : q.wanted) {
    if (s.name.size() > 1 && s.name[0] == 'p') {
      percentiles.push_back(NearestRankExpr("sorted", s.percentile));
    }
  }
  std::string select = "count(), sum(x), min(x), max(x)";
  if (!percentiles.empty()) {
    select += fmt::format(", length(arraySort(groupArray(x)) AS sorted), {}",
                          fmt::join(percentiles, ", "));
  }
  ASSIGN_OR_RETURN(KeyTypesMap types, KnownTypes({q.key}, q.filters, q.range));
  const SpanSource spans = SpansMatching(Table("spans"), q.range, q.filters, "", types);
  const std::string numbers = NumericValuesExpr(q.key, TypesOf(types, q.key));
  const std::string what = fmt::format("statistics of {}", q.key.text);
  if (q.approximate && query::IsDurationKey(q.key) && !percentiles.empty()) {
    ASSIGN_OR_RETURN(auto groups, DurationsByGroup("toUInt64(0)", "", spans, numbers, what));
    if (groups.has_value()) {
      if (groups->empty()) return query::StatisticsResult();
      const Durations& d = groups->begin()->second;
      std::vector<double> ranked;
      for (const query::Statistic& s : q.wanted) {
        if (s.percentile > 0) ranked.push_back(d.Percentile(s.percentile));
      }
      return query::NamedStatistics(q.wanted, d.count, d.min, d.max, d.sum, ranked);
    }
  }
  ASSIGN_OR_RETURN(std::string body,
                   Select(fmt::format("SELECT {} FROM {} ARRAY JOIN {} AS x {}", select,
                                      spans.from, numbers, spans.where),
                          what));
  RowBinaryReader r(body);
  ASSIGN_OR_RETURN(uint64_t count, r.UInt64());
  ASSIGN_OR_RETURN(double sum, r.Float64());
  ASSIGN_OR_RETURN(double min, r.Float64());
  ASSIGN_OR_RETURN(double max, r.Float64());
  std::vector<double> values;
  if (!percentiles.empty()) {
    ASSIGN_OR_RETURN(uint64_t n, r.UInt64());
    (void)n;
    for (size_t i = 0; i < percentiles.size(); ++i) {
      ASSIGN_OR_RETURN(double v, r.Float64());
      values.push_back(v);
    }
  }
  return query::NamedStatistics(q.wanted, count, min, max, sum, values);
}

absl::StatusOr<query::HistogramResult> ClickHouseBackend::Histograms(
    const query::HistogramQuery& q) {
  const uint64_t interval = std::max<uint64_t>(q.interval_nano, 1);
  const std::string bucket = fmt::format("intDiv(start_time_unix_nano, {i}) * {i}",
                                         fmt::arg("i", SqlUInt(interval)));
  std::vector<query::Key> keys;
  for (const query::Aggregation& agg : q.aggregations) {
    if (agg.key.has_value()) keys.push_back(*agg.key);
    if (agg.group_by.has_value()) keys.push_back(*agg.group_by);
  }
  ASSIGN_OR_RETURN(KeyTypesMap types, KnownTypes(std::move(keys), q.filters, q.range));
  auto tagged_values = [&](const query::Key& key) {
    return TaggedValuesExpr(key, TypesOf(types, key));
  };
  auto numeric_values = [&](const query::Key& key) {
    return NumericValuesExpr(key, TypesOf(types, key));
  };
  const SpanSource spans = SpansMatching(Table("spans"), q.range, q.filters, "", types);
  const std::string& from = spans.from;
  const std::string& where = spans.where;
  // Where the spans of an aggregation grouped by `key` come from, and the expression of their
  // group values: by service.name from the service_name column (SpansWithServiceValues).
  std::optional<SpanSource> with_services;
  auto grouped_by = [&](const query::Key& key) -> std::pair<const SpanSource*, std::string> {
    if (!query::IsServiceNameKey(key)) return {&spans, tagged_values(key)};
    if (!with_services.has_value()) {
      with_services = SpansWithServiceValues(Table("spans"), q.range, q.filters, key, types);
    }
    return {&*with_services, "service_values"};
  };
  // Every histogram has the same buckets: those where at least one matching span starts.
  ASSIGN_OR_RETURN(std::string body,
                   Select(fmt::format("SELECT {} AS b, count() FROM {} {} GROUP BY b ORDER BY b",
                                      bucket, from, where),
                          "histogram buckets"));
  std::map<uint64_t, uint64_t> totals;
  {
    RowBinaryReader r(body);
    while (!r.AtEnd()) {
      ASSIGN_OR_RETURN(uint64_t b, r.UInt64());
      ASSIGN_OR_RETURN(uint64_t c, r.UInt64());
      totals[b] = c;
    }
  }
  query::HistogramResult result;
  for (const query::Aggregation& agg : q.aggregations) {
    query::Histogram h;
    h.label = agg.label;
    const std::string what = fmt::format("histogram {}", agg.label);
    if (agg.func == query::AggregationFunc::kCount && !agg.group_by.has_value()) {
      for (const auto& [b, c] : totals) h.buckets.push_back({b, c});
    } else if (agg.func == query::AggregationFunc::kCount) {
      const auto [source, values] = grouped_by(*agg.group_by);
      ASSIGN_OR_RETURN(
          std::string groups,
          Select(fmt::format("SELECT {} AS b, arrayJoin(arrayReduce('groupUniqArray', {})) AS v, "
                             "count() FROM {} {} GROUP BY b, v",
                             bucket, values, source->from, source->where),
                 what));
      std::map<uint64_t, std::map<query::TagValue, uint64_t, query::TagValueLess>> by_bucket;
      RowBinaryReader r(groups);
      while (!r.AtEnd()) {
        ASSIGN_OR_RETURN(uint64_t b, r.UInt64());
        ASSIGN_OR_RETURN(std::string_view tagged, r.String());
        ASSIGN_OR_RETURN(uint64_t c, r.UInt64());
        if (std::optional<query::TagValue> v = DecodeTagged(tagged)) by_bucket[b][*v] += c;
      }
      for (const auto& [b, total] : totals) {
        query::GroupedCount grouped;
        grouped.total_count = total;
        for (const auto& [value, c] : by_bucket[b]) grouped.sub_buckets.push_back({value, c});
        query::KeepLargestGroups(grouped.sub_buckets, agg.max_groups);
        h.buckets.push_back({b, std::move(grouped)});
      }
    } else if (agg.func == query::AggregationFunc::kRangeCount) {
      // Per time bucket and range, the spans with a value in the range. A value's 1-based range
      // is 1 plus the number of bounds after the first that are <= it (query/range_count.h):
      // plain comparisons, which every ClickHouse has (18.16 has no roundDown).
      std::map<uint64_t, std::map<uint64_t, uint64_t>> by_bucket;
      if (agg.key.has_value() && !agg.bounds.empty()) {
        std::string index = "1";
        for (size_t i = 1; i < agg.bounds.size(); ++i) {
          index += fmt::format(" + (x >= {})", SqlDouble(agg.bounds[i]));
        }
        ASSIGN_OR_RETURN(
            std::string rows,
            Select(fmt::format("SELECT {b} AS b, arrayJoin(arrayReduce('groupUniqArray', "
                               "arrayMap(x -> toUInt64({i}), {v}))) AS r, "
                               "count() FROM {t} {w} GROUP BY b, r",
                               fmt::arg("b", bucket), fmt::arg("i", index),
                               fmt::arg("v", numeric_values(*agg.key)),
                               fmt::arg("t", from), fmt::arg("w", where)),
                   what));
        RowBinaryReader r(rows);
        while (!r.AtEnd()) {
          ASSIGN_OR_RETURN(uint64_t b, r.UInt64());
          ASSIGN_OR_RETURN(uint64_t index, r.UInt64());
          ASSIGN_OR_RETURN(uint64_t c, r.UInt64());
          if (index >= 1 && index <= agg.bounds.size()) by_bucket[b][index - 1] += c;
        }
      }
      for (const auto& [b, total] : totals) {
        query::GroupedCount grouped;
        grouped.total_count = total;
        for (const auto& [index, c] : by_bucket[b]) {
          grouped.sub_buckets.push_back({query::RangeKey(agg.bounds[index]), c});
        }
        h.buckets.push_back({b, std::move(grouped)});
      }
    } else if (agg.func == query::AggregationFunc::kDistinctCount) {
      std::map<uint64_t, uint64_t> distinct;
      if (agg.key.has_value()) {
        ASSIGN_OR_RETURN(std::string rows,
                         Select(fmt::format("SELECT {} AS b, uniqExactArray({}) FROM {} {} "
                                            "GROUP BY b",
                                            bucket, tagged_values(*agg.key), from,
                                            where),
                                what));
        RowBinaryReader r(rows);
        while (!r.AtEnd()) {
          ASSIGN_OR_RETURN(uint64_t b, r.UInt64());
          ASSIGN_OR_RETURN(uint64_t c, r.UInt64());
          distinct[b] = c;
        }
      }
      for (const auto& [b, total] : totals) h.buckets.push_back({b, distinct[b]});
    } else if (agg.group_by.has_value()) {
      // PERCENTILES per group: each span joins every distinct group value it has, bringing its
      // numeric values along.
      struct Group {
        uint64_t count = 0;
        std::map<std::string, double> percentiles;
      };
      std::map<uint64_t, std::map<query::TagValue, Group, query::TagValueLess>> by_bucket;
      const auto [source, values] = grouped_by(*agg.group_by);
      std::optional<std::map<DurationGroup, Durations>> approximate;
      if (q.approximate && agg.key.has_value() && query::IsDurationKey(*agg.key) &&
          !agg.percentiles.empty()) {
        ASSIGN_OR_RETURN(approximate, DurationsByGroup(bucket, values, *source,
                                                       numeric_values(*agg.key), what));
      }
      if (approximate.has_value()) {
        for (const auto& [g, d] : *approximate) {
          std::optional<query::TagValue> v = DecodeTagged(g.second);
          if (!v.has_value()) continue;
          Group group;
          group.count = d.count;
          for (double p : agg.percentiles) {
            group.percentiles[query::PercentileLabel(p)] = d.Percentile(p);
          }
          by_bucket[g.first][*std::move(v)] = std::move(group);
        }
      } else if (agg.key.has_value() && !agg.percentiles.empty()) {
        std::vector<std::string> ranks;
        for (double p : agg.percentiles) ranks.push_back(NearestRankExpr("sorted", p));
        ASSIGN_OR_RETURN(
            std::string rows,
            Select(fmt::format("SELECT {b} AS b, arrayJoin(arrayReduce('groupUniqArray', {g})) AS v, "
                               "count(), length(arraySort(groupArrayArray({n})) AS sorted), {r} "
                               "FROM {t} {w} GROUP BY b, v",
                               fmt::arg("b", bucket), fmt::arg("g", values),
                               fmt::arg("n", numeric_values(*agg.key)),
                               fmt::arg("r", fmt::join(ranks, ", ")),
                               fmt::arg("t", source->from), fmt::arg("w", source->where)),
                   what));
        RowBinaryReader r(rows);
        while (!r.AtEnd()) {
          ASSIGN_OR_RETURN(uint64_t b, r.UInt64());
          ASSIGN_OR_RETURN(std::string_view tagged, r.String());
          ASSIGN_OR_RETURN(uint64_t c, r.UInt64());
          ASSIGN_OR_RETURN(uint64_t n, r.UInt64());
          Group group;
          group.count = c;
          for (double p : agg.percentiles) {
            ASSIGN_OR_RETURN(double v, r.Float64());
            if (n > 0) group.percentiles[query::PercentileLabel(p)] = v;
          }
          if (std::optional<query::TagValue> v = DecodeTagged(tagged)) {
            by_bucket[b][*v] = std::move(group);
          }
        }
      }
      for (const auto& [b, total] : totals) {
        query::GroupedPercentiles grouped;
        grouped.total_count = total;
        for (auto& [value, g] : by_bucket[b]) {
          grouped.groups.push_back({value, g.count, std::move(g.percentiles)});
        }
        query::KeepLargestGroups(grouped.groups, agg.max_groups);
        h.buckets.push_back({b, std::move(grouped)});
      }
    } else {
      std::map<uint64_t, std::map<std::string, double>> by_bucket;
      std::optional<std::map<DurationGroup, Durations>> approximate;
      if (q.approximate && agg.key.has_value() && query::IsDurationKey(*agg.key) &&
          !agg.percentiles.empty()) {
        ASSIGN_OR_RETURN(approximate,
                         DurationsByGroup(bucket, "", spans, numeric_values(*agg.key), what));
      }
      if (approximate.has_value()) {
        for (const auto& [g, d] : *approximate) {
          for (double p : agg.percentiles) {
            by_bucket[g.first][query::PercentileLabel(p)] = d.Percentile(p);
          }
        }
      } else if (agg.key.has_value() && !agg.percentiles.empty()) {
        std::vector<std::string> ranks;
        for (double p : agg.percentiles) ranks.push_back(NearestRankExpr("sorted", p));
        ASSIGN_OR_RETURN(
            std::string rows,
            Select(fmt::format("SELECT {} AS b, length(arraySort(groupArrayArray({})) AS sorted), "
                               "{} FROM {} {} GROUP BY b",
                               bucket, numeric_values(*agg.key), fmt::join(ranks, ", "),
                               from, where),
                   what));
        RowBinaryReader r(rows);
        while (!r.AtEnd()) {
          ASSIGN_OR_RETURN(uint64_t b, r.UInt64());
          ASSIGN_OR_RETURN(uint64_t n, r.UInt64());
          std::map<std::string, double> values;
          for (double p : agg.percentiles) {
            ASSIGN_OR_RETURN(double v, r.Float64());
            if (n > 0) values[query::PercentileLabel(p)] = v;
          }
          by_bucket[b] = std::move(values);
        }
      }
      for (const auto& [b, total] : totals) h.buckets.push_back({b, by_bucket[b]});
    }
    result.push_back(std::move(h));
  }
  return result;
}

absl::StatusOr<std::string> ClickHouseBackend::SystemId() {
  std::lock_guard<std::mutex> lock(system_id_mu_);
  if (!system_id_.empty()) return system_id_;
  const std::string read = fmt::format(
      "SELECT system_id FROM {} ORDER BY created_at, system_id LIMIT 1", Table("system_info"));
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSIGN_OR_RETURN(std::string body, Select(read, "read system id"));
    RowBinaryReader r(body);
    if (!r.AtEnd()) {
      ASSIGN_OR_RETURN(std::string_view id, r.String());
      system_id_ = std::string(id);
      return system_id_;
    }
    if (attempt == 0) {
      // Two processes may both insert; everyone then reads the same (earliest, smallest) row.
      ASSIGN_OR_RETURN(std::string ignored,
                       http_.Execute(fmt::format("INSERT INTO {} (system_id, created_at) VALUES "
                                                 "({}, now())",
                                                 Table("system_info"), SqlString(NewUuidV4())),
                                     {}, "create system id"));
    }
  }
  return absl::InternalError("clickhouse: system id: inserted but not read back");
}

// ---------------------------------------------------------------------------------------------
// Retention.

absl::StatusOr<std::vector<uint16_t>> ClickHouseBackend::PartitionDays(
    std::string_view table, std::optional<uint16_t> before_day) {
  std::string where =
      before_day.has_value() ? fmt::format(" WHERE toUInt16(start_date) < {}", *before_day) : "";
  ASSIGN_OR_RETURN(std::string body,
                   Select(fmt::format("SELECT DISTINCT toUInt16(start_date) AS d FROM {}{} "
                                      "ORDER BY d",
                                      Table(table), where),
                          "retention: list partitions"));
  std::vector<uint16_t> days;
  RowBinaryReader r(body);
  while (!r.AtEnd()) {
    ASSIGN_OR_RETURN(uint16_t d, r.UInt16());
    days.push_back(d);
  }
  return days;
}

absl::Status ClickHouseBackend::DropDay(uint16_t day) {
  const std::string date = DayDate(day);
  for (std::string_view table : kDailyTables) {
    ASSIGN_OR_RETURN(
        std::string ignored,
        http_.Execute(fmt::format("ALTER TABLE {}{} DROP PARTITION {}", LocalTable(table),
                                  OnCluster(), SqlString(date)),
                      {}, fmt::format("retention: drop partition {} of {}", date, table)));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ClickHouseBackend::MeasureBytes() {
  // On a cluster, one replica of each shard: the size of one copy of the data.
  std::string parts = settings_.cluster.empty()
                          ? std::string("system.parts")
                          : fmt::format("cluster({}, system, parts)", SqlString(settings_.cluster));
  ASSIGN_OR_RETURN(std::string body,
                   Select(fmt::format("SELECT toUInt64(sum(bytes_on_disk)) FROM {} WHERE active "
                                      "AND database = {}",
                                      parts, SqlString(db_)),
                          "measure disk usage"));
  RowBinaryReader r(body);
  return r.UInt64();
}

absl::Status ClickHouseBackend::EnforceRetention() {
  std::lock_guard<std::mutex> lock(retention_mu_);
  RETURN_IF_ERROR(EnsureSchema());
  if (settings_.retention_max_age_nano > 0) {
    const uint64_t now = NowUnixNano();
    if (now > settings_.retention_max_age_nano) {
      // A day's partition goes when its newest possible span is older than the cutoff.
      const uint64_t cutoff = now - settings_.retention_max_age_nano;
      const auto first_kept_day =
          static_cast<uint16_t>(std::min<uint64_t>(cutoff / kNanosPerDay, 65535));
      std::set<uint16_t> days;
      for (std::string_view table : kDailyTables) {
        ASSIGN_OR_RETURN(std::vector<uint16_t> d, PartitionDays(table, first_kept_day));
        days.insert(d.begin(), d.end());
      }
      for (uint16_t day : days) RETURN_IF_ERROR(DropDay(day));
    }
  }
  if (settings_.retention_max_bytes > 0) {
    // Oldest days first, never the newest one: it is where spans arrive.
    for (int round = 0; round < 1000; ++round) {
      ASSIGN_OR_RETURN(uint64_t bytes, MeasureBytes());
      if (bytes <= settings_.retention_max_bytes) break;
      ASSIGN_OR_RETURN(std::vector<uint16_t> days, PartitionDays("spans", std::nullopt));
      if (days.size() <= 1) break;
      RETURN_IF_ERROR(DropDay(days.front()));
    }
  }
  return absl::OkStatus();
}

uint64_t ClickHouseBackend::DiskBytes() {
  absl::StatusOr<uint64_t> bytes = MeasureBytes();
  return bytes.ok() ? *bytes : 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> NewClickHouseBackend(const BackendSettings& settings) {
  ASSIGN_OR_RETURN(ClickHouseSettings parsed, ParseClickHouseSettings(settings));
  auto backend = std::make_unique<ClickHouseBackend>(std::move(parsed));
  absl::Status schema = backend->EnsureSchema();
  if (absl::IsUnavailable(schema)) {
    spdlog::warn("{} (will retry on first use)", std::string(schema.message()));
  } else if (!schema.ok()) {
    return schema;
  }
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace teletrace::storage::clickhouse
