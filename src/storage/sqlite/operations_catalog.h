#pragma once

// SQLite's catalog of operations (table `operations`, migration 008;
// docs/adr/004-operations-catalog.md): each (service.name, span kind, span name) of the stored
// spans, so that the Jaeger and Zipkin APIs' service and operation lists, which span all stored
// data, read a few rows instead of every block.
//
//   block.operations = OperationsOfBlock(spans);        // build workers, with the block
//   catalog.Record(writer, blocks' operations);          // the commit's transaction
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
// `max_bytes` the catalog is dropped and the lists are read from the blocks again, until
// retention has emptied the store.
//
// Thread safety: OperationsOfBlock and the Cataloged* functions are pure (the latter use the
// caller's connection); an OperationsCatalog is used under the writer's lock.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/span.h"
#include "storage/sqlite/sqlite_connection.h"
#include "storage/storage.h"

namespace teletrace::storage::sqlite {

// How far behind a stored operation's bound may trail its spans' latest start.
inline constexpr int64_t kOperationSlackNano = int64_t{60} * 1000 * 1000 * 1000;

// A block's operations: each distinct (service.name, kind, name) of its spans whose resource's
// service.name (its last occurrence) is a string, as an encoded key, with the latest start among
// those spans (INT64_MAX for later ones).
using BlockOperations = std::vector<std::pair<std::string, int64_t>>;
BlockOperations OperationsOfBlock(std::span<const model::StoredSpan* const> spans);

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

  // In the writer's transaction: inserts the operations of `blocks` new to the catalog and raises
  // the bounds that trail by more than the slack (or drops the catalog past max_bytes). The
  // memory side follows on Committed(); a transaction that fails leaves it as it was.
  absl::Status Record(SqliteConnection& conn, std::span<const BlockOperations* const> blocks);
  // In retention's transaction, after its blocks are deleted: deletes the operations whose spans
  // are all gone, and turns the catalog (back) on once no block it does not cover is stored.
  absl::Status Prune(SqliteConnection& conn);
  // The transaction of the last Record or Prune committed.
  void Committed();

  // For tests and /metrics-style reports.
  bool enabled() const { return enabled_; }
  size_t size() const { return known_.size(); }

 private:
  absl::Status Drop(SqliteConnection& conn);

  const uint64_t max_bytes_;
  bool enabled_ = false;
  uint64_t bytes_ = 0;  // what known_ holds, as Cost() counts it
  absl::flat_hash_map<std::string, int64_t> known_;  // key -> stored bound
  // What the pending transaction changes.
  struct Pending {
    absl::flat_hash_map<std::string, int64_t> raised;  // new or raised bounds
    std::optional<int64_t> pruned_below;               // bounds below this were deleted
    bool dropped = false;                              // the catalog was dropped
    bool reset = false;                                // the store is empty: catalog on, empty
  } pending_;
};

}  // namespace teletrace::storage::sqlite
