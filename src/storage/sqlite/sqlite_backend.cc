#include "storage/sqlite/sqlite_backend.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "common/cancel.h"
#include "common/ids.h"
#include "common/ordered_workers.h"
#include "common/status_macros.h"
#include "common/uuid.h"
#include "common/time_util.h"
#include "fmt/format.h"
#include "query/engine.h"
#include "query/parse.h"
#include "query/values.h"
#include "storage/block_calls.h"
#include "storage/block_summary.h"
#include "storage/block_value_counts.h"
#include "storage/key_catalog.h"
#include "storage/span_block_codec.h"
#include "storage/span_projection.h"
#include "storage/span_refs_query.h"
#include "storage/sqlite/migrations.h"
#include "storage/sqlite/operations_catalog.h"
#include "storage/sqlite/sqlite_connection.h"
#include "storage/sqlite/sqlite_settings.h"
#include "storage/sqlite/string_counts.h"
#include "storage/sqlite/trace_index.h"

namespace teletrace::storage {
namespace {

using model::StoredSpan;
using sqlite::SqliteConnection;
using sqlite::SqliteSettings;
using sqlite::SqliteStatement;

// WAL readers do not block each other or the writer; a handful covers the API's concurrency on the
// small machines this backend targets.
constexpr size_t kMaxReaders = 4;
// Retention deletes this many blocks (~1,000 spans each) per transaction, so the writer waits at
// most a few milliseconds for the write lock.
constexpr int kRetentionBlocksPerTxn = 32;

// SQLite integers are signed; times past 2262 are clamped, which only widens pruning bounds.
int64_t ToDb(uint64_t v) { return v > INT64_MAX ? INT64_MAX : static_cast<int64_t>(v); }
uint64_t MinFromDb(int64_t v) { return v < 0 ? 0 : static_cast<uint64_t>(v); }
uint64_t MaxFromDb(int64_t v) {
  if (v == INT64_MAX) return UINT64_MAX;
  return v < 0 ? 0 : static_cast<uint64_t>(v);
}

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      fmt::format("{}: {}", context, std::string(status.message())));
}

using Clock = std::chrono::steady_clock;

// How a scan with a time budget says it stopped early (never returned to the API).
absl::Status BudgetSpent() { return absl::DeadlineExceededError("sqlite: time budget spent"); }

// Scans decode blocks on worker threads while the reading thread fetches the next ones, and
// consume them in block order (so answers do not depend on timing). A scan of a few blocks stays
// on its thread: starting workers would cost more than it saves.
template <typename R>
using Workers = OrderedWorkers<absl::StatusOr<R>>;
using BlockWorkers = std::unique_ptr<Workers<std::vector<StoredSpan>>>;
constexpr size_t kMinBlocksForWorkers = 4;

size_t BlockThreads(size_t blocks) {
  return blocks >= kMinBlocksForWorkers ? OrderedWorkers<int>::DefaultThreads() : 0;
}

template <typename R = std::vector<StoredSpan>>
std::unique_ptr<Workers<R>> NewBlockWorkers(size_t blocks) {
  const size_t threads = BlockThreads(blocks);
  return std::make_unique<Workers<R>>(threads, 2 * threads + 2);
}

// The refs of block `id` (DecodeSpanRefs) whose spans match `filters` (KeepMatching); nullopt for
// a block without refs (format 1), which the caller decodes into spans.
absl::StatusOr<std::optional<SpanRefs>> MatchingRefs(std::string_view bytes, int64_t id,
                                                     const SpanFields& fields,
                                                     const std::vector<query::Filter>& filters,
                                                     const std::optional<StartRange>& starts,
                                                     RowTimes times) {
  absl::StatusOr<std::optional<SpanRefs>> refs = DecodeSpanRefs(bytes, fields, starts, times);
  if (!refs.ok()) return Annotate(refs.status(), fmt::format("block {}", id));
  if (*refs) KeepMatching(filters, **refs);
  return refs;
}

// Block `block_id`'s spans with only `fields` decoded; errors name the block.
absl::StatusOr<std::vector<StoredSpan>> DecodeBlock(std::string_view bytes, int64_t block_id,
                                                    const SpanFields& fields) {
  absl::StatusOr<std::vector<StoredSpan>> spans = DecodeSpanBlock(bytes, fields);
  if (!spans.ok()) return Annotate(spans.status(), fmt::format("block {}", block_id));
  return spans;
}

// Whether a scan of `fields` reads nothing but times and status codes: the search page's panels,
// which decode those streams alone (DecodeSpanTimes).
bool ReadsOnlyTimes(const SpanFields& fields) {
  return (fields.groups & ~uint32_t{SpanFields::kStatusCode}) == 0 &&
         fields.span_attributes.empty();
}

// Whether a scan of `fields` with `filters` reads each block's refs alone (MatchingRefs): filters
// that read only resources, scopes, names, kinds, status codes and times, and a query that reads
// only those.
bool ScansRefs(const SpanFields& fields, const std::vector<query::Filter>& filters) {
  return !filters.empty() && ReadsOnlyRefs(fields) && FiltersReadOnlyRefs(filters, /*times=*/true);
}

using SpanKey = std::pair<TraceId, SpanId>;

// ---- The trace index ----

using sqlite::AppendFingerprint;
using sqlite::FingerprintAt;
using sqlite::FingerprintCount;
using sqlite::SpanFingerprint;

// SQL function teletrace_span_fingerprints(ids): 8-byte span ids, concatenated, as concatenated
// fingerprints. Migration 004 rewrites the trace index with it.
void SqlSpanFingerprints(sqlite3_context* ctx, int /*argc*/, sqlite3_value** argv) {
  const auto* data = static_cast<const char*>(sqlite3_value_blob(argv[0]));
  const std::string_view ids(data == nullptr ? "" : data,
                             static_cast<size_t>(sqlite3_value_bytes(argv[0])));
  std::string out;
  for (size_t i = 0; i + 8 <= ids.size(); i += 8) {  // as the readers of 8-byte ids did
    SpanId id;
    IdFromBytes(ids.substr(i, 8), &id);
    AppendFingerprint(id, out);
  }
  sqlite3_result_blob64(ctx, out.data(), out.size(), SQLITE_TRANSIENT);
}

// ---- Dependencies ----

// What a call needs of a span: its ids, its service and its status.
SpanFields CallFields() {
  return {SpanFields::kIds | SpanFields::kResourceAndScope | SpanFields::kStatusCode, {}};
}

// What a block's value counts say about a filter for all of its spans.
enum class FilterVerdict { kAll = 0, kUnknown = 1, kNone = 2 };  // ordered: max() combines

// Filters a block's value counts can decide: equals/in with string operands on a counted key.
// (A string operand equals only string values, and every span carrying a scalar value is
// counted, so the counts say exactly which spans match, unless some span carries an array.)
bool CountDecidable(const query::Filter& f) {
  if (!IsCountedKey(f.key)) return false;
  if (f.op == query::Operator::kEquals) {
    return f.value.has_value() && std::holds_alternative<std::string>(*f.value);
  }
  if (f.op == query::Operator::kIn) {
    return std::all_of(f.values.begin(), f.values.end(), [](const query::Scalar& v) {
      return std::holds_alternative<std::string>(v);
    });
  }
  return false;
}

// kAll when every one of the block's `span_count` spans matches `f` (CountDecidable), kNone when
// none does, kUnknown when some do, the key has too many values to be counted, or spans carry
// values the counts leave out (arrays, maps, bytes).
FilterVerdict VerdictFromCounts(const BlockValueCounts& counts, const query::Filter& f,
                                uint64_t span_count) {
  uint64_t matching = 0, counted = 0;
  auto add = [&](const query::TagValue& value, uint64_t n) {
    counted += n;
    const auto* s = std::get_if<std::string>(&value);
    if (s == nullptr) return;
    if (f.op == query::Operator::kEquals) {
      if (*s == std::get<std::string>(*f.value)) matching += n;
      return;
    }
    for (const query::Scalar& operand : f.values) {
      if (*s == std::get<std::string>(operand)) {
        matching += n;
        return;
      }
    }
  };
  if (!counts.ForEachCount(f.key, add)) return FilterVerdict::kUnknown;
  if (matching == span_count) return FilterVerdict::kAll;
  if (matching == 0 && counted == span_count) return FilterVerdict::kNone;
  return FilterVerdict::kUnknown;
}

struct BlockBounds {
  int64_t block_id = 0;
  uint64_t min_start = 0;
  uint64_t max_start = 0;
  uint64_t min_duration = 0;
  uint64_t max_duration = 0;
  uint64_t span_count = 0;  // 0 unless BlocksInRange was asked for span counts
};

// For a block whose spans all lie in the scanned range and all match its filters: the way to add
// it from its value counts instead of its spans (run once every block before it is added; false
// when it cannot after all), or an empty function to have the block decoded. With `from_groups`,
// the counts may also be those of the groups of a block that its filters keep
// (BlockValueCounts::FromGroups), when every filter is on a group key: set it only when `add`
// reads no key but group keys, or every such block is read twice.
//
// `whole`, when set, is offered every block wholly inside the range first, on the reading thread
// in block order (blocks before it may still be decoding): true when it answered for the block
// from what it reads on `conn` (the scan's connection), false to have the block go on as above.
// It is not set with `from_groups`: groups are read ahead of the scan for every block inside the
// range (GroupsAhead), so a block `whole` answered would leave its groups untaken.
struct BlockAnswer {
  std::function<std::function<bool()>(const BlockBounds& block, const BlockValueCounts& counts)>
      add;
  bool from_groups = false;
  std::function<absl::StatusOr<bool>(SqliteConnection& conn, const BlockBounds& block)> whole;
  // Whether `add` reads the duration sketches of counts from groups (false: their Durations()
  // hold none; GroupsRead).
  bool group_sketches = true;
  // Blocks are added from counts or groups only when the range's blocks hold more spans than
  // this: a range of fewer is decoded, and answered as exactly as spans one by one allow.
  uint64_t more_spans_than = 0;
  // `add` answers only from groups (what it needs, such as durations per service, no block's own
  // counts hold): a scan whose filters are not all on group keys reads no counts for it.
  bool groups_only = false;
  // A span attribute whose counts per group `add` reads from groups (GroupsRead::attribute).
  std::string group_attribute = {};
};

// Whether the newest group attributes stored count span attribute `name` per group (or hold no
// span carrying it); false when there are none or they are unreadable.
absl::StatusOr<bool> GroupsCountAttribute(SqliteConnection& conn, std::string_view name) {
  ASSIGN_OR_RETURN(SqliteStatement select,
                   conn.Prepare("SELECT g.groups, a.attributes FROM block_group_attributes a "
                                "JOIN block_groups g ON g.block_id = a.block_id "
                                "ORDER BY a.block_id DESC LIMIT 1"));
  ASSIGN_OR_RETURN(bool row, select.Step());
  if (!row) return false;
  absl::StatusOr<BlockValueCounts> all = BlockValueCounts::FromGroups(
      select.ColumnBlob(0), [](const StoredSpan&) { return true; },
      {/*keep_reads_kind=*/false, /*sketches=*/false, name, select.ColumnBlob(1)});
  query::Key key;
  key.level = query::KeyLevel::kSpan;
  key.name = std::string(name);
  return all.ok() && all->ForEachCount(key, [](const query::TagValue&, uint64_t) {});
}

// Reads the groups of the blocks a scan answers from groups a window ahead of the scan, and
// parses them (BlockValueCounts::FromGroups, which matches each group and sums the kept groups'
// sketches) on worker threads, in batches: on the reading thread that parsing was two thirds of
// the services overview. Results come back in block order, so answers do not depend on timing.
// (The same for value counts gained nothing measurable: parsing them is cheap next to reading
// them.)
class GroupsAhead {
 public:
  // The block's groups, and its group attributes (empty without them, or when not selected).
  using Parse = std::function<absl::StatusOr<BlockValueCounts>(std::string_view groups,
                                                               std::string_view attributes)>;

  // `wanted(block)` says which of `blocks` the scan reads the groups of; `select` is bound to a
  // block id and yields its groups, and may yield its group attributes (or NULL) second.
  GroupsAhead(SqliteStatement& select, const std::vector<BlockBounds>& blocks,
              std::function<bool(const BlockBounds&)> wanted, Parse parse)
      : select_(select),
        blocks_(blocks),
        wanted_(std::move(wanted)),
        parse_(std::move(parse)),
        workers_(BlockThreads(blocks.size()), 2 * BlockThreads(blocks.size()) + 2) {}

  // The parsed groups of blocks[i] (NotFound when it has none); the outer status is SQLite's.
  // Requires wanted(blocks[i]), and calls in ascending i.
  absl::StatusOr<absl::StatusOr<BlockValueCounts>> Take(size_t i) {
    if (ready_.empty()) {
      while (!workers_.Full() && next_ < blocks_.size()) RETURN_IF_ERROR(SubmitBatch());
      if (workers_.Empty()) {
        return absl::InternalError(fmt::format("sqlite: groups of block {} not read ahead", i));
      }
      for (absl::StatusOr<BlockValueCounts>& parsed : workers_.Next()) {
        ready_.push_back(std::move(parsed));
      }
    }
    if (queued_.empty() || queued_.front() != i || ready_.empty()) {
      return absl::InternalError(fmt::format("sqlite: groups of block {} not read ahead", i));
    }
    queued_.pop_front();
    absl::StatusOr<BlockValueCounts> parsed = std::move(ready_.front());
    ready_.pop_front();
    return parsed;
  }

 private:
  static constexpr size_t kBatch = 16;
  using Batch = std::vector<absl::StatusOr<BlockValueCounts>>;

  // Reads the groups of up to kBatch more wanted blocks and has a worker parse them.
  absl::Status SubmitBatch() {
    // Each block's groups and group attributes.
    std::vector<std::optional<std::pair<std::string, std::string>>> rows;
    while (next_ < blocks_.size() && rows.size() < kBatch) {
      const BlockBounds& block = blocks_[next_++];
      if (!wanted_(block)) continue;
      select_.Reset();
      select_.BindInt(1, block.block_id);
      ASSIGN_OR_RETURN(bool row, select_.Step());
      if (row) {
        rows.emplace_back(std::in_place, select_.ColumnBlob(0),
                          select_.ColumnCount() > 1 ? select_.ColumnBlob(1) : std::string_view());
      } else {
        rows.emplace_back(std::nullopt);
      }
      queued_.push_back(next_ - 1);
    }
    if (rows.empty()) return absl::OkStatus();
    workers_.Submit([this, rows = std::move(rows)] {
      Batch parsed;
      parsed.reserve(rows.size());
      for (const auto& row : rows) {
        parsed.push_back(row ? parse_(row->first, row->second) : absl::NotFoundError("no groups"));
      }
      return parsed;
    });
    return absl::OkStatus();
  }

  SqliteStatement& select_;
  const std::vector<BlockBounds>& blocks_;
  const std::function<bool(const BlockBounds&)> wanted_;
  const Parse parse_;
  size_t next_ = 0;            // the next block to consider reading
  std::deque<size_t> queued_;  // blocks whose groups are submitted and not taken, in order
  std::deque<absl::StatusOr<BlockValueCounts>> ready_;  // parsed, of queued_'s first blocks
  OrderedWorkers<Batch> workers_;                       // last: joined first
};

// Undoes an open write transaction unless Commit() succeeded.
class WriteTxn {
 public:
  explicit WriteTxn(SqliteConnection& conn) : conn_(conn) {}
  ~WriteTxn() {
    if (open_) conn_.Exec("ROLLBACK").IgnoreError();
  }
  // IMMEDIATE takes the write lock up front, so a transaction that reads before it writes cannot
  // fail with SQLITE_BUSY halfway.
  absl::Status Begin(bool immediate = true) {
    RETURN_IF_ERROR(conn_.Exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN"));
    open_ = true;
    return absl::OkStatus();
  }
  absl::Status Commit() {
    RETURN_IF_ERROR(conn_.Exec("COMMIT"));
    open_ = false;
    return absl::OkStatus();
  }

 private:
  SqliteConnection& conn_;
  bool open_ = false;
};

// Decides per block whether its summary rules out the query: filters are ANDed, so one filter the
// summary rules out is enough. Reads no summary when no filter is prunable, and never prunes a
// block without a (readable) summary: blocks written before migration 002 are simply decoded.
class SummaryPruner {
 public:
  explicit SummaryPruner(const std::vector<query::Filter>& filters) {
    for (const query::Filter& f : filters) {
      if (IsPrunable(f)) prunable_.emplace_back(f);
    }
  }

  // True when no span of the block can match; errors are SQLite's. One pruner serves one read
  // transaction on `conn`.
  absl::StatusOr<bool> CanSkip(SqliteConnection& conn, int64_t block_id) {
    if (prunable_.empty()) return false;
    if (!select_) {
      ASSIGN_OR_RETURN(SqliteStatement stmt,
                       conn.Prepare("SELECT terms FROM block_summaries WHERE block_id = ?"));
      select_.emplace(std::move(stmt));
    }
    select_->Reset();
    select_->BindInt(1, block_id);
    ASSIGN_OR_RETURN(bool row, select_->Step());
    if (!row) return false;
    // Read in place. A corrupt summary only costs the decode; the block stays the source of truth.
    const std::string_view summary = select_->ColumnBlob(0);
    return std::any_of(prunable_.begin(), prunable_.end(),
                       [summary](const SummaryFilter& f) { return !f.MayMatch(summary); });
  }

 private:
  std::vector<SummaryFilter> prunable_;
  std::optional<SqliteStatement> select_;  // prepared on first use: one prepare per query
};

// ---- Writes ----

// One block ready to insert: everything that is computed from its spans alone.
struct PreparedBlock {
  std::string data;     // EncodeSpanBlock
  std::string summary;  // BlockSummaryBuilder
  std::string counts;   // BlockValueCountsBuilder
  std::string groups;   // BlockValueCountsBuilder::Groups; empty when the block keeps none
  std::string group_attributes;  // BlockValueCountsBuilder::GroupAttributes; likewise
  std::string key_catalog;  // KeyCatalogOf
  std::string calls;        // EncodeBlockCalls; empty when too many of its calls stay open
  sqlite::BlockOperations operations;  // OperationsOfBlock, for the operations catalog
  BlockBounds bounds;
  uint64_t ingestion_time_unix_nano = 0;
  std::vector<std::pair<TraceId, std::string>> fingerprints_by_trace;  // of span ids, by trace
};

// The spans written.spans()[first, last) (non-empty) as one block, or as several when they are too
// large for one (halved until each part fits, so every block stays readable).
absl::Status PrepareChunk(const WrittenSpans& written, size_t first, size_t last,
                          std::vector<PreparedBlock>& out) {
  const auto begin = written.spans().begin() + static_cast<ptrdiff_t>(first);
  std::vector<const StoredSpan*> chunk(begin, begin + static_cast<ptrdiff_t>(last - first));
  absl::StatusOr<std::string> data = EncodeSpanBlock(chunk);
  if (data.status().code() == absl::StatusCode::kOutOfRange && chunk.size() > 1) {
    const size_t middle = first + chunk.size() / 2;
    RETURN_IF_ERROR(PrepareChunk(written, first, middle, out));
    return PrepareChunk(written, middle, last, out);
  }
  if (!data.ok()) return data.status();
  PreparedBlock& block = out.emplace_back();
  block.data = *std::move(data);
  block.bounds = BlockBounds{0, UINT64_MAX, 0, UINT64_MAX, 0, chunk.size()};
  block.ingestion_time_unix_nano = chunk.front()->ingestion_time_unix_nano;
  BlockSummaryBuilder summary;
  BlockValueCountsBuilder counts;
  std::vector<SpanKey> keys;
  keys.reserve(chunk.size());
  for (const StoredSpan* s : chunk) {
    BlockBounds& b = block.bounds;
    b.min_start = std::min(b.min_start, s->span.start_time_unix_nano);
    b.max_start = std::max(b.max_start, s->span.start_time_unix_nano);
    b.min_duration = std::min(b.min_duration, s->span.DurationNano());
    b.max_duration = std::max(b.max_duration, s->span.DurationNano());
    summary.Add(*s);
    counts.Add(*s);
    keys.emplace_back(s->span.trace_id, s->span.span_id);
  }
  block.summary = std::move(summary).Finish();
  ASSIGN_OR_RETURN(block.groups, counts.Groups());
  ASSIGN_OR_RETURN(block.group_attributes, counts.GroupAttributes());
  block.counts = std::move(counts).Finish();
  block.key_catalog = KeyCatalogOf(chunk);
  block.operations = sqlite::OperationsOfBlock(chunk);
  if (std::optional<StoredCalls> calls = CallsOfBlock(written, first, last)) {
    block.calls = EncodeBlockCalls(*calls);
  }
  // Span fingerprints in start-time order within each trace, as the block holds the spans.
  std::stable_sort(keys.begin(), keys.end(),
                   [](const SpanKey& a, const SpanKey& b) { return a.first < b.first; });
  auto& by_trace = block.fingerprints_by_trace;
  for (const auto& [trace_id, span_id] : keys) {
    if (by_trace.empty() || by_trace.back().first != trace_id) {
      by_trace.emplace_back(trace_id, std::string());
    }
    AppendFingerprint(span_id, by_trace.back().second);
  }
  return absl::OkStatus();
}

using Built = std::vector<PreparedBlock>;
using BuildWorkers = Workers<Built>;

// A batch made ready for CommitWrite: flattened, without copies of one span, in start-time order,
// cut into built blocks.
class SqlitePreparedWrite final : public Backend::PreparedWrite {
 public:
  size_t batch_size = 0;                // spans in the batch as received
  std::vector<StoredSpan> flat;         // the batch's spans
  std::vector<const StoredSpan*> spans;  // the first copy of each (trace id, span id), sorted
  // The batch's span ids per trace, sorted (to look up which are stored already).
  std::vector<std::pair<TraceId, std::vector<SpanId>>> incoming;
  absl::StatusOr<std::vector<PreparedBlock>> blocks;
};

class SqliteBackend final : public Backend {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteBackend>> Open(SqliteSettings settings);

  absl::Status WriteSpans(model::SpanBatch batch, uint64_t ingestion_time_unix_nano) override;
  std::unique_ptr<PreparedWrite> PrepareWrite(model::SpanBatch batch,
                                              uint64_t ingestion_time_unix_nano) override;
  absl::Status CommitWrite(PreparedWrite& prepared) override;
  absl::StatusOr<query::SearchResult> Search(const query::SearchQuery& query) override;
  absl::StatusOr<query::TraceResult> GetTrace(const query::TraceQuery& query) override;
  absl::StatusOr<std::vector<query::TagInfo>> TagKeys(const query::TagKeysQuery& query) override;
  absl::StatusOr<query::TagValuesResult> TagValues(const query::TagValuesQuery& query) override;
  absl::StatusOr<std::vector<query::TagValuesResult>> TagValuesOfEach(
      const std::vector<query::TagValuesQuery>& queries) override;
  absl::StatusOr<query::StatisticsResult> Statistics(const query::StatisticsQuery& query) override;
  absl::StatusOr<query::HistogramResult> Histograms(const query::HistogramQuery& query) override;
  absl::StatusOr<query::DependenciesResult> Dependencies(
      const query::DependenciesQuery& query) override;
  absl::StatusOr<std::vector<std::string>> Services() override;
  absl::StatusOr<std::vector<Operation>> Operations(const std::string& service) override;
  absl::StatusOr<std::string> SystemId() override { return system_id_; }
  absl::Status EnforceRetention() override;
  uint64_t DiskBytes() override;

  sqlite::SqliteScanStats ScanStats() const {
    return {blocks_decoded_.load(std::memory_order_relaxed),
            blocks_projected_.load(std::memory_order_relaxed),
            blocks_pruned_.load(std::memory_order_relaxed),
            blocks_counted_.load(std::memory_order_relaxed),
            blocks_grouped_.load(std::memory_order_relaxed),
            blocks_whole_.load(std::memory_order_relaxed),
            spans_built_.load(std::memory_order_relaxed)};
  }

 private:
  // A read connection borrowed from the pool inside one read transaction: every query of one API
  // call sees the same snapshot even while the writer commits.
  class Reader {
   public:
    Reader(SqliteBackend* backend, std::unique_ptr<SqliteConnection> conn)
        : backend_(backend), conn_(std::move(conn)) {}
    Reader(Reader&&) = default;
    ~Reader() {
      if (conn_ == nullptr) return;
      if (in_txn_) conn_->Exec("COMMIT").IgnoreError();
      backend_->ReleaseReader(std::move(conn_));
    }
    absl::Status Begin() {
      RETURN_IF_ERROR(conn_->Exec("BEGIN"));
      in_txn_ = true;
      return absl::OkStatus();
    }
    SqliteConnection& conn() { return *conn_; }

   private:
    SqliteBackend* backend_;
    std::unique_ptr<SqliteConnection> conn_;
    bool in_txn_ = false;
  };

  explicit SqliteBackend(SqliteSettings settings)
      : settings_(std::move(settings)), operations_(settings_.operations_max_bytes) {}

  absl::Status Initialize();
  absl::Status ApplyMigrations();
  absl::Status InitSystemId();

  absl::StatusOr<Reader> AcquireReader();
  void ReleaseReader(std::unique_ptr<SqliteConnection> conn);

  // Blocks that may hold spans starting inside `range` (all blocks when none). Their span counts
  // only when asked (else 0): the bounds are all in the blocks_by_*_start indexes, so SQLite
  // answers from an index alone, while span_count makes it visit every block's row (first pages
  // at 10M spans took 15 ms instead of 4).
  static absl::StatusOr<std::vector<BlockBounds>> BlocksInRange(
      SqliteConnection& conn, const std::optional<query::TimeRange>& range,
      bool span_counts = false);
  // A block in two steps, so that decoding can run on another thread: its bytes (none when it
  // no longer exists), counted as a decode of `fields`; DecodeBlock then decodes its spans.
  absl::StatusOr<std::optional<std::string>> ReadBlock(SqliteConnection& conn, int64_t block_id,
                                                       const SpanFields& fields);
  // Calls `fn` with every stored span starting inside `range` (every span when none), skipping
  // blocks whose summaries rule out one of `filters`; `fn` still has to apply the filters. Only
  // `fields` of each span are decoded. Past `stop_at` no further block is read and the scan ends
  // with DEADLINE_EXCEEDED (the spans handed to `fn` until then are whole blocks).
  //
  // With `answer`, a block wholly inside `range` whose value counts show that no span matches the
  // filters is skipped, and one whose counts show that every span matches is offered to `answer`
  // first: decoded only when it returns no way to add it, or that way returns false.
  absl::Status ScanRange(const std::optional<query::TimeRange>& range,
                         const std::vector<query::Filter>& filters, const SpanFields& fields,
                         const std::function<void(const StoredSpan&)>& fn,
                         std::optional<Clock::time_point> stop_at = std::nullopt,
                         const BlockAnswer* answer = nullptr);
  // ScanRange for a collector that can be split (C: Add(span), parts from `part()`): each block's
  // spans go to a part of its own on the block workers, and `merge(C&)` takes the parts on this
  // thread in block order. What the collector does per span then runs on every core, not on the
  // reading thread: a histogram of one service's or every service's requests (millions of rows).
  template <typename C, typename Part, typename Merge>
  absl::Status ScanInParts(const std::optional<query::TimeRange>& range,
                           const std::vector<query::Filter>& filters, const SpanFields& fields,
                           const Part& part, const Merge& merge, const BlockAnswer* answer);
  // ScanRange's loop: reads each candidate block on this thread, decodes it with `decode(bytes,
  // block_id, inside)` (an R; QueueDecode) on the block workers and hands the results to
  // `consume` in block order (answered blocks too: every block before one is handed over before
  // it is added).
  template <typename R, typename Decode, typename Consume>
  absl::Status ScanBlocks(const std::optional<query::TimeRange>& range,
                          const std::vector<query::Filter>& filters, const SpanFields& fields,
                          const Decode& decode, const Consume& consume,
                          std::optional<Clock::time_point> stop_at, const BlockAnswer* answer);
  // Reads block `block_id` (counted as a decode of `fields`) and queues `decode(bytes, block_id,
  // inside)` on `workers`, first handing the oldest result to `take` when the window is full. A
  // block that no longer exists queues nothing. `inside`: the block lies wholly inside the
  // query's range, so its spans need no test against it.
  template <typename R, typename Decode, typename Take>
  absl::Status QueueDecode(Workers<R>& workers, SqliteConnection& conn, int64_t block_id,
                           const SpanFields& fields, const Decode& decode, const Take& take,
                           bool inside = false);

  // TagKeys over all stored data from the distinct key catalogs alone; nullopt when a stored block
  // has no catalog or a catalog is unreadable (the blocks then answer).
  absl::StatusOr<std::optional<std::vector<query::TagInfo>>> EveryCatalogedKey();
  // Whether one of `filters` needs a held value (query::NeedsHeldValue) of a key the key catalogs
  // show no stored span holds: then no span matches. False when a catalog is missing.
  absl::StatusOr<bool> FiltersNameAnAbsentKey(const std::vector<query::Filter>& filters);

  // TagValues into `collector`: per-block value counts where they answer, decoded blocks elsewhere.
  // Past `stop_at` it stops with DEADLINE_EXCEEDED, the blocks read until then counted.
  absl::Status CountTagValues(const query::TagValuesQuery& query,
                              std::optional<Clock::time_point> stop_at,
                              query::TagValuesCollector& collector);

  // `spans` (distinct, in start-time order) cut into blocks of settings_.block_spans, built on the
  // build workers when there are several.
  absl::StatusOr<std::vector<PreparedBlock>> PrepareBlocks(
      const std::vector<const StoredSpan*>& spans);
  absl::Status CommitLocked(SqlitePreparedWrite& prepared);
  // Inserts one prepared block, its summary, value counts and trace_blocks rows; returns its id.
  static absl::StatusOr<int64_t> InsertBlock(SqliteConnection& conn, const PreparedBlock& block);
  // The spans of block `block_id` with their ids alone (none when the block does not exist), or
  // nullopt when the block cannot be decoded (that decode's error is the reader's to report).
  static absl::StatusOr<std::optional<std::vector<StoredSpan>>> BlockIds(SqliteConnection& conn,
                                                                         int64_t block_id);
  // Deletes block `block_id`'s rows of trace_blocks, found from the trace ids the block holds:
  // an index by block would cost ~1.5 bytes per span and an insert per row. A block that cannot
  // be decoded has its rows found by reading the whole table.
  static absl::Status DeleteTraceIndexRows(SqliteConnection& conn, int64_t block_id);
  // Deletes up to kRetentionBlocksPerTxn blocks chosen by `select_sql` (which returns block ids
  // and binds `param` to ?1); returns how many were deleted.
  absl::StatusOr<int> DeleteBlocks(const std::string& select_sql, std::optional<int64_t> param);
  absl::StatusOr<uint64_t> UsedBytesLocked();

  const SqliteSettings settings_;
  std::string db_path_;
  std::string system_id_;

  std::mutex write_mu_;
  std::unique_ptr<SqliteConnection> writer_;  // guarded by write_mu_
  sqlite::OperationsCatalog operations_;      // guarded by write_mu_

  std::mutex prepare_mu_;
  std::unique_ptr<BuildWorkers> build_workers_;  // guarded by prepare_mu_, made on first use

  std::mutex read_mu_;
  std::condition_variable reader_released_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_readers_;  // guarded by read_mu_
  size_t open_readers_ = 0;                                      // guarded by read_mu_

  std::atomic<uint64_t> blocks_decoded_{0};
  std::atomic<uint64_t> blocks_projected_{0};
  std::atomic<uint64_t> blocks_pruned_{0};
  std::atomic<uint64_t> blocks_counted_{0};
  std::atomic<uint64_t> blocks_grouped_{0};  // answered from the groups their filters kept
  std::atomic<uint64_t> blocks_whole_{0};  // answered by BlockAnswer::whole: catalogs, calls
  std::atomic<uint64_t> spans_built_{0};
};

absl::StatusOr<std::unique_ptr<SqliteBackend>> SqliteBackend::Open(SqliteSettings settings) {
  auto backend = std::unique_ptr<SqliteBackend>(new SqliteBackend(std::move(settings)));
  RETURN_IF_ERROR(backend->Initialize());
  return backend;
}

absl::Status SqliteBackend::Initialize() {
  std::error_code ec;
  std::filesystem::create_directories(settings_.path, ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("sqlite: create data directory {}: {}", settings_.path, ec.message()));
  }
  db_path_ = (std::filesystem::path(settings_.path) / "teletrace.db").string();
  ASSIGN_OR_RETURN(writer_, SqliteConnection::Open(db_path_, "writer"));
  if (sqlite3_create_function_v2(writer_->db(), "teletrace_span_fingerprints", 1,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                 &SqlSpanFingerprints, nullptr, nullptr,
                                 nullptr) != SQLITE_OK) {
    return absl::InternalError(fmt::format("sqlite: register a function on {}: {}", db_path_,
                                           sqlite3_errmsg(writer_->db())));
  }
  // Migrations first: the initial one sets auto_vacuum, which only works before WAL mode has
  // written the database header.
  RETURN_IF_ERROR(Annotate(ApplyMigrations(), fmt::format("sqlite: migrate {}", db_path_)));
  RETURN_IF_ERROR(Annotate(operations_.Load(*writer_),
                           fmt::format("sqlite: read the operations catalog of {}", db_path_)));
  {
    ASSIGN_OR_RETURN(SqliteStatement stmt, writer_->Prepare("PRAGMA journal_mode = WAL"));
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row || stmt.ColumnText(0) != "wal") {
      return absl::InternalError(fmt::format("sqlite: {} refused WAL mode", db_path_));
    }
  }
  // synchronous=FULL: see the header. secure_delete off: deleted spans need not be zeroed on
  // disk (they are removed for space, not secrecy), and zeroing doubles retention's writes.
  // journal_size_limit keeps the WAL file from staying at its high-water mark after checkpoints.
  // wal_autocheckpoint at 16,384 pages (64 MiB, that limit) rather than SQLite's 1,000: a commit
  // dirties one trace index leaf per trace (random ids), so the same leaves reach the WAL commit
  // after commit, and a checkpoint copies each only once per period. At 8 gRPC connections the
  // server wrote 750 bytes per stored span with the default, 560 with this (docs/benchmarks.md).
  RETURN_IF_ERROR(Annotate(writer_->Exec("PRAGMA synchronous = FULL;"
                                         "PRAGMA secure_delete = OFF;"
                                         "PRAGMA journal_size_limit = 67108864;"
                                         "PRAGMA cache_size = -16384;"
                                         "PRAGMA wal_autocheckpoint = 16384;"),
                           fmt::format("sqlite: configure {}", db_path_)));
  return Annotate(InitSystemId(), fmt::format("sqlite: system id in {}", db_path_));
}

absl::Status SqliteBackend::ApplyMigrations() {
  const size_t count = std::size(sqlite::kMigrations);
  for (size_t i = 0; i < count; ++i) {
    // The file number is the schema version it produces; a gap or duplicate is a build mistake.
    std::string_view name = sqlite::kMigrations[i].name;
    if (name.substr(0, 4) != fmt::format("{:03d}_", i + 1)) {
      return absl::InternalError(
          fmt::format("migration {} is number {} in order; want prefix {:03d}_", name, i + 1,
                      i + 1));
    }
  }
  ASSIGN_OR_RETURN(int64_t version, writer_->QueryInt("PRAGMA user_version"));
  if (version < 0 || static_cast<size_t>(version) > count) {
    return absl::FailedPreconditionError(fmt::format(
        "database schema version {} is newer than this binary supports ({})", version, count));
  }
  for (size_t i = static_cast<size_t>(version); i < count; ++i) {
    // A deferred BEGIN: after BEGIN IMMEDIATE, SQLite ignores PRAGMA auto_vacuum on a new file.
    WriteTxn txn(*writer_);
    RETURN_IF_ERROR(txn.Begin(/*immediate=*/false));
    RETURN_IF_ERROR(writer_->Exec(sqlite::kMigrations[i].contents));
    RETURN_IF_ERROR(writer_->Exec(fmt::format("PRAGMA user_version = {}", i + 1)));
    RETURN_IF_ERROR(txn.Commit());
  }
  return absl::OkStatus();
}

absl::Status SqliteBackend::InitSystemId() {
  std::lock_guard<std::mutex> lock(write_mu_);
  {
    ASSIGN_OR_RETURN(
        SqliteStatement insert,
        writer_->Prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('system_id', ?)"));
    insert.BindText(1, NewUuidV4());
    RETURN_IF_ERROR(insert.Run());
  }
  ASSIGN_OR_RETURN(SqliteStatement select,
                   writer_->Prepare("SELECT value FROM meta WHERE key = 'system_id'"));
  ASSIGN_OR_RETURN(bool row, select.Step());
  if (!row) return absl::InternalError("system_id missing after insert");
  system_id_ = select.ColumnText(0);
  return absl::OkStatus();
}

absl::StatusOr<SqliteBackend::Reader> SqliteBackend::AcquireReader() {
  std::unique_lock<std::mutex> lock(read_mu_);
  reader_released_.wait(
      lock, [this] { return !idle_readers_.empty() || open_readers_ < kMaxReaders; });
  std::unique_ptr<SqliteConnection> conn;
  if (!idle_readers_.empty()) {
    conn = std::move(idle_readers_.back());
    idle_readers_.pop_back();
  } else {
    ++open_readers_;
    lock.unlock();
    absl::StatusOr<std::unique_ptr<SqliteConnection>> opened =
        SqliteConnection::Open(db_path_, "reader");
    // Readers map the file (up to SQLite's compiled limit, 2 GiB in Debian's build; pages beyond
    // are read as before): summaries, value counts and blocks are then read from the kernel's
    // page cache, shared by every reader and kept across the writer's commits, instead of copied
    // in by a pread per page into a per-connection cache that each commit invalidates. At 10M
    // spans this took a search by a rare attribute from 74 to 56 ms and service.name's values
    // from 55 to 38 ms. SQLite remaps after the file shrinks (retention) at the next read
    // transaction. The cost: a disk read error surfaces as SIGBUS instead of an I/O error.
    absl::Status configured =
        opened.ok() ? (*opened)->Exec("PRAGMA query_only = 1; PRAGMA cache_size = -8192; "
                                      "PRAGMA mmap_size = 2147418112;")
                    : opened.status();
    if (!configured.ok()) {
      std::lock_guard<std::mutex> relock(read_mu_);
      --open_readers_;
      reader_released_.notify_one();
      return Annotate(configured, "sqlite: open reader");
    }
    conn = std::move(*opened);
  }
  Reader reader(this, std::move(conn));
  RETURN_IF_ERROR(Annotate(reader.Begin(), "sqlite: begin read"));
  return reader;
}

void SqliteBackend::ReleaseReader(std::unique_ptr<SqliteConnection> conn) {
  std::lock_guard<std::mutex> lock(read_mu_);
  idle_readers_.push_back(std::move(conn));
  reader_released_.notify_one();
}

absl::StatusOr<std::vector<BlockBounds>> SqliteBackend::BlocksInRange(
    SqliteConnection& conn, const std::optional<query::TimeRange>& range, bool span_counts) {
  ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      conn.Prepare(fmt::format("SELECT block_id, min_start_unix_nano, max_start_unix_nano, "
                               "min_duration_nano, max_duration_nano, {} FROM blocks "
                               "WHERE max_start_unix_nano >= ?1 AND min_start_unix_nano <= ?2",
                               span_counts ? "span_count" : "0")));
  stmt.BindInt(1, range ? ToDb(range->start_unix_nano) : 0);
  stmt.BindInt(2, range ? ToDb(range->end_unix_nano) : INT64_MAX);
  std::vector<BlockBounds> blocks;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    blocks.push_back(BlockBounds{stmt.ColumnInt(0), MinFromDb(stmt.ColumnInt(1)),
                                 MaxFromDb(stmt.ColumnInt(2)), MinFromDb(stmt.ColumnInt(3)),
                                 MaxFromDb(stmt.ColumnInt(4)),
                                 static_cast<uint64_t>(stmt.ColumnInt(5))});
  }
  return blocks;
}

absl::StatusOr<std::optional<std::string>> SqliteBackend::ReadBlock(SqliteConnection& conn,
                                                                    int64_t block_id,
                                                                    const SpanFields& fields) {
  ASSIGN_OR_RETURN(SqliteStatement stmt,
                   conn.Prepare("SELECT data FROM blocks WHERE block_id = ?"));
  stmt.BindInt(1, block_id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::nullopt;
  (fields.IsAll() ? blocks_decoded_ : blocks_projected_).fetch_add(1, std::memory_order_relaxed);
  return std::string(stmt.ColumnBlob(0));
}

namespace {

// A block's spans as a scan decodes them on a block worker, in the cheapest form the query allows
// (ForScan: one of the three members below is filled), handed to the scan's consumer with Visit.
struct ScannedBlock {
  // The query reads only times (and status codes): those alone.
  std::vector<SpanTimes> times;
  // The filters and the query read only resources, scopes, names, kinds, status codes and times
  // (one service's panels): the rows that pass the filters, tested once per distinct resource or
  // name of the block. Absent for format 1 blocks, which are decoded into spans.
  std::optional<SpanRefs> refs;
  // Otherwise: the spans with `fields` decoded.
  std::vector<StoredSpan> spans;

  static absl::StatusOr<ScannedBlock> ForScan(std::string_view bytes, int64_t id,
                                              const std::optional<query::TimeRange>& range,
                                              const std::vector<query::Filter>& filters,
                                              const SpanFields& fields) {
    ScannedBlock block;
    if (ReadsOnlyTimes(fields)) {
      absl::StatusOr<std::vector<SpanTimes>> times =
          DecodeSpanTimes(bytes, (fields.groups & SpanFields::kStatusCode) != 0);
      if (!times.ok()) return Annotate(times.status(), fmt::format("block {}", id));
      block.times = *std::move(times);
      return block;
    }
    if (ScansRefs(fields, filters)) {
      std::optional<StartRange> starts;
      if (range) starts.emplace(range->start_unix_nano, range->end_unix_nano);
      ASSIGN_OR_RETURN(block.refs,
                       MatchingRefs(bytes, id, fields, filters, starts, RowTimes::kStartsAndEnds));
      if (block.refs) return block;
    }
    ASSIGN_OR_RETURN(block.spans, DecodeBlock(bytes, id, fields));
    return block;
  }

  // Calls `visit` with each span that starts inside `range` (and, from refs, passes the filters;
  // otherwise `visit` still has to apply them). Times and refs are set into `scratch`, which is
  // handed over and reused for the next: copy what must outlive the call.
  void Visit(const std::optional<query::TimeRange>& range, const SpanFields& fields,
             StoredSpan& scratch, const std::function<void(const StoredSpan&)>& visit) const {
    for (const SpanTimes& t : times) {
      scratch.span.start_time_unix_nano = t.start_unix_nano;
      scratch.span.end_time_unix_nano = t.end_unix_nano;
      scratch.span.status.code = static_cast<model::StatusCode>(t.status_code);
      if (!range || query::InRange(*range, scratch)) visit(scratch);
    }
    if (refs) {
      for (const SpanRefs::Row& row : refs->rows) {
        SetSpanFields(*refs, row, fields, scratch);
        visit(scratch);
      }
    }
    for (const StoredSpan& s : spans) {
      if (!range || query::InRange(*range, s)) visit(s);
    }
  }
};

}  // namespace

absl::Status SqliteBackend::ScanRange(const std::optional<query::TimeRange>& range,
                                      const std::vector<query::Filter>& filters,
                                      const SpanFields& fields,
                                      const std::function<void(const StoredSpan&)>& fn,
                                      std::optional<Clock::time_point> stop_at,
                                      const BlockAnswer* answer) {
  StoredSpan scratch;
  return ScanBlocks<ScannedBlock>(
      range, filters, fields,
      [&](std::string_view bytes, int64_t id, bool /*inside*/) {
        return ScannedBlock::ForScan(bytes, id, range, filters, fields);
      },
      [&](const ScannedBlock& block) { block.Visit(range, fields, scratch, fn); }, stop_at,
      answer);
}

template <typename C, typename Part, typename Merge>
absl::Status SqliteBackend::ScanInParts(const std::optional<query::TimeRange>& range,
                                        const std::vector<query::Filter>& filters,
                                        const SpanFields& fields, const Part& part,
                                        const Merge& merge, const BlockAnswer* answer) {
  return ScanBlocks<C>(
      range, filters, fields,
      [&](std::string_view bytes, int64_t id, bool /*inside*/) -> absl::StatusOr<C> {
        ASSIGN_OR_RETURN(ScannedBlock block,
                         ScannedBlock::ForScan(bytes, id, range, filters, fields));
        C c = part();
        StoredSpan scratch;
        block.Visit(range, fields, scratch, [&c](const StoredSpan& s) { c.Add(s); });
        return c;
      },
      merge, /*stop_at=*/std::nullopt, answer);
}

template <typename R, typename Decode, typename Consume>
absl::Status SqliteBackend::ScanBlocks(const std::optional<query::TimeRange>& range,
                                       const std::vector<query::Filter>& filters,
                                       const SpanFields& fields, const Decode& decode,
                                       const Consume& consume,
                                       std::optional<Clock::time_point> stop_at,
                                       const BlockAnswer* answer) {
  ASSIGN_OR_RETURN(Reader reader, AcquireReader());
  SqliteConnection& conn = reader.conn();
  // Value counts decide a filter only for some keys and operators; they answer blocks only for a
  // collector that can take them. Span counts, which the bounds indexes do not hold, are read only
  // then.
  // Filters that read only the fields blocks group their spans by (one service, errors) are tested
  // once per group of a block, whose kept groups then answer for it.
  bool grouped = answer != nullptr && answer->from_groups && !filters.empty() &&
                 std::all_of(filters.begin(), filters.end(),
                             [](const query::Filter& f) { return IsGroupKey(f.key); });
  // A span attribute is read from the groups when the newest group attributes count it per group
  // (the key has few values per group in this store's data): for another key (a route, a peer
  // service) reading every block's groups would only add to the decodes.
  if (grouped && !answer->group_attribute.empty()) {
    ASSIGN_OR_RETURN(grouped, GroupsCountAttribute(conn, answer->group_attribute));
  }
  bool counting = answer != nullptr && answer->add &&
                  (grouped || (!answer->groups_only &&
                               std::all_of(filters.begin(), filters.end(), CountDecidable)));
  std::optional<query::SpanMatcher> group_matcher;
  if (grouped) group_matcher.emplace(filters);
  // Groups written before kinds were grouped cannot answer a filter on the kind.
  const bool reads_kind = std::any_of(filters.begin(), filters.end(), [](const query::Filter& f) {
    return f.key.level == query::KeyLevel::kIntrinsic && f.key.intrinsic == query::Intrinsic::kKind;
  });
  auto keep_group = [&group_matcher](const StoredSpan& s) { return group_matcher->Matches(s); };
  ASSIGN_OR_RETURN(std::vector<BlockBounds> blocks, BlocksInRange(conn, range, counting));
  if (counting && answer->more_spans_than > 0) {
    uint64_t spans = 0;
    for (const BlockBounds& block : blocks) spans += block.span_count;
    if (spans <= answer->more_spans_than) counting = grouped = false;
  }
  // Block id order is roughly ingestion order: neighbouring blocks share pages.
  std::sort(blocks.begin(), blocks.end(),
            [](const BlockBounds& a, const BlockBounds& b) { return a.block_id < b.block_id; });
  std::optional<SqliteStatement> select_counts;
  if (counting) {
    ASSIGN_OR_RETURN(SqliteStatement select,
                     conn.Prepare("SELECT counts FROM block_value_counts WHERE block_id = ?"));
    select_counts.emplace(std::move(select));
  }
  std::optional<SqliteStatement> select_groups;
  if (grouped) {
    // With their attributes when a span attribute is read from them.
    ASSIGN_OR_RETURN(
        SqliteStatement select,
        conn.Prepare(answer->group_attribute.empty()
                         ? "SELECT groups FROM block_groups WHERE block_id = ?"
                         : "SELECT g.groups, a.attributes FROM block_groups g "
                           "LEFT JOIN block_group_attributes a ON a.block_id = g.block_id "
                           "WHERE g.block_id = ?"));
    select_groups.emplace(std::move(select));
  }
  auto inside_range = [&range](const BlockBounds& block) {
    return !range || (range->start_unix_nano <= block.min_start &&
                      block.max_start <= range->end_unix_nano);
  };
  // Groups are read ahead and parsed on threads of their own.
  std::optional<GroupsAhead> groups_ahead;
  if (grouped) {
    groups_ahead.emplace(
        *select_groups, blocks, inside_range,
        [&keep_group, reads_kind, answer](std::string_view groups, std::string_view attributes) {
          return BlockValueCounts::FromGroups(
              groups, keep_group,
              {reads_kind, answer->group_sketches, answer->group_attribute, attributes});
        });
  }
  SummaryPruner pruner(filters);
  std::unique_ptr<Workers<R>> workers = NewBlockWorkers<R>(blocks.size());
  auto take = [&consume](absl::StatusOr<R> decoded) -> absl::Status {
    if (!decoded.ok()) return decoded.status();
    consume(*decoded);
    return absl::OkStatus();
  };
  auto drain = [&]() -> absl::Status {
    while (!workers->Empty()) RETURN_IF_ERROR(take(workers->Next()));
    return absl::OkStatus();
  };
  for (size_t b = 0; b < blocks.size(); ++b) {
    const BlockBounds& block = blocks[b];
    RETURN_IF_ERROR(CheckCancelled());
    if (stop_at && Clock::now() >= *stop_at) {
      RETURN_IF_ERROR(drain());  // the blocks already read still count
      return BudgetSpent();
    }
    const bool inside = inside_range(block);
    if (inside && answer != nullptr && answer->whole) {
      ASSIGN_OR_RETURN(bool answered, answer->whole(conn, block));
      if (answered) {
        blocks_whole_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
    }
    bool from_groups = false;  // the block's groups were read: its counts would tell no more
    if (grouped && inside) {
      // Unreadable groups, like unreadable counts, only cost the decode; a block without groups
      // (written before them, or with too many) goes on to its counts.
      ASSIGN_OR_RETURN(absl::StatusOr<BlockValueCounts> kept, groups_ahead->Take(b));
      if (kept.ok() && kept->SpanCount() == 0) {
        blocks_pruned_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      from_groups = kept.ok();
      if (kept.ok()) {
        if (std::function<bool()> add = answer->add(block, *kept)) {
          RETURN_IF_ERROR(drain());
          if (add()) {
            blocks_grouped_.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
        }
      }
    }
    if (counting && inside && !from_groups) {
      select_counts->Reset();
      select_counts->BindInt(1, block.block_id);
      ASSIGN_OR_RETURN(bool row, select_counts->Step());
      // Unreadable counts only cost the decode; the block stays the source of truth.
      absl::StatusOr<BlockValueCounts> counts =
          row ? BlockValueCounts::Parse(select_counts->ColumnBlob(0))
              : absl::StatusOr<BlockValueCounts>(absl::NotFoundError("no counts"));
      if (counts.ok()) {
        FilterVerdict verdict = FilterVerdict::kAll;
        for (const query::Filter& f : filters) {
          verdict = std::max(verdict, CountDecidable(f)
                                          ? VerdictFromCounts(*counts, f, block.span_count)
                                          : FilterVerdict::kUnknown);
        }
        if (verdict == FilterVerdict::kNone) {
          blocks_pruned_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        if (verdict == FilterVerdict::kAll) {
          if (std::function<bool()> add = answer->add(block, *counts)) {
            RETURN_IF_ERROR(drain());
            if (add()) {
              blocks_counted_.fetch_add(1, std::memory_order_relaxed);
              continue;
            }
          }
        }
      }
    }
    ASSIGN_OR_RETURN(bool skip, pruner.CanSkip(conn, block.block_id));
    if (skip) {
      blocks_pruned_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    RETURN_IF_ERROR(QueueDecode(*workers, conn, block.block_id, fields, decode, take, inside));
  }
  return drain();
}

template <typename R, typename Decode, typename Take>
absl::Status SqliteBackend::QueueDecode(Workers<R>& workers, SqliteConnection& conn,
                                        int64_t block_id, const SpanFields& fields,
                                        const Decode& decode, const Take& take, bool inside) {
  if (workers.Full()) RETURN_IF_ERROR(take(workers.Next()));
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, ReadBlock(conn, block_id, fields));
  if (!bytes) return absl::OkStatus();
  workers.Submit([bytes = *std::move(bytes), block_id, inside, &decode] {
    return decode(bytes, block_id, inside);
  });
  return absl::OkStatus();
}

absl::Status SqliteBackend::WriteSpans(model::SpanBatch batch, uint64_t ingestion_time_unix_nano) {
  return CommitWrite(*PrepareWrite(std::move(batch), ingestion_time_unix_nano));
}

std::unique_ptr<Backend::PreparedWrite> SqliteBackend::PrepareWrite(
    model::SpanBatch batch, uint64_t ingestion_time_unix_nano) {
  auto prepared = std::make_unique<SqlitePreparedWrite>();
  prepared->batch_size = batch.SpanCount();
  prepared->flat = model::Flatten(std::move(batch), ingestion_time_unix_nano);
  std::vector<const StoredSpan*>& spans = prepared->spans;

  // The batch's ids in order, each with its position: the first copy of a (trace id, span id)
  // within the batch wins, as across batches, and the distinct ids grouped by trace are what the
  // commit looks up among the stored ones.
  // The ids are sorted as big-endian words, which order as their bytes do: comparing the arrays
  // byte-wise (memcmp calls) was ~2% of the server's ingest CPU, on the one preparer thread.
  struct Key {
    std::array<uint64_t, 3> words;  // trace id high and low, span id
    size_t index;
    bool operator<(const Key& o) const {
      return std::tie(words, index) < std::tie(o.words, o.index);
    }
  };
  auto big_endian = [](const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return std::endian::native == std::endian::little ? __builtin_bswap64(v) : v;
  };
  std::vector<Key> keys;
  keys.reserve(prepared->flat.size());
  for (size_t i = 0; i < prepared->flat.size(); ++i) {
    const model::Span& span = prepared->flat[i].span;
    keys.push_back({{big_endian(span.trace_id.data()), big_endian(span.trace_id.data() + 8),
                     big_endian(span.span_id.data())},
                    i});
  }
  std::sort(keys.begin(), keys.end());
  spans.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0 && keys[i - 1].words == keys[i].words) continue;  // a later copy
    const StoredSpan& span = prepared->flat[keys[i].index];
    spans.push_back(&span);
    if (prepared->incoming.empty() || prepared->incoming.back().first != span.span.trace_id) {
      prepared->incoming.emplace_back(span.span.trace_id, std::vector<SpanId>());
    }
    prepared->incoming.back().second.push_back(span.span.span_id);
  }
  // Start-time order makes each block's time bounds tight, which is what pruning works on.
  std::sort(spans.begin(), spans.end(), [](const StoredSpan* a, const StoredSpan* b) {
    if (a->span.start_time_unix_nano != b->span.start_time_unix_nano) {
      return a->span.start_time_unix_nano < b->span.start_time_unix_nano;
    }
    if (a->span.trace_id != b->span.trace_id) return a->span.trace_id < b->span.trace_id;
    return a->span.span_id < b->span.span_id;
  });
  prepared->blocks = PrepareBlocks(spans);
  return prepared;
}

absl::StatusOr<std::vector<PreparedBlock>> SqliteBackend::PrepareBlocks(
    const std::vector<const StoredSpan*>& spans) {
  const size_t per_block = settings_.block_spans;
  const size_t chunks = (spans.size() + per_block - 1) / per_block;
  std::unique_lock<std::mutex> lock(prepare_mu_, std::defer_lock);
  std::optional<BuildWorkers> local;
  if (chunks >= 2) {
    // A group's blocks are built in parallel on workers kept for that; a concurrent prepare (not
    // the pipeline's: it has one preparer) waits for them.
    lock.lock();
    if (build_workers_ == nullptr) {
      const size_t threads = BuildWorkers::DefaultThreads();
      build_workers_ = std::make_unique<BuildWorkers>(threads, 2 * threads + 2);
    }
  } else {
    local.emplace(0, 1);  // one block: built on this thread
  }
  BuildWorkers& workers = local.has_value() ? *local : *build_workers_;
  Built blocks;
  absl::Status status;
  auto take = [&]() {
    absl::StatusOr<Built> built = workers.Next();
    if (!built.ok()) {
      status.Update(built.status());
      return;
    }
    for (PreparedBlock& b : *built) blocks.push_back(std::move(b));
  };
  // Calls are resolved across the write's blocks: a trace's spans written together mostly find
  // their parents in it, wherever the blocks cut.
  const WrittenSpans written(spans);
  for (size_t first = 0; first < spans.size(); first += per_block) {
    if (workers.Full()) take();
    const size_t last = std::min(spans.size(), first + per_block);
    workers.Submit([&written, first, last]() -> absl::StatusOr<Built> {
      Built out;
      RETURN_IF_ERROR(PrepareChunk(written, first, last, out));
      return out;
    });
  }
  while (!workers.Empty()) take();
  if (!status.ok()) return status;
  return blocks;
}

absl::Status SqliteBackend::CommitWrite(PreparedWrite& prepared) {
  auto* write = dynamic_cast<SqlitePreparedWrite*>(&prepared);
  if (write == nullptr) {
    return absl::InternalError("sqlite: CommitWrite got a write this backend did not prepare");
  }
  if (write->batch_size == 0) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(write_mu_);
  return Annotate(CommitLocked(*write),
                  fmt::format("sqlite: write batch of {} spans", write->batch_size));
}

absl::Status SqliteBackend::CommitLocked(SqlitePreparedWrite& prepared) {
  SqliteConnection& conn = *writer_;
  WriteTxn txn(conn);
  RETURN_IF_ERROR(txn.Begin());

  // Drop spans already stored. Each trace's stored fingerprints are scanned once and looked up
  // among the batch's (sorted): a trace written in one piece has none, and a hit names a block that
  // may hold the span. Decoding those blocks' ids decides. Scanning rather than collecting the
  // stored fingerprints keeps a large trace written in many slices from paying for its whole past
  // in memory on each one; 24 bits keep its false hits few (a 100,000-span trace gets ~6 per
  // 1,000-span slice).
  std::map<int64_t, absl::flat_hash_map<TraceId, const std::vector<SpanId>*>> candidates;
  {
    ASSIGN_OR_RETURN(
        SqliteStatement stmt,
        conn.Prepare("SELECT block_id, span_fingerprints FROM trace_blocks WHERE trace_id = ?"));
    std::vector<uint32_t> fingerprints;
    for (const auto& [trace_id, span_ids] : prepared.incoming) {
      fingerprints.clear();
      stmt.BindBlob(1, IdBytes(trace_id), /*static_data=*/true);
      while (true) {
        ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        if (fingerprints.empty()) {  // the trace has stored spans
          for (const SpanId& id : span_ids) fingerprints.push_back(SpanFingerprint(id));
          std::sort(fingerprints.begin(), fingerprints.end());
        }
        const std::string_view stored = stmt.ColumnBlob(1);
        for (size_t i = 0; i < FingerprintCount(stored); ++i) {
          if (std::binary_search(fingerprints.begin(), fingerprints.end(),
                                 FingerprintAt(stored, i))) {
            candidates[stmt.ColumnInt(0)].emplace(trace_id, &span_ids);
            break;
          }
        }
      }
      stmt.Reset();
    }
  }
  std::map<TraceId, std::vector<SpanId>> stored;
  for (const auto& [block_id, traces] : candidates) {
    ASSIGN_OR_RETURN(std::optional<std::vector<StoredSpan>> spans, BlockIds(conn, block_id));
    // A block that cannot be decoded cannot be read either: its spans are written again.
    if (!spans) continue;
    for (const StoredSpan& s : *spans) {
      auto trace = traces.find(s.span.trace_id);
      if (trace != traces.end() && std::binary_search(trace->second->begin(),
                                                      trace->second->end(), s.span.span_id)) {
        stored[s.span.trace_id].push_back(s.span.span_id);
      }
    }
  }
  for (auto& [trace_id, ids] : stored) std::sort(ids.begin(), ids.end());
  if (!stored.empty()) {
    // Stored since (or before) the prepare, e.g. by a client's retry: rebuild the blocks without
    // them, as a write that came after those spans would have built them.
    std::erase_if(prepared.spans, [&stored](const StoredSpan* s) {
      auto it = stored.find(s->span.trace_id);
      return it != stored.end() &&
             std::binary_search(it->second.begin(), it->second.end(), s->span.span_id);
    });
    prepared.blocks = PrepareBlocks(prepared.spans);
  }
  if (!prepared.blocks.ok()) return prepared.blocks.status();
  std::vector<std::pair<int64_t, const sqlite::BlockOperations*>> operations;
  for (const PreparedBlock& block : *prepared.blocks) {
    ASSIGN_OR_RETURN(int64_t block_id, InsertBlock(conn, block));
    operations.emplace_back(block_id, &block.operations);
  }
  RETURN_IF_ERROR(operations_.Record(conn, operations));
  RETURN_IF_ERROR(txn.Commit());
  operations_.Committed();
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SqliteBackend::InsertBlock(SqliteConnection& conn,
                                                   const PreparedBlock& block) {
  {
    ASSIGN_OR_RETURN(
        SqliteStatement insert,
        conn.Prepare("INSERT INTO blocks (min_start_unix_nano, max_start_unix_nano, "
                     "min_duration_nano, max_duration_nano, span_count, "
                     "ingestion_time_unix_nano, bytes, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    insert.BindInt(1, ToDb(block.bounds.min_start));
    insert.BindInt(2, ToDb(block.bounds.max_start));
    insert.BindInt(3, ToDb(block.bounds.min_duration));
    insert.BindInt(4, ToDb(block.bounds.max_duration));
    insert.BindInt(5, static_cast<int64_t>(block.bounds.span_count));
    insert.BindInt(6, ToDb(block.ingestion_time_unix_nano));
    insert.BindInt(7, static_cast<int64_t>(block.data.size()));
    insert.BindBlob(8, block.data, /*static_data=*/true);
    RETURN_IF_ERROR(insert.Run());
  }
  const int64_t block_id = sqlite3_last_insert_rowid(conn.db());
  // The block's row in a table of per-block records (block_id, then the record).
  auto insert_record = [&conn, block_id](std::string_view table, std::string_view column,
                                         const std::string& record) -> absl::Status {
    ASSIGN_OR_RETURN(SqliteStatement insert,
                     conn.Prepare(fmt::format("INSERT INTO {} (block_id, {}) VALUES (?, ?)",
                                              table, column)));
    insert.BindInt(1, block_id);
    insert.BindBlob(2, record, /*static_data=*/true);
    return insert.Run();
  };
  RETURN_IF_ERROR(insert_record("block_summaries", "terms", block.summary));
  RETURN_IF_ERROR(insert_record("block_value_counts", "counts", block.counts));
  if (!block.groups.empty()) RETURN_IF_ERROR(insert_record("block_groups", "groups", block.groups));
  if (!block.group_attributes.empty()) {
    RETURN_IF_ERROR(
        insert_record("block_group_attributes", "attributes", block.group_attributes));
  }
  if (!block.calls.empty()) RETURN_IF_ERROR(insert_record("block_calls", "calls", block.calls));
  {
    // The catalog is stored once, whichever block first carries it.
    ASSIGN_OR_RETURN(SqliteStatement insert,
                     conn.Prepare("INSERT INTO key_catalogs (keys) VALUES (?) "
                                  "ON CONFLICT (keys) DO NOTHING"));
    insert.BindBlob(1, block.key_catalog, /*static_data=*/true);
    RETURN_IF_ERROR(insert.Run());
    ASSIGN_OR_RETURN(SqliteStatement name,
                     conn.Prepare("INSERT INTO block_key_catalogs (block_id, catalog_id) "
                                  "SELECT ?, catalog_id FROM key_catalogs WHERE keys = ?"));
    name.BindInt(1, block_id);
    name.BindBlob(2, block.key_catalog, /*static_data=*/true);
    RETURN_IF_ERROR(name.Run());
  }
  ASSIGN_OR_RETURN(
      SqliteStatement insert_trace,
      conn.Prepare("INSERT INTO trace_blocks (trace_id, block_id, span_fingerprints) "
                   "VALUES (?, ?, ?)"));
  for (const auto& [trace_id, fingerprints] : block.fingerprints_by_trace) {
    insert_trace.BindBlob(1, IdBytes(trace_id), /*static_data=*/true);
    insert_trace.BindInt(2, block_id);
    insert_trace.BindBlob(3, fingerprints, /*static_data=*/true);
    RETURN_IF_ERROR(insert_trace.Run());
  }
  return block_id;
}

// The filters that ask a span attribute to equal one of some strings, as (key, strings): each rules
// out a block whose key holds none of them (MayHoldStringAttribute).
std::vector<std::pair<std::string, std::vector<std::string>>> StringEqualities(
    const std::vector<query::Filter>& filters) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const query::Filter& f : filters) {
    if (f.key.level != query::KeyLevel::kSpan) continue;
    std::vector<std::string> strings;
    auto add = [&strings](const query::Scalar& operand) {
      const auto* s = std::get_if<std::string>(&operand);
      if (s != nullptr) strings.push_back(*s);
      return s != nullptr;
    };
    const bool all_strings =
        f.op == query::Operator::kEquals
            ? f.value.has_value() && add(*f.value)
            : f.op == query::Operator::kIn && !f.values.empty() &&
                  std::all_of(f.values.begin(), f.values.end(), add);
    if (all_strings) out.emplace_back(f.key.name, std::move(strings));
  }
  return out;
}

absl::StatusOr<query::SearchResult> SqliteBackend::Search(const query::SearchQuery& query) {
  // A Jaeger tag search asks its key at four attribute levels, of which usually one holds it: the
  // others are answered from the key catalogs instead of each block's summary.
  ASSIGN_OR_RETURN(bool absent, FiltersNameAnAbsentKey(query.filters));
  if (absent) return query::SearchResult{};
  ASSIGN_OR_RETURN(Reader reader, AcquireReader());
  ASSIGN_OR_RETURN(std::vector<BlockBounds> blocks, BlocksInRange(reader.conn(), query.range));
  const bool by_start = query.sort.field == query::SortField::kStartTime;
  const bool ascending = query.sort.ascending;
  auto low = [by_start](const BlockBounds& b) { return by_start ? b.min_start : b.min_duration; };
  auto high = [by_start](const BlockBounds& b) { return by_start ? b.max_start : b.max_duration; };
  // Visit first the blocks that can hold the first spans of the sort order, so the page fills early
  // and the remaining blocks are skipped by their bounds.
  std::sort(blocks.begin(), blocks.end(), [&](const BlockBounds& a, const BlockBounds& b) {
    if (ascending) return low(a) != low(b) ? low(a) < low(b) : a.block_id < b.block_id;
    return high(a) != high(b) ? high(a) > high(b) : a.block_id < b.block_id;
  });

  query::SpanMatcher matcher(query.filters);
  query::SearchCollector collector(query);
  SummaryPruner pruner(query.filters);
  // Filters read their keys (and the times); a search without filters reads the times alone.
  const SpanFields select_fields =
      query.filters.empty() ? SpanFields{0, {}} : FieldsRead(query.filters);
  // On the block workers: which spans of the block are in range, match the filters and may still
  // enter the page as it was when the block was queued, from the block's filter keys or times
  // alone; then only those spans are built. Most blocks a filter reaches hold no match (Bloom
  // false positives, ranges), and a block reached by its bounds holds few spans the page wants.
  // A string equality is checked first against its key's string table alone: most blocks the
  // summaries let through (their false positives) hold none of the strings. A block that check
  // cannot read is decoded, which names the damage.
  const auto string_equalities = StringEqualities(query.filters);
  const bool selects_refs =
      ReadsOnlyRefs(select_fields) && FiltersReadOnlyRefs(query.filters, /*times=*/true);
  const std::optional<StartRange> starts =
      StartRange{query.range.start_unix_nano, query.range.end_unix_nano};
  auto decode = [&](std::string_view bytes, int64_t id,
                    const query::SearchCollector::Bound& bound)
      -> absl::StatusOr<std::vector<StoredSpan>> {
    for (const auto& [key, strings] : string_equalities) {
      absl::StatusOr<bool> may = MayHoldStringAttribute(bytes, key, strings);
      if (may.ok() && !*may) return std::vector<StoredSpan>();
    }
    std::vector<uint32_t> rows;
    std::vector<uint64_t> sort_values;
    // Filters on resources, scopes, names, kinds, status codes and times (or none) are tested on
    // the block's refs, once per distinct value; other filters on spans of their projection.
    std::optional<SpanRefs> refs;
    if (selects_refs) {
      ASSIGN_OR_RETURN(refs, MatchingRefs(bytes, id, select_fields, query.filters, starts,
                                          RowTimes::kStartsAndEnds));
    }
    if (refs) {
      StoredSpan probe;  // the sort values are times: the row's are all it needs
      for (const SpanRefs::Row& row : refs->rows) {
        probe.span.start_time_unix_nano = row.start_unix_nano;
        probe.span.end_time_unix_nano = row.end_unix_nano;
        const uint64_t sort_value = query::PositionOf(query.sort, probe).sort_value;
        if (!bound.CanSkip(sort_value, sort_value)) {
          rows.push_back(row.position);
          sort_values.push_back(sort_value);
        }
      }
    } else {
      ASSIGN_OR_RETURN(std::vector<StoredSpan> selectors,
                       DecodeBlock(bytes, id, select_fields));
      for (size_t i = 0; i < selectors.size(); ++i) {
        const StoredSpan& s = selectors[i];
        const uint64_t sort_value = query::PositionOf(query.sort, s).sort_value;
        if (query::InRange(query.range, s) && !bound.CanSkip(sort_value, sort_value) &&
            matcher.Matches(s)) {
          rows.push_back(static_cast<uint32_t>(i));
          sort_values.push_back(sort_value);
        }
      }
    }
    if (rows.empty()) return std::vector<StoredSpan>();
    // Of one block, only spans among its `limit` first in sort order can enter the page (ties
    // kept: they are ordered by ids). Spans at the cursor's sort value are kept and not counted:
    // the ids decide which of them follow the cursor.
    std::vector<uint64_t> ranked;
    for (uint64_t v : sort_values) {
      if (!bound.AtCursor(v)) ranked.push_back(v);
    }
    if (const size_t limit = bound.PageLimit(); ranked.size() > limit) {
      const auto nth = ranked.begin() + static_cast<ptrdiff_t>(limit - 1);
      if (ascending) {
        std::nth_element(ranked.begin(), nth, ranked.end());
      } else {
        std::nth_element(ranked.begin(), nth, ranked.end(), std::greater<>());
      }
      const uint64_t last = *nth;
      size_t kept = 0;
      for (size_t i = 0; i < rows.size(); ++i) {
        const uint64_t v = sort_values[i];
        if (bound.AtCursor(v) || (ascending ? v <= last : v >= last)) rows[kept++] = rows[i];
      }
      rows.resize(kept);
    }
    absl::StatusOr<std::vector<StoredSpan>> spans = DecodeSpanRows(bytes, rows);
    if (!spans.ok()) return Annotate(spans.status(), fmt::format("block {}", id));
    return spans;
  };
  // A block some of whose spans were built counts as decoded.
  auto take = [&](absl::StatusOr<std::vector<StoredSpan>> built) -> absl::Status {
    if (!built.ok()) return Annotate(built.status(), "sqlite: search");
    if (!built->empty()) blocks_decoded_.fetch_add(1, std::memory_order_relaxed);
    spans_built_.fetch_add(built->size(), std::memory_order_relaxed);
    for (const StoredSpan& s : *built) collector.Add(s);
    return absl::OkStatus();
  };
  // Blocks are decoded ahead of the page while it fills, on all cores. Most pages need one or two
  // blocks, so the first is decoded on this thread (starting workers would cost more than it
  // saves), and the look-ahead then grows by one per block added, up to one per worker: a page
  // that needs many blocks soon keeps every worker busy. Which blocks and spans are decoded
  // depends only on the blocks' order, never on timing: each block is checked against the page as
  // it was after a fixed set of blocks before it had been added.
  const size_t threads = BlockThreads(blocks.size());
  auto workers = std::make_unique<Workers<std::vector<StoredSpan>>>(0, 1);
  bool started = false;  // the workers, once a second block is wanted
  size_t added = 0;
  for (const BlockBounds& block : blocks) {
    RETURN_IF_ERROR(CheckCancelled());
    while (!workers->Empty() && workers->Outstanding() >= std::min(added + 1, threads + 1)) {
      RETURN_IF_ERROR(take(workers->Next()));
      ++added;
    }
    if (!started && added > 0 && threads > 0 && workers->Empty()) {
      workers = std::make_unique<Workers<std::vector<StoredSpan>>>(threads, threads + 1);
      started = true;
    }
    if (collector.CanSkip(low(block), high(block))) {
      // Every later block lies at or beyond this one's leading bound in sort order.
      if (ascending ? collector.CanSkip(low(block), UINT64_MAX)
                    : collector.CanSkip(0, high(block))) {
        break;
      }
      continue;
    }
    absl::StatusOr<bool> skip = pruner.CanSkip(reader.conn(), block.block_id);
    if (!skip.ok()) return Annotate(skip.status(), "sqlite: search");
    if (*skip) {
      blocks_pruned_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    absl::StatusOr<std::optional<std::string>> bytes =
        ReadBlock(reader.conn(), block.block_id, select_fields);
    if (!bytes.ok()) return Annotate(bytes.status(), "sqlite: search");
    if (!*bytes) continue;
    workers->Submit([bytes = **std::move(bytes), id = block.block_id,
                     bound = collector.Snapshot(), &decode] { return decode(bytes, id, bound); });
  }
  while (!workers->Empty()) RETURN_IF_ERROR(take(workers->Next()));
  return std::move(collector).Finish();
}

absl::StatusOr<query::TraceResult> SqliteBackend::GetTrace(const query::TraceQuery& query) {
  const std::string context = fmt::format("sqlite: get trace {}", ToHex(query.trace_id));
  ASSIGN_OR_RETURN(Reader reader, AcquireReader());
  std::vector<int64_t> block_ids;
  {
    ASSIGN_OR_RETURN(SqliteStatement stmt,
                     reader.conn().Prepare(
                         "SELECT block_id FROM trace_blocks WHERE trace_id = ? ORDER BY block_id"));
    stmt.BindBlob(1, IdBytes(query.trace_id), /*static_data=*/true);
    while (true) {
      absl::StatusOr<bool> row = stmt.Step();
      if (!row.ok()) return Annotate(row.status(), context);
      if (!*row) break;
      block_ids.push_back(stmt.ColumnInt(0));
    }
  }
  if (block_ids.empty()) {
    return absl::NotFoundError(fmt::format("trace {} not found", ToHex(query.trace_id)));
  }
  query::TraceCollector collector(query);
  BlockWorkers workers = NewBlockWorkers(block_ids.size());
  auto consume = [&](absl::StatusOr<std::vector<StoredSpan>> spans) -> absl::Status {
    if (!spans.ok()) return spans.status();
    for (StoredSpan& s : *spans) {
      if (s.span.trace_id == query.trace_id) collector.Add(std::move(s));
    }
    return absl::OkStatus();
  };
  const SpanFields all = SpanFields::All();
  auto decode = [&all](std::string_view bytes, int64_t id, bool /*inside*/) {
    return DecodeBlock(bytes, id, all);
  };
  for (int64_t block_id : block_ids) {
    RETURN_IF_ERROR(CheckCancelled());
    RETURN_IF_ERROR(
        Annotate(QueueDecode(*workers, reader.conn(), block_id, all, decode, consume), context));
  }
  while (!workers->Empty()) RETURN_IF_ERROR(Annotate(consume(workers->Next()), context));
  return std::move(collector).Finish();
}

// `keys` (TagKeysCollector::Finish's) with `more` added, in Finish's order, each key once.
std::vector<query::TagInfo> WithKeys(std::vector<query::TagInfo> keys,
                                     const std::vector<query::TagInfo>& more) {
  if (more.empty()) return keys;
  keys.insert(keys.end(), more.begin(), more.end());
  std::sort(keys.begin(), keys.end(), KeyOrder);
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

absl::StatusOr<std::optional<std::vector<query::TagInfo>>> SqliteBackend::EveryCatalogedKey() {
  ASSIGN_OR_RETURN(Reader reader, AcquireReader());
  SqliteConnection& conn = reader.conn();
  // Every block written since migration 006 has a catalog, inserted with it; those written before
  // have none, and lower ids than any written since.
  ASSIGN_OR_RETURN(
      int64_t uncovered,
      conn.QueryInt("SELECT EXISTS (SELECT 1 FROM blocks WHERE block_id < coalesce((SELECT "
                    "min(block_id) FROM block_key_catalogs), 9223372036854775807))"));
  if (uncovered != 0) return std::nullopt;
  std::vector<query::TagInfo> cataloged;
  ASSIGN_OR_RETURN(SqliteStatement select, conn.Prepare("SELECT keys FROM key_catalogs"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    absl::StatusOr<std::vector<query::TagInfo>> catalog = ParseKeyCatalog(select.ColumnBlob(0));
    if (!catalog.ok()) return std::nullopt;  // its blocks are decoded
    cataloged.insert(cataloged.end(), catalog->begin(), catalog->end());
  }
  return WithKeys(query::TagKeysCollector().Finish(), cataloged);  // with the intrinsics
}

absl::StatusOr<bool> SqliteBackend::FiltersNameAnAbsentKey(
    const std::vector<query::Filter>& filters) {
  if (std::none_of(filters.begin(), filters.end(), query::NeedsHeldValue)) return false;
  ASSIGN_OR_RETURN(std::optional<std::vector<query::TagInfo>> keys, EveryCatalogedKey());
  if (!keys) return false;
  // A catalog lists each key with every type of non-empty value it held (arrays and maps
  // included), under its full name.
  absl::flat_hash_set<std::string_view> held;
  for (const query::TagInfo& info : *keys) held.insert(info.name);
  return std::any_of(filters.begin(), filters.end(), [&](const query::Filter& f) {
    return query::NeedsHeldValue(f) && !held.contains(query::AttributeKeyName(f.key));
  });
}

absl::StatusOr<std::vector<query::TagInfo>> SqliteBackend::TagKeys(
    const query::TagKeysQuery& query) {
  if (!query.range) {
    // Over all stored data: each distinct catalog once (retention deletes those no block names),
    // so the cost follows the distinct key sets, not the blocks.
    absl::StatusOr<std::optional<std::vector<query::TagInfo>>> keys = EveryCatalogedKey();
    if (!keys.ok()) return Annotate(keys.status(), "sqlite: tag keys");
    if (*keys) return **std::move(keys);
  }
  // A block wholly inside the range is answered by its key catalog, each distinct catalog read
  // once; the others (at the range's edges, or written before migration 006) have their keys
  // collected on a block worker from their attributes alone.
  std::vector<query::TagInfo> cataloged;
  absl::flat_hash_set<int64_t> catalogs_read;
  BlockAnswer answer;
  answer.whole = [&](SqliteConnection& conn, const BlockBounds& block) -> absl::StatusOr<bool> {
    // A cached statement, borrowed for this call only: it goes back to `conn` while the scan
    // still holds the connection.
    ASSIGN_OR_RETURN(SqliteStatement select,
                     conn.Prepare("SELECT c.catalog_id, c.keys FROM block_key_catalogs b "
                                  "JOIN key_catalogs c USING (catalog_id) WHERE b.block_id = ?"));
    select.BindInt(1, block.block_id);
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) return false;
    const int64_t catalog_id = select.ColumnInt(0);
    if (catalogs_read.contains(catalog_id)) return true;
    // An unreadable catalog only costs the decode of its blocks.
    absl::StatusOr<std::vector<query::TagInfo>> keys = ParseKeyCatalog(select.ColumnBlob(1));
    if (!keys.ok()) return false;
    catalogs_read.insert(catalog_id);
    cataloged.insert(cataloged.end(), keys->begin(), keys->end());
    return true;
  };
  SpanFields fields;
  fields.groups =
      SpanFields::kResourceAndScope | SpanFields::kEventsAndLinks | SpanFields::kAllAttributes;
  query::TagKeysCollector collector;
  RETURN_IF_ERROR(Annotate(
      ScanInParts<query::TagKeysCollector>(
          query.range, /*filters=*/{}, fields, [] { return query::TagKeysCollector(); },
          [&collector](query::TagKeysCollector& part) { collector.Merge(std::move(part)); },
          &answer),
      "sqlite: tag keys"));
  return WithKeys(std::move(collector).Finish(), cataloged);
}

absl::StatusOr<query::TagValuesResult> SqliteBackend::TagValues(
    const query::TagValuesQuery& query) {
  // The collector applies the range and filters itself, so each span is matched once.
  query::TagValuesCollector collector(query);
  std::optional<Clock::time_point> stop_at;
  if (query.time_budget) stop_at = Clock::now() + *query.time_budget;
  const absl::Status counted = CountTagValues(query, stop_at, collector);
  const bool spent = stop_at && counted.code() == absl::StatusCode::kDeadlineExceeded;
  if (!counted.ok() && !spent) {
    return Annotate(counted, fmt::format("sqlite: tag values of {}", query.key.text));
  }
  query::TagValuesResult result = std::move(collector).Finish();
  result.partial = spent;
  return result;
}

namespace {

// String values counted on the block workers, into tables they share. Strings, unlike numbers
// (0.0 and -0.0), have no two equal representations, so the order they are counted in cannot
// change the answer. The scan's workers are joined before AddStringCounts, the last to add
// strings to `collector`.
void AddStringCounts(const sqlite::SharedStringCounts& strings,
                     query::TagValuesCollector& collector) {
  std::vector<std::pair<std::string_view, uint64_t>> counted;
  counted.reserve(strings.size());
  strings.ForEach([&counted](std::string_view value, uint64_t spans) {
    counted.emplace_back(value, spans);
  });
  collector.AddDistinctStrings(std::move(counted));
}

}  // namespace

absl::Status SqliteBackend::CountTagValues(const query::TagValuesQuery& query,
                                           std::optional<Clock::time_point> stop_at,
                                           query::TagValuesCollector& collector) {
  // A block wholly inside the range whose value counts show that every span passes the filters is
  // answered from its counts of the key instead of decoded. Blocks are added in block order, so of
  // equal values (0.0 and -0.0) the same one is reported either way.
  BlockAnswer answer{
      [&](const BlockBounds&, const BlockValueCounts& counts) -> std::function<bool()> {
        std::vector<std::pair<query::TagValue, uint64_t>> counted;
        auto keep = [&counted](const query::TagValue& v, uint64_t n) {
          counted.emplace_back(v, n);
        };
        if (!counts.ForEachCount(query.key, keep)) return {};
        return [&collector, counted = std::move(counted)] {
          for (const auto& [value, n] : counted) collector.AddCounted(value, n);
          return true;
        };
      },
      // One service's span attribute facets: from the blocks' group attributes.
      IsGroupKey(query.key) || query.key.level == query::KeyLevel::kSpan,
      /*whole=*/{}, /*group_sketches=*/false};
  if (query.key.level == query::KeyLevel::kSpan) answer.group_attribute = query.key.name;
  // Span names with filters on service.name, kind and name only (one service's span names): a
  // block wholly inside the range adds its span counts per operation, each operation matched once.
  std::optional<sqlite::OperationNameCounts> names;
  if (sqlite::CountsOperations(query.key, query.filters)) {
    answer.whole = [&](SqliteConnection& conn, const BlockBounds& block) -> absl::StatusOr<bool> {
      if (!names) {
        ASSIGN_OR_RETURN(sqlite::OperationNameCounts opened,
                         sqlite::OperationNameCounts::Open(conn, query.filters));
        names.emplace(std::move(opened));
      }
      return names->AddBlock(conn, block.block_id);
    };
  }
  const BlockAnswer* counted = IsCountedKey(query.key) ? &answer : nullptr;
  const SpanFields fields = FieldsRead(query);
  if (ReadsOnlyTimes(fields)) {
    return ScanRange(query.range, query.filters, fields,
                     [&](const StoredSpan& s) { collector.Add(s); }, stop_at, counted);
  }
  // Each block is counted on a block worker, in a collector of its own, and added in block order:
  // the reading thread then does one hash table update per distinct value of a block instead of
  // matching, converting and counting every span (a high-cardinality key's 10M spans).
  // Without filters, a span attribute's values are counted from its column without building spans
  // (CountSpanAttributeValues): a high-cardinality key's blocks were mostly span building. Its
  // strings then go to tables the block workers share (sqlite::SharedStringCounts), handed to the
  // collector once at the end: adding 10M (value, count) pairs to one table on the reading thread
  // was the query's limit.
  // A query reading only resources, scopes, names, kinds and status codes (the operations of a
  // service), with filters on those and on times, tests each filter on those once per distinct
  // resource or name of a block, not once per span. With such filters, a span attribute's values
  // (one service's facets) are counted from its column over the rows the filters kept.
  const bool refs_filters = FiltersReadOnlyRefs(query.filters, /*times=*/true);
  const bool from_refs = ReadsOnlyRefs(query.key) && refs_filters;
  const bool span_key = query.key.level == query::KeyLevel::kSpan;
  const bool from_column = span_key && refs_filters;
  const SpanFields filter_fields = FieldsRead(query.filters);
  // End times only when a filter reads times (a duration or end time filter).
  const RowTimes times =
      FiltersReadOnlyRefs(query.filters) ? RowTimes::kNone : RowTimes::kStartsAndEnds;
  std::optional<StartRange> starts;
  if (query.range) starts.emplace(query.range->start_unix_nano, query.range->end_unix_nano);
  sqlite::SharedStringCounts strings;
  const absl::Status scanned = ScanBlocks<query::TagValuesCollector>(
      query.range, query.filters, fields,
      [&](std::string_view bytes, int64_t id,
          bool inside) -> absl::StatusOr<query::TagValuesCollector> {
        query::TagValuesCollector part(query);
        // A block wholly inside the range reads no start times.
        const std::optional<StartRange>& block_starts = inside ? std::nullopt : starts;
        // The positions of the spans the filters keep, when there are filters; the range is then
        // applied with them.
        std::optional<std::vector<uint32_t>> kept;
        if (from_column && !query.filters.empty()) {
          ASSIGN_OR_RETURN(std::optional<SpanRefs> refs,
                           MatchingRefs(bytes, id, filter_fields, query.filters, block_starts,
                                        times));
          if (refs) {
            kept.emplace();
            kept->reserve(refs->rows.size());
            for (const SpanRefs::Row& row : refs->rows) kept->push_back(row.position);
          }
        }
        if (from_column && (query.filters.empty() || kept)) {
          absl::StatusOr<bool> from_block = CountSpanAttributeValues(
              bytes, query.key.name, kept ? std::nullopt : block_starts,
              [&strings](const std::vector<std::pair<std::string_view, uint64_t>>& counted) {
                strings.Add(counted);
              },
              [&part](const model::AnyValue& value) {
                if (std::optional<query::TagValue> v = query::ToTagValue(value)) {
                  part.AddCounted(*v, 1);
                }
              },
              kept ? &*kept : nullptr);
          if (!from_block.ok()) return Annotate(from_block.status(), fmt::format("block {}", id));
          if (*from_block) return part;
        }
        if (from_refs) {
          ASSIGN_OR_RETURN(std::optional<SpanRefs> refs,
                           MatchingRefs(bytes, id, fields, query.filters, block_starts, times));
          if (refs) {
            AddTagValues(query.key, *refs, part);
            return part;
          }
        }
        ASSIGN_OR_RETURN(std::vector<StoredSpan> spans, DecodeBlock(bytes, id, fields));
        part.Reserve(spans.size());  // at most one value per span for all but event/link keys
        for (const StoredSpan& s : spans) part.Add(s);
        return part;
      },
      [&](const query::TagValuesCollector& part) { collector.AddAll(part); }, stop_at, counted);
  // On success and on a spent budget alike: the blocks counted so far count.
  if (names) names->AddTo(collector);
  AddStringCounts(strings, collector);
  return scanned;
}

namespace {

bool SameRange(const std::optional<query::TimeRange>& a, const std::optional<query::TimeRange>& b) {
  if (!a || !b) return !a && !b;
  return a->start_unix_nano == b->start_unix_nano && a->end_unix_nano == b->end_unix_nano;
}

bool SameFilter(const query::Filter& a, const query::Filter& b) {
  return a.key == b.key && a.key.level == b.key.level && a.op == b.op && a.value == b.value &&
         a.values == b.values;
}

}  // namespace

absl::StatusOr<std::vector<query::TagValuesResult>> SqliteBackend::TagValuesOfEach(
    const std::vector<query::TagValuesQuery>& queries) {
  // Queries over one range that read only resources, scopes, names, kinds, status codes (and
  // filter on times) share one pass: each block's refs are decoded once, then filtered and counted
  // per query. Others are asked one by one.
  auto shares = [&queries](const query::TagValuesQuery& q) {
    return !q.time_budget && SameRange(q.range, queries.front().range) &&
           ReadsOnlyRefs(q.key) && FiltersReadOnlyRefs(q.filters, /*times=*/true);
  };
  if (queries.size() < 2 || !std::all_of(queries.begin(), queries.end(), shares)) {
    return Backend::TagValuesOfEach(queries);
  }
  // Blocks are pruned by the filters every query has; the union of what they read is decoded.
  std::vector<query::Filter> common;
  for (const query::Filter& f : queries.front().filters) {
    auto has = [&f](const query::TagValuesQuery& q) {
      return std::any_of(q.filters.begin(), q.filters.end(),
                         [&f](const query::Filter& g) { return SameFilter(f, g); });
    };
    if (std::all_of(queries.begin(), queries.end(), has)) common.push_back(f);
  }
  SpanFields fields;
  fields.groups = 0;
  for (const query::TagValuesQuery& q : queries) fields.groups |= FieldsRead(q).groups;
  const std::optional<query::TimeRange>& range = queries.front().range;
  std::optional<StartRange> starts;
  if (range) starts.emplace(range->start_unix_nano, range->end_unix_nano);
  // Times only when a filter reads them (a duration or end time filter).
  const RowTimes times =
      std::all_of(queries.begin(), queries.end(),
                  [](const auto& q) { return FiltersReadOnlyRefs(q.filters); })
          ? RowTimes::kNone
          : RowTimes::kStartsAndEnds;
  std::vector<query::TagValuesCollector> collectors(queries.begin(), queries.end());
  using Parts = std::vector<query::TagValuesCollector>;
  RETURN_IF_ERROR(Annotate(
      ScanBlocks<Parts>(
          range, common, fields,
          [&](std::string_view bytes, int64_t id, bool inside) -> absl::StatusOr<Parts> {
            Parts parts(queries.begin(), queries.end());
            // The shared filters first, once: each query then copies only the rows they keep.
            ASSIGN_OR_RETURN(std::optional<SpanRefs> refs,
                             MatchingRefs(bytes, id, fields, common,
                                          inside ? std::nullopt : starts, times));
            if (refs) {
              // Each query filters a copy of the rows, over the tables they share.
              const std::vector<SpanRefs::Row> rows = std::move(refs->rows);
              for (size_t i = 0; i < queries.size(); ++i) {
                refs->rows.assign(rows.begin(), rows.end());
                KeepMatching(queries[i].filters, *refs);
                AddTagValues(queries[i].key, *refs, parts[i]);
              }
              return parts;
            }
            // A format 1 block: its spans, which each collector matches itself.
            ASSIGN_OR_RETURN(std::vector<StoredSpan> spans, DecodeBlock(bytes, id, fields));
            for (query::TagValuesCollector& part : parts) {
              for (const StoredSpan& s : spans) part.Add(s);
            }
            return parts;
          },
          [&](const Parts& parts) {
            for (size_t i = 0; i < parts.size(); ++i) collectors[i].AddAll(parts[i]);
          },
          /*stop_at=*/std::nullopt, /*answer=*/nullptr),
      "sqlite: tag values"));
  std::vector<query::TagValuesResult> results;
  results.reserve(collectors.size());
  for (query::TagValuesCollector& collector : collectors) {
    results.push_back(std::move(collector).Finish());
  }
  return results;
}

absl::StatusOr<query::StatisticsResult> SqliteBackend::Statistics(
    const query::StatisticsQuery& query) {
  // The collector applies the range and filters itself, so each span is matched once.
  query::StatisticsCollector collector(query);
  // A block inside the range whose spans all match adds its duration aggregates.
  const BlockAnswer answer{
      [&collector](const BlockBounds&, const BlockValueCounts& counts) -> std::function<bool()> {
        absl::StatusOr<query::DurationAggregates> durations = counts.Durations();
        if (!durations.ok()) return {};
        return [&collector, durations = *std::move(durations)] {
          return collector.AddAggregates(durations);
        };
      },
      /*from_groups=*/true,
      /*whole=*/{}};
  RETURN_IF_ERROR(Annotate(
      ScanRange(query.range, query.filters, FieldsRead(query),
                [&](const StoredSpan& s) { collector.Add(s); }, std::nullopt,
                collector.TakesAggregates() ? &answer : nullptr),
      fmt::format("sqlite: statistics of {}", query.key.text)));
  return std::move(collector).Finish();
}

absl::StatusOr<query::HistogramResult> SqliteBackend::Histograms(
    const query::HistogramQuery& query) {
  // The collector applies the range and filters itself, so each span is matched once.
  query::HistogramCollector collector(query);
  // A block inside the range whose spans all match and all start in one bucket adds its duration
  // aggregates and value counts.
  // Groups answer when every key the counts or grouped durations are asked for is a group key.
  auto group_keys_only = [](const query::Aggregation& agg) {
    const std::optional<query::Key>& counted = query::CountedKeyOf(agg);
    const std::optional<query::Key>& by = query::GroupedDurationsKeyOf(agg);
    return (!counted || IsGroupKey(*counted)) && (!by || IsGroupKey(*by));
  };
  // Durations per group value (grouped percentiles) come from groups only.
  const bool grouped_durations =
      std::any_of(query.aggregations.begin(), query.aggregations.end(),
                  [](const query::Aggregation& agg) {
                    return query::GroupedDurationsKeyOf(agg).has_value();
                  });
  const BlockAnswer answer{
      [&collector](const BlockBounds& block,
                   const BlockValueCounts& counts) -> std::function<bool()> {
        if (collector.BucketKey(block.min_start) != collector.BucketKey(block.max_start)) {
          return {};
        }
        absl::StatusOr<query::DurationAggregates> durations = counts.Durations();
        if (!durations.ok()) return {};
        query::BlockCountsFn counts_of = [&counts](const query::Key& key, const auto& fn) {
          return counts.ForEachCount(key, fn);
        };
        query::BlockDurationsFn durations_of = [&counts](const query::Key& key,
                                                         const auto& fn) {
          return counts.ForEachGroupDurations(key, fn);
        };
        if (!collector.CanAddAggregates(*durations, counts_of, durations_of)) return {};
        return [&collector, counts_of, durations_of, durations = *std::move(durations),
                start = block.min_start] {
          return collector.AddAggregates(start, durations, counts_of, durations_of);
        };
      },
      std::all_of(query.aggregations.begin(), query.aggregations.end(), group_keys_only),
      /*whole=*/{},
      /*group_sketches=*/std::any_of(query.aggregations.begin(), query.aggregations.end(),
                                     [](const query::Aggregation& agg) {
                                       return agg.func == query::AggregationFunc::kPercentiles;
                                     }),
      // Grouped percentiles from groups are within the sketches' 1% however few a group's values;
      // spans one by one answer a group of fewer than kExactGroupValues exactly, which a range of
      // no more spans than that can afford to decode.
      /*more_spans_than=*/grouped_durations ? query::kExactGroupValues : 0,
      /*groups_only=*/grouped_durations};
  RETURN_IF_ERROR(Annotate(
      ScanInParts<query::HistogramCollector>(
          query.range, query.filters, FieldsRead(query), [&collector] { return collector.Part(); },
          [&collector](query::HistogramCollector& part) { collector.Merge(std::move(part)); },
          collector.TakesAggregates() ? &answer : nullptr),
      "sqlite: histograms"));
  return std::move(collector).Finish();
}

absl::StatusOr<query::DependenciesResult> SqliteBackend::Dependencies(
    const query::DependenciesQuery& query) {
  // A block wholly inside the range is read from its stored calls (storage/block_calls.h): the
  // calls whose parents were written with them, counted, and the others. Those that count parents
  // in other blocks need the range to hold those parents, and retention not to have deleted any
  // (every deleted block ended before them). Other blocks are decoded: spans of one trace are
  // mostly written together, so most calls join within one block, counted on the block workers
  // from ids, services and statuses alone. Only the calls whose parent is elsewhere are kept (at
  // most max_examined of them) and joined afterwards through trace_blocks, decoding just the
  // blocks that hold their parents. Memory follows those calls, not the spans in the range.
  constexpr std::string_view kContext = "sqlite: dependencies";
  const SpanFields fields = CallFields();
  query::DependencyCounter counter;
  std::vector<OpenCall> open;
  bool partial = false;
  auto add = [&](BlockCalls& block) {
    counter.Merge(block.counter);
    if (partial || open.size() + block.open.size() > query.max_examined) {
      partial = true;  // the calls joined so far stay; later blocks' open calls do not
      return;
    }
    for (OpenCall& call : block.open) open.push_back(std::move(call));
  };
  std::optional<SqliteStatement> select_calls;
  std::optional<uint64_t> deleted_max_start;  // none deleted; read in the scan's snapshot, once
  const BlockAnswer stored{
      /*add=*/{}, /*from_groups=*/false,
      [&](SqliteConnection& conn, const BlockBounds& block) -> absl::StatusOr<bool> {
        if (!select_calls) {
          ASSIGN_OR_RETURN(
              SqliteStatement select,
              conn.Prepare("SELECT calls FROM block_calls WHERE block_id = ?"));
          select_calls.emplace(std::move(select));
          ASSIGN_OR_RETURN(SqliteStatement mark,
                           conn.Prepare("SELECT value FROM meta WHERE key = 'deleted_max_start'"));
          ASSIGN_OR_RETURN(bool marked, mark.Step());
          if (marked) deleted_max_start = MaxFromDb(mark.ColumnInt(0));
        }
        select_calls->Reset();
        select_calls->BindInt(1, block.block_id);
        ASSIGN_OR_RETURN(bool row, select_calls->Step());
        if (!row) return false;  // written before them, or with too many open calls
        // Unreadable calls only cost the decode.
        absl::StatusOr<StoredCalls> calls = ParseBlockCalls(select_calls->ColumnBlob(0));
        if (!calls.ok()) return false;
        if (const auto& outside = calls->outside_parents;
            outside && (outside->first < query.range.start_unix_nano ||
                        outside->second > query.range.end_unix_nano ||
                        (deleted_max_start && outside->first <= *deleted_max_start))) {
          return false;
        }
        BlockCalls block_calls;
        calls->AddTo(block_calls);
        add(block_calls);
        return true;
      }};
  RETURN_IF_ERROR(Annotate(
      ScanBlocks<BlockCalls>(
          query.range, /*filters=*/{}, fields,
          [&query, &fields](std::string_view bytes, int64_t id,
                            bool /*inside*/) -> absl::StatusOr<BlockCalls> {
            ASSIGN_OR_RETURN(std::vector<StoredSpan> spans, DecodeBlock(bytes, id, fields));
            return CallsInBlock(spans, query.range);
          },
          add, /*stop_at=*/std::nullopt, &stored),
      kContext));
  if (open.empty()) return std::move(counter).Finish(query.service, partial);

  // The open calls by the parent they wait on, and the blocks that may hold those parents (by
  // their fingerprints: the join below matches exact ids).
  absl::flat_hash_map<SpanKey, std::vector<const OpenCall*>> waiting;
  absl::flat_hash_set<std::pair<TraceId, uint32_t>> parents;
  for (const OpenCall& call : open) {
    waiting[call.parent].push_back(&call);
    parents.emplace(call.parent.first, SpanFingerprint(call.parent.second));
  }
  std::set<int64_t> parent_blocks;
  ASSIGN_OR_RETURN(Reader reader, AcquireReader());
  {
    ASSIGN_OR_RETURN(SqliteStatement stmt,
                     reader.conn().Prepare("SELECT block_id, span_fingerprints FROM trace_blocks "
                                           "WHERE trace_id = ?"));
    absl::flat_hash_set<TraceId> traces;
    for (const OpenCall& call : open) traces.insert(call.parent.first);
    for (const TraceId& trace_id : traces) {
      RETURN_IF_ERROR(CheckCancelled());
      stmt.BindBlob(1, IdBytes(trace_id), /*static_data=*/true);
      while (true) {
        absl::StatusOr<bool> row = stmt.Step();
        if (!row.ok()) return Annotate(row.status(), kContext);
        if (!*row) break;
        const std::string_view stored = stmt.ColumnBlob(1);
        for (size_t i = 0; i < FingerprintCount(stored); ++i) {
          if (parents.contains(std::pair(trace_id, FingerprintAt(stored, i)))) {
            parent_blocks.insert(stmt.ColumnInt(0));
            break;
          }
        }
      }
      stmt.Reset();
    }
  }
  std::unique_ptr<Workers<query::DependencyCounter>> workers =
      NewBlockWorkers<query::DependencyCounter>(parent_blocks.size());
  auto merge = [&counter](absl::StatusOr<query::DependencyCounter> joined) -> absl::Status {
    if (!joined.ok()) return joined.status();
    counter.Merge(*joined);
    return absl::OkStatus();
  };
  auto join = [&](std::string_view bytes, int64_t id,
                  bool /*inside*/) -> absl::StatusOr<query::DependencyCounter> {
    ASSIGN_OR_RETURN(std::vector<StoredSpan> spans, DecodeBlock(bytes, id, fields));
    query::DependencyCounter joined;
    for (const StoredSpan& s : spans) {
      auto calls = waiting.find(SpanKey{s.span.trace_id, s.span.span_id});
      if (calls == waiting.end() || !query::InRange(query.range, s)) continue;
      for (const OpenCall* call : calls->second) {
        joined.Add(model::ServiceName(s), call->child_service, 1, call->error ? 1 : 0);
      }
    }
    return joined;
  };
  for (int64_t block_id : parent_blocks) {
    RETURN_IF_ERROR(CheckCancelled());
    RETURN_IF_ERROR(
        Annotate(QueueDecode(*workers, reader.conn(), block_id, fields, join, merge), kContext));
  }
  while (!workers->Empty()) RETURN_IF_ERROR(Annotate(merge(workers->Next()), kContext));
  return std::move(counter).Finish(query.service, partial);
}

absl::StatusOr<std::vector<std::string>> SqliteBackend::Services() {
  absl::StatusOr<std::optional<std::vector<std::string>>> services;
  {
    ASSIGN_OR_RETURN(Reader reader, AcquireReader());  // released before a fallback takes one
    services = sqlite::CatalogedServices(reader.conn());
  }
  if (!services.ok()) return Annotate(services.status(), "sqlite: services");
  if (*services) return **std::move(services);
  return Backend::Services();
}

absl::StatusOr<std::vector<Backend::Operation>> SqliteBackend::Operations(
    const std::string& service) {
  absl::StatusOr<std::optional<std::vector<Operation>>> operations;
  {
    ASSIGN_OR_RETURN(Reader reader, AcquireReader());
    operations = sqlite::CatalogedOperations(reader.conn(), service);
  }
  if (!operations.ok()) return Annotate(operations.status(), "sqlite: operations");
  if (*operations) return **std::move(operations);
  return Backend::Operations(service);
}

absl::StatusOr<int> SqliteBackend::DeleteBlocks(const std::string& select_sql,
                                                std::optional<int64_t> param) {
  std::lock_guard<std::mutex> lock(write_mu_);
  SqliteConnection& conn = *writer_;
  WriteTxn txn(conn);
  RETURN_IF_ERROR(txn.Begin());
  std::vector<int64_t> ids;
  {
    ASSIGN_OR_RETURN(SqliteStatement select, conn.Prepare(select_sql));
    if (param) select.BindInt(1, *param);
    while (true) {
      ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      ids.push_back(select.ColumnInt(0));
    }
  }
  for (int64_t id : ids) {
    {
      // The latest start any deleted block reached: stored calls whose parents in other blocks
      // all start after it still have them (docs/adr/002-block-summaries.md, "Stored calls").
      ASSIGN_OR_RETURN(SqliteStatement mark,
                       conn.Prepare("INSERT INTO meta (key, value) SELECT 'deleted_max_start', "
                                    "max_start_unix_nano FROM blocks WHERE block_id = ? "
                                    "ON CONFLICT (key) DO UPDATE SET "
                                    "value = max(value, excluded.value)"));
      mark.BindInt(1, id);
      RETURN_IF_ERROR(mark.Run());
    }
    RETURN_IF_ERROR(DeleteTraceIndexRows(conn, id));
    {
      ASSIGN_OR_RETURN(SqliteStatement del,
                       conn.Prepare("DELETE FROM block_summaries WHERE block_id = ?"));
      del.BindInt(1, id);
      RETURN_IF_ERROR(del.Run());
    }
    for (const char* table : {"block_value_counts", "block_groups", "block_group_attributes",
                              "block_key_catalogs", "block_calls", "block_operations"}) {
      ASSIGN_OR_RETURN(SqliteStatement del,
                       conn.Prepare(fmt::format("DELETE FROM {} WHERE block_id = ?", table)));
      del.BindInt(1, id);
      RETURN_IF_ERROR(del.Run());
    }
    ASSIGN_OR_RETURN(SqliteStatement del, conn.Prepare("DELETE FROM blocks WHERE block_id = ?"));
    del.BindInt(1, id);
    RETURN_IF_ERROR(del.Run());
  }
  if (ids.empty()) return 0;
  // Catalogs no remaining block names (few rows: one per distinct key set).
  RETURN_IF_ERROR(conn.Exec(
      "DELETE FROM key_catalogs WHERE NOT EXISTS (SELECT 1 FROM block_key_catalogs b "
      "WHERE b.catalog_id = key_catalogs.catalog_id)"));
  RETURN_IF_ERROR(operations_.Prune(conn));
  RETURN_IF_ERROR(txn.Commit());
  operations_.Committed();
  return static_cast<int>(ids.size());
}

absl::StatusOr<std::optional<std::vector<StoredSpan>>> SqliteBackend::BlockIds(
    SqliteConnection& conn, int64_t block_id) {
  ASSIGN_OR_RETURN(SqliteStatement select,
                   conn.Prepare("SELECT data FROM blocks WHERE block_id = ?"));
  select.BindInt(1, block_id);
  ASSIGN_OR_RETURN(bool row, select.Step());
  if (!row) return std::vector<StoredSpan>();
  absl::StatusOr<std::vector<StoredSpan>> spans =
      DecodeSpanBlock(select.ColumnBlob(0), SpanFields{SpanFields::kIds, {}});
  if (!spans.ok()) return std::nullopt;
  return *std::move(spans);
}

absl::Status SqliteBackend::DeleteTraceIndexRows(SqliteConnection& conn, int64_t block_id) {
  ASSIGN_OR_RETURN(std::optional<std::vector<StoredSpan>> spans, BlockIds(conn, block_id));
  if (!spans) {  // a damaged block: its rows are found by reading the whole index
    ASSIGN_OR_RETURN(SqliteStatement del,
                     conn.Prepare("DELETE FROM trace_blocks WHERE block_id = ?"));
    del.BindInt(1, block_id);
    return del.Run();
  }
  absl::flat_hash_set<TraceId> traces;
  for (const StoredSpan& s : *spans) traces.insert(s.span.trace_id);
  ASSIGN_OR_RETURN(SqliteStatement del,
                   conn.Prepare("DELETE FROM trace_blocks WHERE trace_id = ? AND block_id = ?"));
  for (const TraceId& trace_id : traces) {
    del.BindBlob(1, IdBytes(trace_id), /*static_data=*/true);
    del.BindInt(2, block_id);
    RETURN_IF_ERROR(del.Run());
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> SqliteBackend::UsedBytesLocked() {
  // Pages in use, as the writer sees them (WAL included); the file shrinks to this after
  // incremental_vacuum and a checkpoint.
  ASSIGN_OR_RETURN(int64_t pages, writer_->QueryInt("PRAGMA page_count"));
  ASSIGN_OR_RETURN(int64_t free_pages, writer_->QueryInt("PRAGMA freelist_count"));
  ASSIGN_OR_RETURN(int64_t page_size, writer_->QueryInt("PRAGMA page_size"));
  return static_cast<uint64_t>(std::max<int64_t>(0, pages - free_pages) * page_size);
}

absl::Status SqliteBackend::EnforceRetention() {
  const std::string select_limit = fmt::format(" LIMIT {}", kRetentionBlocksPerTxn);
  bool deleted_any = false;
  if (settings_.retention_max_age_nano > 0) {
    uint64_t now = NowUnixNano();
    uint64_t cutoff =
        now > settings_.retention_max_age_nano ? now - settings_.retention_max_age_nano : 0;
    while (true) {
      absl::StatusOr<int> n = DeleteBlocks(
          "SELECT block_id FROM blocks WHERE max_start_unix_nano < ?1" + select_limit,
          ToDb(cutoff));
      if (!n.ok()) return Annotate(n.status(), "sqlite: retention by age");
      if (*n == 0) break;
      deleted_any = true;
    }
  }
  if (settings_.retention_max_bytes > 0) {
    while (true) {
      absl::StatusOr<uint64_t> used;
      {
        std::lock_guard<std::mutex> lock(write_mu_);
        used = UsedBytesLocked();
      }
      if (!used.ok()) return Annotate(used.status(), "sqlite: retention by size");
      if (*used <= settings_.retention_max_bytes) break;
      // Oldest first; a few blocks per round so the size is re-checked often.
      absl::StatusOr<int> n = DeleteBlocks(
          "SELECT block_id FROM blocks ORDER BY max_start_unix_nano, block_id LIMIT 4",
          std::nullopt);
      if (!n.ok()) return Annotate(n.status(), "sqlite: retention by size");
      if (*n == 0) break;  // nothing left to delete: the schema alone exceeds the cap
      deleted_any = true;
    }
  }
  if (!deleted_any) {
    // Keep the WAL short without waiting for readers.
    std::lock_guard<std::mutex> lock(write_mu_);
    return Annotate(writer_->Exec("PRAGMA wal_checkpoint(PASSIVE)"), "sqlite: checkpoint");
  }
  // Give the freed pages back to the file system in slices, releasing the lock in between. Stop
  // when a slice frees nothing (a file created without auto_vacuum cannot shrink this way).
  int64_t previous_free_pages = INT64_MAX;
  while (true) {
    std::lock_guard<std::mutex> lock(write_mu_);
    absl::StatusOr<int64_t> free_pages = writer_->QueryInt("PRAGMA freelist_count");
    if (!free_pages.ok()) return Annotate(free_pages.status(), "sqlite: retention vacuum");
    if (*free_pages == 0 || *free_pages >= previous_free_pages) break;
    previous_free_pages = *free_pages;
    RETURN_IF_ERROR(
        Annotate(writer_->Exec("PRAGMA incremental_vacuum(2048)"), "sqlite: retention vacuum"));
  }
  // TRUNCATE so the file sizes (DiskBytes, the size cap) reflect the deletion now.
  std::lock_guard<std::mutex> lock(write_mu_);
  return Annotate(writer_->Exec("PRAGMA wal_checkpoint(TRUNCATE)"), "sqlite: retention checkpoint");
}

uint64_t SqliteBackend::DiskBytes() {
  uint64_t total = 0;
  for (const std::string& file : {db_path_, db_path_ + "-wal"}) {
    std::error_code ec;
    uintmax_t size = std::filesystem::file_size(file, ec);
    if (!ec) total += size;
  }
  return total;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> NewSqliteBackend(const BackendSettings& settings) {
  ASSIGN_OR_RETURN(SqliteSettings parsed, sqlite::ParseSqliteSettings(settings));
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteBackend> backend, SqliteBackend::Open(std::move(parsed)));
  return std::unique_ptr<Backend>(std::move(backend));
}

namespace sqlite {

SqliteScanStats GetScanStats(const Backend& backend) {
  const auto* sqlite = dynamic_cast<const SqliteBackend*>(&backend);
  return sqlite == nullptr ? SqliteScanStats{} : sqlite->ScanStats();
}

}  // namespace sqlite

}  // namespace teletrace::storage
