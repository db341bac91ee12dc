#include "storage/elasticsearch/search_backend.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <iterator>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "common/ids.h"
#include "common/json_string.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "common/uuid.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "query/duration_sketch.h"
#include "query/engine.h"
#include "query/values.h"
#include "spdlog/spdlog.h"
#include "storage/elasticsearch/search_aggregations.h"
#include "storage/elasticsearch/search_http.h"
#include "storage/elasticsearch/search_query.h"
#include "storage/elasticsearch/search_response.h"
#include "storage/elasticsearch/search_settings.h"
#include "storage/span_block_codec.h"

namespace teletrace::storage::elasticsearch {
namespace {

using json = nlohmann::json;
using model::StoredSpan;

constexpr uint64_t kNanosPerDay = uint64_t{86400} * 1000000000;
constexpr int kTemplateVersion = kStartMillisSchema;
// Days a range may cover before a query names the wildcard instead of each daily index.
constexpr uint64_t kMaxNamedDays = 31;
// Hits per search request while paging (Elasticsearch's default index.max_result_window bounds
// from + size, and a page of this many spans is a few MB).
constexpr size_t kScanPageHits = 2000;
// A _bulk request body stops growing past this size (Elastic's advice: a few MB to 15 MB).
constexpr size_t kMaxBulkBodyBytes = size_t{8} << 20;
// A batch is split for parallel bulk requests only into parts of at least this many spans.
constexpr size_t kMinParallelBulkSpans = 500;

// The engine's answer as JSON; a body that is not JSON is Internal (never an exception).
absl::StatusOr<json> ParseBody(const SearchResponse& response, std::string_view what) {
  json j = json::parse(response.body.begin(), response.body.end(), nullptr,
                       /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::InternalError(fmt::format("elasticsearch: {}: {}: the answer is not JSON: {}",
                                           what, response.endpoint,
                                           ErrorText(response.body)));
  }
  return j;
}

std::string DayName(uint64_t day) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(static_cast<int64_t>(day * 86400)),
                          absl::UTCTimeZone());
}

// "2026-12-03" -> day number since the epoch; false when the text is not such a date.
bool ParseDayName(std::string_view text, uint64_t* day) {
  absl::Time t;
  std::string err;
  if (text.size() != 10 || !absl::ParseTime("%Y-%m-%d", std::string(text), absl::UTCTimeZone(),
                                            &t, &err)) {
    return false;
  }
  const int64_t seconds = absl::ToUnixSeconds(t);
  if (seconds < 0) return false;
  *day = static_cast<uint64_t>(seconds) / 86400;
  return true;
}

// The version's major number from "8.15.0" or "2.19.6"; 0 when unreadable.
int MajorOf(std::string_view number) {
  int major = 0;
  std::from_chars(number.data(), number.data() + number.size(), major);
  return major;
}

// The mappings of the fields aggregations are pushed down to (search_query.h kQueryFieldsSchema,
// kStartMillisSchema): indexed for the exact clauses, with doc values for the aggregations.
// dur_bucket and start_ms are only aggregated: doc values alone (measured with _disk_usage on 200k
// loadgen spans: dur_bucket's index took 3.0 B/span, start_ms's doc values take 3.0). An
// `upgrade` adds the fields to indices of older schemas, where a field already mapped must keep
// its mapping: schema 2 indexed dur_bucket.
json QueryFieldMappings(bool upgrade) {
  json keyword = {{"type", "keyword"}};
  json dur_bucket = {{"type", "short"}};
  if (!upgrade) dur_bucket["index"] = false;
  return {{"status", keyword},
          {"kind", keyword},
          {"dur", {{"type", "long"}}},
          {"dur_bucket", std::move(dur_bucket)},
          {"start_ms", {{"type", "long"}, {"index", false}}},
          // Aggregated only; every term is under this length (search_query.h AddFacetTerms).
          {"facet_values",
           {{"type", "keyword"}, {"index", false}, {"ignore_above", 2 * kMaxIndexedTermBytes}}}};
}

class SearchBackend final : public Backend {
 public:
  explicit SearchBackend(SearchSettings settings)
      : settings_(std::move(settings)),
        http_(SearchHttpOptions{.endpoints = settings_.endpoints,
                                .username = settings_.username,
                                .password = settings_.password,
                                .api_key = settings_.api_key,
                                .tls_ca_file = settings_.tls_ca_file,
                                .timeout_nano = settings_.request_timeout_nano,
                                .max_response_bytes = settings_.max_response_bytes}),
        spans_pattern_(settings_.index_prefix + "-spans-*"),
        meta_index_(settings_.index_prefix + "-meta") {}

  // Detects the engine, installs the template and the meta index, reads the system id. Once it
  // succeeded it is not repeated.
  absl::Status EnsureReady() {
    std::lock_guard<std::mutex> lock(ready_mu_);
    if (ready_) return absl::OkStatus();
    RETURN_IF_ERROR(DetectEngine());
    RETURN_IF_ERROR(PutTemplate());
    RETURN_IF_ERROR(CreateMeta());
    ready_ = true;
    return absl::OkStatus();
  }

  absl::Status WriteSpans(model::SpanBatch batch, uint64_t ingestion_time_unix_nano) override {
    RETURN_IF_ERROR(EnsureReady());
    std::vector<StoredSpan> spans = model::Flatten(std::move(batch), ingestion_time_unix_nano);
    if (spans.empty()) return absl::OkStatus();
    // Chunks of at most bulk_max_spans, and enough of them (each of kMinParallelBulkSpans or more)
    // to keep bulk_parallelism requests in flight: the engine indexes one bulk request on one
    // thread per shard, so concurrent requests use its other cores.
    size_t chunks = (spans.size() + settings_.bulk_max_spans - 1) / settings_.bulk_max_spans;
    chunks = std::max(chunks, std::min<size_t>(settings_.bulk_parallelism,
                                               spans.size() / kMinParallelBulkSpans));
    chunks = std::max<size_t>(chunks, 1);
    const size_t per_chunk = (spans.size() + chunks - 1) / chunks;
    std::vector<absl::Status> results(chunks);
    for (size_t wave = 0; wave < chunks; wave += settings_.bulk_parallelism) {
      const size_t end = std::min(chunks, wave + settings_.bulk_parallelism);
      std::vector<std::thread> senders;
      for (size_t c = wave + 1; c < end; ++c) {
        auto send = [&, c] {
          results[c] = Bulk(spans, c * per_chunk, std::min(spans.size(), (c + 1) * per_chunk));
        };
        try {
          senders.emplace_back(send);
        } catch (const std::system_error&) {
          send();  // no thread to be had: send it from this one
        }
      }
      results[wave] =
          Bulk(spans, wave * per_chunk, std::min(spans.size(), (wave + 1) * per_chunk));
      for (std::thread& t : senders) t.join();
    }
    // Any refusal fails the batch; one that retrying cannot fix wins over a retryable one.
    absl::Status failure;
    for (absl::Status& r : results) {
      if (!r.ok() && (failure.ok() || absl::IsUnavailable(failure))) failure = std::move(r);
    }
    RETURN_IF_ERROR(failure);
    written_.fetch_add(1, std::memory_order_release);
    return absl::OkStatus();
  }

  absl::Status ScanSpans(const std::optional<query::TimeRange>& range,
                         const std::vector<query::Filter>& filters,
                         const std::function<void(const StoredSpan&)>& fn) override {
    RETURN_IF_ERROR(PrepareRead());
    query::SpanMatcher matcher(filters);
    json clauses = FilterClauses(filters);
    if (range) clauses.push_back(StartRangeClause(*range));
    return Scan(IndicesFor(range), BoolQuery(std::move(clauses)), json::array({{{"id", "asc"}}}),
                kScanPageHits, json(), [&](StoredSpan&& s) {
                  if (matcher.Matches(s)) fn(s);
                  return true;
                });
  }

  absl::StatusOr<query::SearchResult> Search(const query::SearchQuery& q) override {
    RETURN_IF_ERROR(PrepareRead());
    query::SpanMatcher matcher(q.filters);
    query::SearchCollector collector(q);
    const char* field = q.sort.field == query::SortField::kDuration ? "duration" : "start";
    const char* order = q.sort.ascending ? "asc" : "desc";
    json sort = json::array({{{field, order}}, {{"id", order}}});
    json after;
    if (q.after) {
      after = json::array({Ordered(q.after->sort_value),
                           ToHex(q.after->trace_id) + ToHex(q.after->span_id)});
    }
    // The engine returns spans in the page's order, so the first page_size + 1 that match are the
    // page and the proof that another follows. Without filters every hit matches.
    const size_t hits = q.filters.empty() ? q.page_size + 1 : kScanPageHits;
    size_t matched = 0;
    json clauses = FilterClauses(q.filters);
    clauses.push_back(StartRangeClause(q.range));
    RETURN_IF_ERROR(Scan(IndicesFor(q.range), BoolQuery(std::move(clauses)),
                         std::move(sort), hits, std::move(after), [&](StoredSpan&& s) {
                           if (!matcher.Matches(s)) return true;
                           collector.Add(s);
                           return ++matched <= q.page_size;
                         }));
    return std::move(collector).Finish();
  }

  absl::StatusOr<query::TraceResult> GetTrace(const query::TraceQuery& q) override {
    RETURN_IF_ERROR(PrepareRead());
    query::TraceCollector collector(q);
    bool found = false;
    json term = {{"term", {{"trace_id", ToHex(q.trace_id)}}}};
    RETURN_IF_ERROR(Scan(spans_pattern_, BoolQuery(json::array({std::move(term)})),
                         json::array({{{"id", "asc"}}}), kScanPageHits, json(),
                         [&](StoredSpan&& s) {
                           found = true;
                           collector.Add(std::move(s));
                           return true;
                         }));
    if (!found) return absl::NotFoundError(fmt::format("trace {} not found", ToHex(q.trace_id)));
    return std::move(collector).Finish();
  }

  // The aggregations: pushed down to the engine where it answers exactly what the scan engine
  // would (search_aggregations.h), else the scan engine over the selected spans.
  absl::StatusOr<query::TagValuesResult> TagValues(const query::TagValuesQuery& q) override {
    return PushedDownOr(PushDown<query::TagValuesResult>(
                            TagValuesRequest(q), TagValuesSchema(q), IndicesFor(q.range),
                            [&](const json& answer) { return ReadTagValues(answer, q); }),
                        [&] { return Backend::TagValues(q); });
  }

  absl::StatusOr<query::StatisticsResult> Statistics(const query::StatisticsQuery& q) override {
    return PushedDownOr(PushDown<query::StatisticsResult>(
                            StatisticsRequest(q), kQueryFieldsSchema, IndicesFor(q.range),
                            [&](const json& answer) { return ReadStatistics(answer, q); }),
                        [&] { return Backend::Statistics(q); });
  }

  absl::StatusOr<query::HistogramResult> Histograms(const query::HistogramQuery& q) override {
    return PushedDownOr(PushDownHistograms(q), [&] { return Backend::Histograms(q); });
  }

  uint64_t pushed_down() const { return pushed_down_.load(std::memory_order_relaxed); }

  absl::StatusOr<std::string> SystemId() override {
    RETURN_IF_ERROR(EnsureReady());
    std::lock_guard<std::mutex> lock(ready_mu_);
    return system_id_;
  }

  // Deletes daily indices past the retention, then force-merges one finished day (see
  // MergeFinishedDay).
  absl::Status EnforceRetention() override {
    RETURN_IF_ERROR(EnsureReady());
    ASSIGN_OR_RETURN(std::vector<DailyIndex> indices, ListDailyIndices());
    std::sort(indices.begin(), indices.end(),
              [](const DailyIndex& a, const DailyIndex& b) { return a.day < b.day; });
    std::vector<std::string> doomed;
    size_t kept_from = 0;
    const uint64_t now = NowUnixNano();
    if (settings_.retention_max_age_nano != 0 && now > settings_.retention_max_age_nano) {
      const uint64_t cutoff = now - settings_.retention_max_age_nano;
      // An index goes once its whole day lies before the cutoff.
      while (kept_from < indices.size() && (indices[kept_from].day + 1) * kNanosPerDay <= cutoff) {
        doomed.push_back(indices[kept_from++].name);
      }
    }
    if (settings_.retention_max_bytes != 0) {
      uint64_t total = 0;
      for (size_t i = kept_from; i < indices.size(); ++i) total += indices[i].bytes;
      // The newest index stays whatever its size: it receives today's spans.
      while (total > settings_.retention_max_bytes && kept_from + 1 < indices.size()) {
        total -= indices[kept_from].bytes;
        doomed.push_back(indices[kept_from++].name);
      }
    }
    for (const std::string& name : doomed) {
      ASSIGN_OR_RETURN(SearchResponse r,
                       http_.Send("DELETE", "/" + name, "", "delete index " + name));
      if (r.status != 404) RETURN_IF_ERROR(Check(r, "delete index " + name));
      spdlog::info("elasticsearch: retention deleted index {}", name);
    }
    indices.erase(indices.begin(), indices.begin() + static_cast<ptrdiff_t>(kept_from));
    return MergeFinishedDay(indices, now);
  }

  uint64_t DiskBytes() override {
    absl::StatusOr<std::vector<DailyIndex>> indices = ListDailyIndices();
    if (!indices.ok()) return 0;
    uint64_t total = 0;
    for (const DailyIndex& index : *indices) total += index.bytes;
    return total;
  }

 private:
  struct DailyIndex {
    std::string name;
    uint64_t day = 0;
    uint64_t bytes = 0;  // primaries and replicas
  };

  // Flushes and force-merges the oldest daily index that is over (its day ended more than two
  // hours ago, so the retention leases have long moved past its documents) and not merged by this
  // process yet, to one segment: the merge drops the _recovery_source copies (measured on 100k
  // loadgen spans: 449 -> 264 B/span) and the index is as small as it gets. One per call, since a
  // merge can take minutes; a timeout is fine (the engine goes on merging).
  absl::Status MergeFinishedDay(const std::vector<DailyIndex>& indices, uint64_t now) {
    const uint64_t settle = uint64_t{2} * 3600 * 1000000000;
    for (const DailyIndex& index : indices) {
      if ((index.day + 1) * kNanosPerDay + settle > now) continue;
      {
        std::lock_guard<std::mutex> lock(merged_mu_);
        if (!merged_.insert(index.name).second) continue;
      }
      const std::string what = "force-merge index " + index.name;
      // The merge prunes _recovery_source only below the last safe commit: flush first.
      absl::Status flushed =
          SendJson("POST", "/" + index.name + "/_flush", "", "flush " + index.name).status();
      if (!flushed.ok()) {
        std::lock_guard<std::mutex> lock(merged_mu_);
        merged_.erase(index.name);
        return flushed;
      }
      absl::StatusOr<json> merged =
          SendJson("POST", "/" + index.name + "/_forcemerge?max_num_segments=1", "", what);
      if (!merged.ok() && !absl::IsUnavailable(merged.status())) {
        std::lock_guard<std::mutex> lock(merged_mu_);
        merged_.erase(index.name);  // try again next time
        return merged.status();
      }
      spdlog::info("elasticsearch: {}{}", what,
                   merged.ok() ? ": done" : ": still running in the engine");
      // Searches move to the merged segment (and the old files go) at the next refresh.
      if (merged.ok()) {
        return SendJson("POST", "/" + index.name + "/_refresh", "", "refresh " + index.name)
            .status();
      }
      return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  absl::StatusOr<json> SendJson(std::string_view method, const std::string& path,
                                std::string_view body, const std::string& what) {
    ASSIGN_OR_RETURN(SearchResponse r, http_.Send(method, path, body, what));
    RETURN_IF_ERROR(Check(r, what));
    return ParseBody(r, what);
  }

  absl::Status DetectEngine() {
    ASSIGN_OR_RETURN(SearchResponse r, http_.Send("GET", "/", "", "detect the engine"));
    std::string distribution = "elasticsearch", number;
    if (r.status >= 200 && r.status < 300) {
      ASSIGN_OR_RETURN(json root, ParseBody(r, "detect the engine"));
      const json* version = Member(root, "version");
      if (version != nullptr) {
        number = StringMember(*version, "number");
        if (StringMember(*version, "distribution") == "opensearch") distribution = "opensearch";
      }
    } else if (r.status == 401 || r.status == 403) {
      return Check(r, "detect the engine");
    } else {
      // Some node builds leave `GET /` out; every one answers the nodes info API.
      ASSIGN_OR_RETURN(json nodes, SendJson("GET", "/_nodes/_local?filter_path=nodes.*.version",
                                            "", "detect the engine"));
      const json* all = Member(nodes, "nodes");
      if (all != nullptr && all->is_object() && !all->empty()) {
        number = StringMember(all->begin().value(), "version");
      }
    }
    const int major = MajorOf(number);
    const int required = distribution == "opensearch" ? 2 : 8;
    if (major < required) {
      return absl::FailedPreconditionError(fmt::format(
          "elasticsearch: {} {} at {} is too old: Teletrace needs Elasticsearch 8 or later, or "
          "OpenSearch 2 or later",
          distribution, number.empty() ? "(unknown version)" : number, r.endpoint));
    }
    spdlog::info("elasticsearch: {} {} at {}", distribution, number, r.endpoint);
    return absl::OkStatus();
  }

  absl::Status PutTemplate() {
    // Each structure only where a query uses it (measured with _disk_usage on 100k loadgen
    // spans: doc values on the attribute terms alone took 77 B/span).
    json keyword = {{"type", "keyword"}, {"ignore_above", kMaxIndexedTermBytes}};
    json term_only = {{"type", "keyword"}, {"ignore_above", kMaxIndexedTermBytes},
                      {"doc_values", false}};
    json sort_only = {{"type", "keyword"}, {"index", false}};
    json number = {{"type", "long"}};  // Ordered() values
    json properties = QueryFieldMappings(/*upgrade=*/false);
    properties.update({{"trace_id", term_only},
                       {"id", sort_only},  // the sort tie-breaker
                       {"start", number},
                       {"duration", number},
                       {"service", keyword},
                       {"name", keyword},
                       {"attr_keys", term_only},
                       {"attr_values", term_only},
                       {"span", {{"type", "binary"}}}});
    json body = {
        {"index_patterns", json::array({spans_pattern_})},
        {"priority", 200},
        {"version", kTemplateVersion},
        {"_meta", {{"description", "Teletrace span indices, one per UTC day of span start"}}},
        {"template",
         {{"settings",
           {{"number_of_shards", settings_.shards},
            {"number_of_replicas", settings_.replicas},
            {"codec", "best_compression"},
            // Excluding fields from _source makes the engine keep the whole document as
            // _recovery_source (~230 B/span here) until a merge after the copies' retention leases
            // moved past it; Teletrace flushes and force-merges each daily index once its day is
            // over (EnforceRetention). A lost replica's lease stops holding it back after 1 h.
            {"soft_deletes.retention_lease.period", "1h"}}},
          {"mappings",
           {{"dynamic", "strict"},
            // The indexed fields are for queries only; _source keeps the encoded span.
            {"_source", {{"excludes", json::array({"trace_id", "id", "start", "duration",
                                                   "service", "name", "attr_keys",
                                                   "attr_values", "status", "kind", "dur",
                                                   "dur_bucket", "start_ms", "facet_values"})}}},
            // Marks indices whose every document has the query fields (older indices get the
            // fields added to their mapping, not this).
            {"_meta", {{"teletrace_schema", kStartMillisSchema}}},
            {"properties", properties}}}}}};
    RETURN_IF_ERROR(SendJson("PUT", "/_index_template/" + settings_.index_prefix + "-spans",
                             body.dump(), "install the index template")
                        .status());
    // Indices created by an older template refuse documents with fields their strict mapping
    // lacks: add them. Their older documents lack the fields, so their _meta stays as it is and
    // aggregations over them use only the fields of their schema (IndexSchema).
    ASSIGN_OR_RETURN(
        SearchResponse added,
        http_.Send("PUT",
                   "/" + spans_pattern_ +
                       "/_mapping?ignore_unavailable=true&allow_no_indices=true",
                   json{{"properties", QueryFieldMappings(/*upgrade=*/true)}}.dump(),
                   "add the query fields to the span indices"));
    if (added.status == 404) return absl::OkStatus();
    return Check(added, "add the query fields to the span indices");
  }

  absl::Status CreateMeta() {
    json index = {{"settings", {{"number_of_shards", 1}, {"number_of_replicas", settings_.replicas}}},
                  {"mappings",
                   {{"dynamic", "strict"},
                    {"properties", {{"system_id", {{"type", "keyword"}, {"index", false}}}}}}}};
    ASSIGN_OR_RETURN(SearchResponse created,
                     http_.Send("PUT", "/" + meta_index_, index.dump(), "create the meta index"));
    if (created.status != 400 || ErrorText(created.body).find("already_exists") ==
                                     std::string::npos) {
      RETURN_IF_ERROR(Check(created, "create the meta index"));
    }
    json doc = {{"system_id", NewUuidV4()}};
    ASSIGN_OR_RETURN(SearchResponse put,
                     http_.Send("PUT", "/" + meta_index_ + "/_create/system?refresh=true",
                                doc.dump(), "store the system id"));
    if (put.status != 409) RETURN_IF_ERROR(Check(put, "store the system id"));
    ASSIGN_OR_RETURN(json stored, SendJson("GET", "/" + meta_index_ + "/_doc/system", "",
                                           "read the system id"));
    const json* source = Member(stored, "_source");
    system_id_ = source != nullptr ? StringMember(*source, "system_id") : "";
    if (system_id_.empty()) {
      return absl::InternalError(fmt::format("elasticsearch: {} holds no system id", meta_index_));
    }
    return absl::OkStatus();
  }

  // Sends spans[first, last) in _bulk requests of at most kMaxBulkBodyBytes each (more only for
  // one span alone): the engines refuse a request larger than a tenth of their heap with 429 (a
  // refusal that retrying would never get past), and recommend bulks of a few MB.
  absl::Status Bulk(const std::vector<StoredSpan>& spans, size_t first, size_t last) {
    // Written by hand, not through a JSON object per span: this runs for every span stored.
    std::string body;
    size_t in_body = 0;
    auto send = [&]() -> absl::Status {
      const std::string what = fmt::format("bulk write of {} spans", in_body);
      ASSIGN_OR_RETURN(
          json answer,
          SendJson("POST", "/_bulk?filter_path=errors,items.*.status,items.*.error", body, what));
      RETURN_IF_ERROR(CheckBulkAnswer(answer, in_body, what));
      body.clear();
      in_body = 0;
      return absl::OkStatus();
    };
    std::set<std::string> keys, values;
    std::vector<std::string> facets;
    std::string encoded, base64;
    for (size_t i = first; i < last; ++i) {
      const StoredSpan& s = spans[i];
      ASSIGN_OR_RETURN(encoded, EncodeSpanBlock(std::vector<const StoredSpan*>{&s},
                                                SpanBlockOptions{.compress = false}));
      absl::Base64Escape(encoded, &base64);
      const std::string trace_id = ToHex(s.span.trace_id);
      const std::string id = trace_id + ToHex(s.span.span_id);
      fmt::format_to(std::back_inserter(body),
                     "{{\"create\":{{\"_index\":\"{}-spans-{}\",\"_id\":\"{}\"}}}}\n"
                     "{{\"trace_id\":\"{}\",\"id\":\"{}\",\"start\":{},\"duration\":{},"
                     "\"span\":\"{}\",\"service\":",
                     settings_.index_prefix, DayName(s.span.start_time_unix_nano / kNanosPerDay),
                     id, trace_id, id, Ordered(s.span.start_time_unix_nano),
                     Ordered(s.span.DurationNano()), base64);
      // Invalid UTF-8 in indexed copies becomes U+FFFD; the encoded span keeps the bytes.
      AppendJsonString(&body, model::ServiceName(*s.resource));
      body += ",\"name\":";
      AppendJsonString(&body, s.span.name);
      // The duration as the query engine compares it (int64), its sketch bucket, and the start
      // in whole milliseconds.
      const auto dur = static_cast<int64_t>(s.span.DurationNano());
      fmt::format_to(
          std::back_inserter(body),
          ",\"status\":\"{}\",\"kind\":\"{}\",\"dur\":{},\"dur_bucket\":{},\"start_ms\":{}",
          std::get<std::string>(
              query::SpanIntrinsicValue(query::Intrinsic::kStatusCode, s).value),
          std::get<std::string>(query::SpanIntrinsicValue(query::Intrinsic::kKind, s).value),
          dur, query::DurationSketch::BucketOf(static_cast<double>(dur)),
          s.span.start_time_unix_nano / 1000000);
      keys.clear();
      values.clear();
      AddAttributeTerms(s, &keys, &values);
      for (const auto& [field, terms] : {std::pair<const char*, const std::set<std::string>*>{
                                             "attr_keys", &keys},
                                         {"attr_values", &values}}) {
        fmt::format_to(std::back_inserter(body), ",\"{}\":[", field);
        bool comma = false;
        for (const std::string& term : *terms) {
          if (comma) body += ',';
          comma = true;
          AppendJsonString(&body, term);
        }
        body += ']';
      }
      facets.clear();
      AddFacetTerms(s, &facets);
      body += ",\"facet_values\":[";
      for (size_t f = 0; f < facets.size(); ++f) {
        if (f > 0) body += ',';
        AppendJsonString(&body, facets[f]);
      }
      body += "]}\n";
      ++in_body;
      if (body.size() >= kMaxBulkBodyBytes) RETURN_IF_ERROR(send());
    }
    return in_body == 0 ? absl::OkStatus() : send();
  }

  // Before a read: readiness, and a refresh when spans were written since the last one, so the
  // read sees every acknowledged span.
  absl::Status PrepareRead() {
    RETURN_IF_ERROR(EnsureReady());
    const uint64_t written = written_.load(std::memory_order_acquire);
    if (refreshed_.load(std::memory_order_acquire) >= written) return absl::OkStatus();
    std::lock_guard<std::mutex> lock(refresh_mu_);
    if (refreshed_.load(std::memory_order_acquire) >= written) return absl::OkStatus();
    const uint64_t covers = written_.load(std::memory_order_acquire);
    RETURN_IF_ERROR(SendJson("POST",
                             "/" + spans_pattern_ + "/_refresh?ignore_unavailable=true&allow_no_indices=true",
                             "", "refresh the span indices")
                        .status());
    refreshed_.store(covers, std::memory_order_release);
    return absl::OkStatus();
  }

  // The indices a query over `range` reads: each daily index by name for short ranges (missing
  // ones are ignored), else the wildcard.
  std::string IndicesFor(const std::optional<query::TimeRange>& range) const {
    if (!range) return spans_pattern_;
    const uint64_t first = range->start_unix_nano / kNanosPerDay;
    const uint64_t last = range->end_unix_nano / kNanosPerDay;
    if (last < first || last - first >= kMaxNamedDays) return spans_pattern_;
    std::string names;
    for (uint64_t day = first; day <= last; ++day) {
      if (!names.empty()) names += ',';
      names += fmt::format("{}-spans-{}", settings_.index_prefix, DayName(day));
    }
    return names;
  }

  // The engine clauses for `filters`: each selects a superset of what its filter matches
  // (search_query.h), and the matcher runs on every span returned.
  static json FilterClauses(const std::vector<query::Filter>& filters) {
    json clauses = json::array();
    for (const query::Filter& f : filters) {
      if (std::optional<json> clause = SupersetClause(f)) clauses.push_back(std::move(*clause));
    }
    return clauses;
  }

  static json BoolQuery(json filters) { return {{"bool", {{"filter", std::move(filters)}}}}; }

  // Pages through the hits of `query` over `indices` in `sort` order (which must end in a unique
  // field), `page` hits per request, starting after `after` (null = from the start), decoding each
  // span and handing it to `fn` until it returns false or the hits run out.
  absl::Status Scan(const std::string& indices, const json& query, json sort, size_t page,
                    json after, const std::function<bool(StoredSpan&&)>& fn) {
    const std::string path = fmt::format(
        "/{}/_search?ignore_unavailable=true&allow_no_indices=true&filter_path=hits.hits._source,"
        "hits.hits.sort",
        indices);
    json body = {{"size", std::min(page, size_t{10000})},
                 {"query", query},
                 {"sort", std::move(sort)},
                 {"track_total_hits", false},
                 {"_source", json::array({"span"})}};
    while (true) {
      if (!after.is_null()) body["search_after"] = after;
      absl::StatusOr<json> answer = SendJson("POST", path, body.dump(), "search spans");
      // A page larger than max_response_bytes (spans with huge attributes): ask for fewer hits.
      // One span always fits (a span block is at most 16 MiB, 22 MiB in base64).
      if (absl::IsResourceExhausted(answer.status()) && body["size"].get<size_t>() > 1) {
        body["size"] = body["size"].get<size_t>() / 2;
        continue;
      }
      if (!answer.ok()) return answer.status();
      ASSIGN_OR_RETURN(SearchPage page, ReadSearchPage(*answer));
      for (StoredSpan& span : page.spans) {
        if (!fn(std::move(span))) return absl::OkStatus();
      }
      if (page.spans.size() < body["size"].get<size_t>()) return absl::OkStatus();
      if (page.last_sort == after) {  // an engine that does not move on would loop forever
        return absl::InternalError("elasticsearch: search_after returned the same page again");
      }
      after = std::move(page.last_sort);
    }
  }

  // The pushed-down answer, counted, or else what `scan` answers.
  template <typename Result, typename Scan>
  absl::StatusOr<Result> PushedDownOr(absl::StatusOr<std::optional<Result>> pushed,
                                      const Scan& scan) {
    RETURN_IF_ERROR(pushed.status());
    if (!*pushed) return scan();
    pushed_down_.fetch_add(1, std::memory_order_relaxed);
    return std::move(**pushed);
  }

  // The engine's answer to `request` over `indices` as `read` reads it; nullopt without a request,
  // when an index is older than `schema` (lacks the fields), or when `read` finds the answer
  // could not be exact.
  template <typename Result, typename Read>
  absl::StatusOr<std::optional<Result>> PushDown(const std::optional<json>& request, int schema,
                                                 const std::string& indices, const Read& read) {
    if (!request) return std::nullopt;
    ASSIGN_OR_RETURN(int oldest, ReadyToAggregate(indices));
    if (oldest < schema) return std::nullopt;
    ASSIGN_OR_RETURN(json answer, Aggregate(indices, *request));
    return read(answer);
  }

  // A histogram asked in parts of TimeBucketsPerRequest time buckets, so that no answer holds more
  // buckets than the engine allows; the indices are checked once, for the whole range (each
  // part's indices are among them).
  absl::StatusOr<std::optional<query::HistogramResult>> PushDownHistograms(
      const query::HistogramQuery& q) {
    if (std::optional<json> counts = GroupCountsRequest(q)) {
      return PushDownGroupedPercentiles(q, *counts);
    }
    const uint64_t per_request = TimeBucketsPerRequest(q);
    if (per_request == 0) return std::nullopt;
    const uint64_t interval = q.interval_nano;
    const uint64_t span = per_request * interval;  // at most kMaxPushedDownBuckets intervals
    const uint64_t first = q.range.start_unix_nano - q.range.start_unix_nano % interval;
    ASSIGN_OR_RETURN(int schema, ReadyToAggregate(IndicesFor(q.range)));
    query::HistogramResult merged(q.aggregations.size());
    for (uint64_t from = first;; from += span) {
      query::HistogramQuery part = q;
      part.range.start_unix_nano = std::max(from, q.range.start_unix_nano);
      part.range.end_unix_nano =
          q.range.end_unix_nano - from < span ? q.range.end_unix_nano : from + span - 1;
      std::optional<json> request = HistogramsRequest(part, schema);
      if (!request) return std::nullopt;
      ASSIGN_OR_RETURN(json answer, Aggregate(IndicesFor(part.range), *request));
      ASSIGN_OR_RETURN(std::optional<query::HistogramResult> read,
                       ReadHistograms(answer, part, schema));
      if (!read) return std::nullopt;
      for (size_t j = 0; j < read->size(); ++j) {
        merged[j].label = (*read)[j].label;
        for (query::HistogramBucket& b : (*read)[j].buckets) {
          merged[j].buckets.push_back(std::move(b));
        }
      }
      if (part.range.end_unix_nano == q.range.end_unix_nano) return merged;
    }
  }

  // Grouped duration percentiles over one time bucket, in two steps (search_aggregations.h
  // GroupCountsRequest): the groups' counts, then the kept groups' duration buckets.
  absl::StatusOr<std::optional<query::HistogramResult>> PushDownGroupedPercentiles(
      const query::HistogramQuery& q, const json& counts_request) {
    const std::string indices = IndicesFor(q.range);
    ASSIGN_OR_RETURN(int schema, ReadyToAggregate(indices));
    if (schema < kQueryFieldsSchema) return std::nullopt;
    ASSIGN_OR_RETURN(json counts, Aggregate(indices, counts_request));
    ASSIGN_OR_RETURN(std::optional<query::GroupedPercentiles> grouped, ReadGroupCounts(counts, q));
    if (!grouped) return std::nullopt;
    query::HistogramResult result(1);
    result[0].label = q.aggregations[0].label;
    if (grouped->total_count == 0) return result;
    std::vector<query::GroupPercentiles>& groups = grouped->groups;
    for (size_t from = 0; from < groups.size(); from += kPercentileGroupsPerRequest) {
      std::vector<query::GroupPercentiles> part(
          groups.begin() + from,
          groups.begin() + std::min(groups.size(), from + kPercentileGroupsPerRequest));
      ASSIGN_OR_RETURN(json answer, Aggregate(indices, GroupPercentilesRequest(q, part)));
      ASSIGN_OR_RETURN(bool read, ReadGroupPercentiles(answer, q, part));
      if (!read) return std::nullopt;
      std::move(part.begin(), part.end(), groups.begin() + from);
    }
    // The counts are the second answers': order by them, ties by key, as the API promises.
    std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
      return std::get<std::string>(a.key) < std::get<std::string>(b.key);
    });
    query::KeepLargestGroups(groups, 0);
    const uint64_t first = q.range.start_unix_nano - q.range.start_unix_nano % q.interval_nano;
    query::HistogramBucket& bucket = result[0].buckets.emplace_back();
    bucket.bucket_key = first;
    bucket.data = std::move(*grouped);
    return result;
  }

  // The read preparation (a refresh when this process wrote), then IndexSchema(indices).
  absl::StatusOr<int> ReadyToAggregate(const std::string& indices) {
    RETURN_IF_ERROR(PrepareRead());
    return IndexSchema(indices);
  }

  absl::StatusOr<json> Aggregate(const std::string& indices, const json& request) {
    return SendJson("POST",
                    "/" + indices +
                        "/_search?ignore_unavailable=true&allow_no_indices=true&"
                        "filter_path=hits.total,aggregations",
                    request.dump(), "aggregate spans");
  }

  // The oldest schema among the existing indices of `indices`: the teletrace_schema of their
  // mapping's _meta, 1 without one (every document of an index has its schema's fields), the
  // template's when none exists.
  absl::StatusOr<int> IndexSchema(const std::string& indices) {
    ASSIGN_OR_RETURN(json mappings,
                     SendJson("GET",
                              "/" + indices +
                                  "/_mapping?ignore_unavailable=true&allow_no_indices=true&"
                                  "filter_path=*.mappings._meta,*.mappings.dynamic",
                              "", "read the span index mappings"));
    if (!mappings.is_object()) return 1;
    int oldest = kStartMillisSchema;
    for (const auto& [name, index] : mappings.items()) {
      const json* mapping = Member(index, "mappings");
      const json* meta = mapping != nullptr ? Member(*mapping, "_meta") : nullptr;
      const json* schema = meta != nullptr ? Member(*meta, "teletrace_schema") : nullptr;
      if (schema == nullptr || !schema->is_number_integer() || schema->get<int64_t>() < 1) {
        return 1;
      }
      oldest = static_cast<int>(std::min<int64_t>(oldest, schema->get<int64_t>()));
    }
    return oldest;
  }

  absl::StatusOr<std::vector<DailyIndex>> ListDailyIndices() {
    ASSIGN_OR_RETURN(
        SearchResponse r,
        http_.Send("GET",
                   "/_cat/indices/" + spans_pattern_ +
                       "?format=json&bytes=b&h=index,store.size&expand_wildcards=open",
                   "", "list the span indices"));
    if (r.status == 404) return std::vector<DailyIndex>{};
    RETURN_IF_ERROR(Check(r, "list the span indices"));
    ASSIGN_OR_RETURN(json rows, ParseBody(r, "list the span indices"));
    std::vector<DailyIndex> out;
    if (!rows.is_array()) return out;
    const std::string prefix = settings_.index_prefix + "-spans-";
    for (const json& row : rows) {
      DailyIndex index;
      index.name = StringMember(row, "index");
      if (index.name.rfind(prefix, 0) != 0 ||
          !ParseDayName(std::string_view(index.name).substr(prefix.size()), &index.day)) {
        continue;
      }
      const std::string size = StringMember(row, "store.size");
      std::from_chars(size.data(), size.data() + size.size(), index.bytes);
      out.push_back(std::move(index));
    }
    return out;
  }

  const SearchSettings settings_;
  SearchHttp http_;
  const std::string spans_pattern_;
  const std::string meta_index_;
  std::mutex ready_mu_;
  bool ready_ = false;
  std::string system_id_;
  std::atomic<uint64_t> written_{0};    // successful WriteSpans calls
  std::atomic<uint64_t> refreshed_{0};  // how many of them the last refresh covered
  std::mutex refresh_mu_;
  std::atomic<uint64_t> pushed_down_{0};  // aggregations the engine answered
  std::mutex merged_mu_;
  std::set<std::string> merged_;  // daily indices force-merged by this process
};

}  // namespace

uint64_t PushedDownAggregations(const Backend& backend) {
  const auto* search = dynamic_cast<const SearchBackend*>(&backend);
  return search != nullptr ? search->pushed_down() : 0;
}

absl::StatusOr<std::unique_ptr<Backend>> NewSearchBackend(const BackendSettings& settings) {
  ASSIGN_OR_RETURN(SearchSettings parsed, ParseSearchSettings(settings));
  auto backend = std::make_unique<SearchBackend>(std::move(parsed));
  absl::Status ready = backend->EnsureReady();
  if (!ready.ok() && !absl::IsUnavailable(ready)) return ready;
  if (!ready.ok()) spdlog::warn("{}; will retry on first use", std::string(ready.message()));
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace teletrace::storage::elasticsearch
