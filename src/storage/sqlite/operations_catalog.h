#pragma once

// SQLite's catalog of operations (table `operations`, migration 008;
// docs/adr/004-operations-catalog.md): each (service.name, span kind, span name) of the stored
// spans, so that the Jaeger and Zipkin APIs' service and operation lists, which span all stored
// data, read a few rows instead of every block; and each block's span count per operation
// (table `block_operations`), so that span names with their counts (one service's span names on
// the search page) are read without decoding blocks.
//
//   block.operations = OperationsOfBlock(spans);        // build workers, with the block
//   catalog.Record(writer, {{block_id, &block.operations}, ...});  // the commit's transaction
//   if (txn.Commit().ok()) catalog.Committed();
//   ...
//   ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> services, CatalogedServices(reader));
//   if (!services) { /* blocks from before the catalog are stored: scan */ }
//
// What is kept: a row per operation of the blocks written since migration 008, inserted in the
// transaction of the first block that carries it, with a lower bound on its spans' latest start
// (raised once a block starts them more than kOperationSlackNano later: about one write per
// operation per minute). Retention deletes, with the blocks, the operations whose bound plus the
// slack falls before the oldest stored span: an operation stays listed at most that slack past
// its last span's deletion, and is never missing while a span of it is stored. The rows are
// mirrored in memory on the writer's side (Record looks up each block's operations there); past
// `max_bytes` the catalog is dropped (block counts included) and the lists are read from the
// blocks again, until retention has emptied the store. A block whose every span has a string
// service.name also gets its span count per operation id; no operation a stored block counts is
// ever pruned (its bound plus the slack is at least that block's starts, so at least the oldest
// stored start).
//
// Thread safety: the functions are pure (those taking a connection use the caller's); an
// OperationNameCounts serves one query on one thread; an OperationsCatalog is used under the
// writer's lock.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/span.h"
#include "query/engine.h"
#include "storage/sqlite/sqlite_connection.h"
#include "storage/storage.h"

namespace teletrace::storage::sqlite {

// How far behind a stored operation's bound may trail its spans' latest start.
inline constexpr int64_t kOperationSlackNano = int64_t{60} * 1000 * 1000 * 1000;

// One of a block's operations: its key (service.name, kind, name), the latest start among its
// spans (INT64_MAX for later ones) and how many they are.
struct OperationSeen {
  std::string key;
  int64_t latest = 0;
  uint64_t spans = 0;
};
// A block's operations: each distinct (service.name, kind, name) of its spans whose resource's
// service.name (its last occurrence) is a string.
struct BlockOperations {
  std::vector<OperationSeen> operations;
  bool every_span = true;  // every span's service.name is a string: the counts hold them all
};
BlockOperations OperationsOfBlock(std::span<const model::StoredSpan* const> spans);

// A block's span counts per operation id (table block_operations). Persisted, so a change needs a
// new version:
//   version byte (1), the number of operations, then per operation in ascending id order its id
//   (the first as is, each next as the difference to the one before, >= 1) and its span count
//   (>= 1); varints in their shortest form; no trailing bytes.
inline constexpr uint8_t kOperationCountsVersion = 1;
std::string EncodeOperationCounts(const std::vector<std::pair<int64_t, uint64_t>>& counts);
// DataLoss naming what is wrong: a bad version, a truncation, ids out of order, a zero count, a
// longer varint than needed, trailing bytes.
absl::StatusOr<std::vector<std::pair<int64_t, uint64_t>>> ParseOperationCounts(
    std::string_view bytes);

// Whether TagValues of `key` with `filters` can be answered from blocks' operation counts: the
// span name's values, with filters that read only service.name, span.kind and span.name.
bool CountsOperations(const query::Key& key, const std::vector<query::Filter>& filters);

// The span names a TagValues query CountsOperations accepts counts, read from blocks' operation
// counts: each operation of the reader's snapshot is matched once, and each block adds the spans
// of the kept ones.
class OperationNameCounts {
 public:
  static absl::StatusOr<OperationNameCounts> Open(SqliteConnection& conn,
                                                  const std::vector<query::Filter>& filters);
  // Adds the spans of block `block_id` (one wholly inside the query's range) whose operations
  // the filters keep; false, adding nothing, when the block has no counts or unreadable ones (it
  // is then decoded).
  absl::StatusOr<bool> AddBlock(SqliteConnection& conn, int64_t block_id);
  // Adds the names counted so far, as TagValuesCollector::AddCounted.
  void AddTo(query::TagValuesCollector& collector) const;

 private:
  struct Counted {
    std::string name;
    bool kept = false;
    uint64_t spans = 0;
  };
  absl::flat_hash_map<int64_t, Counted> by_id_;
};

// The catalog's answers in the reader's transaction, or nullopt when a block it does not cover is
// stored (the caller then reads the blocks).
absl::StatusOr<std::optional<std::vector<std::string>>> CatalogedServices(
    SqliteConnection& conn);
absl::StatusOr<std::optional<std::vector<Backend::Operation>>> CatalogedOperations(
    SqliteConnection& conn, const std::string& service);

class OperationsCatalog {
 public:
  explicit OperationsCatalog(uint64_t max_bytes) : max_bytes_(max_bytes) {}

  // Reads the stored catalog into memory (once, at open, on the writer's connection).
  absl::Status Load(SqliteConnection& conn);

  // In the writer's transaction: inserts the operations of `blocks` (block ids with their
  // operations) new to the catalog, raises the bounds that trail by more than the slack, and
  // stores each block's span counts per operation (or drops the catalog past max_bytes). The
  // memory side follows on Committed(); a transaction that fails leaves it as it was.
  absl::Status Record(SqliteConnection& conn,
                      std::span<const std::pair<int64_t, const BlockOperations*>> blocks);
  // In retention's transaction, after its blocks are deleted: deletes the operations whose spans
  // are all gone, and turns the catalog (back) on once no block it does not cover is stored.
  absl::Status Prune(SqliteConnection& conn);
  // The transaction of the last Record or Prune committed.
  void Committed();

 private:
  absl::Status Drop(SqliteConnection& conn);

  const uint64_t max_bytes_;
  bool enabled_ = false;
  uint64_t bytes_ = 0;  // what known_ holds, as Cost() counts it
  struct Known {
    int64_t id = 0;
    int64_t bound = 0;  // the stored lower bound of the latest start
  };
  absl::flat_hash_map<std::string, Known> known_;
  int64_t next_id_ = 1;
  // What the pending transaction changes.
  struct Pending {
    absl::flat_hash_map<std::string, Known> raised;  // new operations and raised bounds
    std::optional<int64_t> pruned_below;               // bounds below this were deleted
    bool dropped = false;                              // the catalog was dropped
    bool reset = false;                                // the store is empty: catalog on, empty
    int64_t next_id = 0;                               // the next id to give
  } pending_;
};

}  // namespace teletrace::storage::sqlite
