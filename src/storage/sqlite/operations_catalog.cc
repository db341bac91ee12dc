#include "storage/sqlite/operations_catalog.h"

#include <algorithm>
#include <string_view>
#include <tuple>

#include "common/encoding.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace teletrace::storage::sqlite {
namespace {

// An operation as a map key: the service's size (4 bytes, little-endian), the service, the kind
// (1 byte), the name.
std::string OperationKey(std::string_view service, model::SpanKind kind, std::string_view name) {
  std::string key;
  key.reserve(4 + service.size() + 1 + name.size());
  const auto size = static_cast<uint32_t>(service.size());
  for (int i = 0; i < 4; ++i) key.push_back(static_cast<char>(size >> (8 * i)));
  key.append(service);
  key.push_back(static_cast<char>(kind));
  key.append(name);
  return key;
}

struct OperationParts {
  std::string_view service;
  int64_t kind;
  std::string_view name;
};
OperationParts PartsOf(std::string_view key) {
  uint32_t size = 0;
  for (int i = 0; i < 4; ++i) size |= uint32_t{static_cast<uint8_t>(key[i])} << (8 * i);
  return {key.substr(4, size), static_cast<uint8_t>(key[4 + size]), key.substr(5 + size)};
}

// What one operation costs in memory: its key and the map's entry around it.
uint64_t Cost(const std::string& key) { return key.size() + 64; }

constexpr int64_t kNoBlockIsCovered = INT64_MAX;  // operations_from_block once dropped

// The resource's service.name when it is a string (its last occurrence, as filters read it).
const std::string* StringServiceName(const model::Resource* resource) {
  if (resource == nullptr) return nullptr;
  const model::AnyValue* v = model::FindAttribute(resource->attributes, "service.name");
  return v == nullptr ? nullptr : std::get_if<std::string>(&v->value);
}

absl::StatusOr<bool> CoversEveryBlock(SqliteConnection& conn) {
  ASSIGN_OR_RETURN(
      int64_t uncovered,
      conn.QueryInt("SELECT EXISTS (SELECT 1 FROM blocks WHERE block_id < coalesce((SELECT "
                    "value FROM meta WHERE key = 'operations_from_block'), 9223372036854775807))"));
  return uncovered == 0;
}

}  // namespace

BlockOperations OperationsOfBlock(std::span<const model::StoredSpan* const> spans) {
  struct Seen {
    int64_t latest;
    uint64_t spans;
  };
  absl::flat_hash_map<std::tuple<std::string_view, uint8_t, std::string_view>, Seen> seen;
  BlockOperations out;
  const model::Resource* resource = nullptr;
  const std::string* service = nullptr;
  for (const model::StoredSpan* s : spans) {
    if (s->resource.get() != resource) {
      resource = s->resource.get();
      service = StringServiceName(resource);
    }
    if (service == nullptr) {
      out.every_span = false;
      continue;
    }
    const int64_t start = static_cast<int64_t>(
        std::min<uint64_t>(s->span.start_time_unix_nano, uint64_t{INT64_MAX}));
    auto [it, added] = seen.try_emplace(
        {*service, static_cast<uint8_t>(s->span.kind), s->span.name}, Seen{start, 0});
    it->second.latest = std::max(it->second.latest, start);
    ++it->second.spans;
  }
  out.operations.reserve(seen.size());
  for (const auto& [op, counted] : seen) {
    const auto& [service_name, kind, name] = op;
    out.operations.push_back(
        OperationSeen{OperationKey(service_name, static_cast<model::SpanKind>(kind), name),
                      counted.latest, counted.spans});
  }
  return out;
}

std::string EncodeOperationCounts(const std::vector<std::pair<int64_t, uint64_t>>& counts) {
  std::string out(1, static_cast<char>(kOperationCountsVersion));
  encoding::AppendVarint(&out, counts.size());
  int64_t previous = 0;
  for (const auto& [id, spans] : counts) {
    encoding::AppendVarint(&out, static_cast<uint64_t>(id - previous));
    encoding::AppendVarint(&out, spans);
    previous = id;
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<int64_t, uint64_t>>> ParseOperationCounts(
    std::string_view bytes) {
  auto corrupt = [](std::string_view what) {
    return absl::DataLossError(fmt::format("operation counts: {}", what));
  };
  if (bytes.empty()) return corrupt("empty");
  if (static_cast<uint8_t>(bytes[0]) != kOperationCountsVersion) {
    return corrupt(fmt::format("unknown version {}", static_cast<uint8_t>(bytes[0])));
  }
  const char* p = bytes.data() + 1;
  const char* const end = bytes.data() + bytes.size();
  uint64_t n;
  if (!encoding::ReadShortestVarint(&p, end, &n)) return corrupt("malformed count");
  if (n > static_cast<uint64_t>(end - p) / 2) {  // two bytes at least per operation
    return corrupt(fmt::format("{} operations in {} bytes", n, end - p));
  }
  std::vector<std::pair<int64_t, uint64_t>> counts;
  counts.reserve(n);
  uint64_t id = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t delta, spans;
    if (!encoding::ReadShortestVarint(&p, end, &delta) ||
        !encoding::ReadShortestVarint(&p, end, &spans)) {
      return corrupt(fmt::format("malformed operation {}", i));
    }
    if ((i > 0 && delta == 0) || delta > static_cast<uint64_t>(INT64_MAX) - id) {
      return corrupt(fmt::format("operation {} out of order", i));
    }
    if (spans == 0) return corrupt(fmt::format("operation {} counts no span", i));
    id += delta;
    counts.emplace_back(static_cast<int64_t>(id), spans);
  }
  if (p != end) return corrupt(fmt::format("{} trailing bytes", end - p));
  return counts;
}

bool CountsOperations(const query::Key& key, const std::vector<query::Filter>& filters) {
  auto operation_field = [](const query::Key& k) {
    return k.level == query::KeyLevel::kIntrinsic
               ? k.intrinsic == query::Intrinsic::kName || k.intrinsic == query::Intrinsic::kKind
               : k.level == query::KeyLevel::kResource && k.name == "service.name";
  };
  return key.level == query::KeyLevel::kIntrinsic && key.intrinsic == query::Intrinsic::kName &&
         std::all_of(filters.begin(), filters.end(),
                     [&](const query::Filter& f) { return operation_field(f.key); });
}

absl::StatusOr<OperationNameCounts> OperationNameCounts::Open(
    SqliteConnection& conn, const std::vector<query::Filter>& filters) {
  const query::SpanMatcher matcher(filters);
  OperationNameCounts out;
  ASSIGN_OR_RETURN(SqliteStatement select,
                   conn.Prepare("SELECT id, service, kind, name FROM operations"));
  model::StoredSpan span;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    // The operation as a span holding only what the filters read.
    auto resource = std::make_shared<model::Resource>();
    resource->attributes.push_back({"service.name", model::AnyValue(
                                                        std::string(select.ColumnBlob(1)))});
    span.resource = std::move(resource);
    span.span.kind = static_cast<model::SpanKind>(select.ColumnInt(2));
    span.span.name = std::string(select.ColumnBlob(3));
    out.by_id_[select.ColumnInt(0)] = Counted{span.span.name, matcher.Matches(span), 0};
  }
  return out;
}

absl::StatusOr<bool> OperationNameCounts::AddBlock(SqliteConnection& conn, int64_t block_id) {
  ASSIGN_OR_RETURN(SqliteStatement select,
                   conn.Prepare("SELECT counts FROM block_operations WHERE block_id = ?"));
  select.BindInt(1, block_id);
  ASSIGN_OR_RETURN(bool row, select.Step());
  if (!row) return false;
  // Unreadable counts, or counts of an operation this snapshot does not hold, only cost the
  // block's decode.
  absl::StatusOr<std::vector<std::pair<int64_t, uint64_t>>> counts =
      ParseOperationCounts(select.ColumnBlob(0));
  if (!counts.ok()) return false;
  std::vector<Counted*> found;
  found.reserve(counts->size());
  for (const auto& [id, spans] : *counts) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return false;
    found.push_back(&it->second);
  }
  for (size_t i = 0; i < found.size(); ++i) {
    if (found[i]->kept) found[i]->spans += (*counts)[i].second;
  }
  return true;
}

void OperationNameCounts::AddTo(query::TagValuesCollector& collector) const {
  for (const auto& [id, counted] : by_id_) {
    if (counted.spans > 0) collector.AddCounted(query::TagValue(counted.name), counted.spans);
  }
}

absl::StatusOr<std::optional<std::vector<std::string>>> CatalogedServices(
    SqliteConnection& conn) {
  ASSIGN_OR_RETURN(bool covered, CoversEveryBlock(conn));
  if (!covered) return std::nullopt;
  ASSIGN_OR_RETURN(SqliteStatement select,
                   conn.Prepare("SELECT DISTINCT service FROM operations ORDER BY service"));
  std::vector<std::string> services;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    services.emplace_back(select.ColumnBlob(0));
  }
  return services;
}

absl::StatusOr<std::optional<std::vector<Backend::Operation>>> CatalogedOperations(
    SqliteConnection& conn, const std::string& service) {
  ASSIGN_OR_RETURN(bool covered, CoversEveryBlock(conn));
  if (!covered) return std::nullopt;
  ASSIGN_OR_RETURN(SqliteStatement select,
                   conn.Prepare("SELECT name, kind FROM operations WHERE service = ? "
                                "AND kind BETWEEN 0 AND 5"));
  select.BindBlob(1, service);
  std::vector<Backend::Operation> operations;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    operations.push_back(Backend::Operation{std::string(select.ColumnBlob(0)),
                                            static_cast<model::SpanKind>(select.ColumnInt(1))});
  }
  std::sort(operations.begin(), operations.end());
  return operations;
}

absl::Status OperationsCatalog::Load(SqliteConnection& conn) {
  known_.clear();
  bytes_ = 0;
  ASSIGN_OR_RETURN(
      int64_t from,
      conn.QueryInt("SELECT coalesce((SELECT value FROM meta WHERE key = "
                    "'operations_from_block'), 9223372036854775807)"));
  enabled_ = from != kNoBlockIsCovered;
  if (!enabled_) return absl::OkStatus();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   conn.Prepare("SELECT service, kind, name, id, last_start_unix_nano "
                                "FROM operations"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    std::string key = OperationKey(select.ColumnBlob(0),
                                   static_cast<model::SpanKind>(select.ColumnInt(1)),
                                   select.ColumnBlob(2));
    bytes_ += Cost(key);
    const Known known{select.ColumnInt(3), select.ColumnInt(4)};
    next_id_ = std::max(next_id_, known.id + 1);
    known_.emplace(std::move(key), known);
  }
  if (bytes_ <= max_bytes_) return absl::OkStatus();
  // Stored under a larger bound than this run's.
  RETURN_IF_ERROR(Drop(conn));
  Committed();
  return absl::OkStatus();
}

absl::Status OperationsCatalog::Drop(SqliteConnection& conn) {
  pending_ = Pending{};
  pending_.dropped = true;
  RETURN_IF_ERROR(conn.Exec("DELETE FROM operations; DELETE FROM block_operations"));
  return conn.Exec(fmt::format(
      "UPDATE meta SET value = {} WHERE key = 'operations_from_block'", kNoBlockIsCovered));
}

absl::Status OperationsCatalog::Record(
    SqliteConnection& conn, std::span<const std::pair<int64_t, const BlockOperations*>> blocks) {
  pending_ = Pending{};
  if (!enabled_) return absl::OkStatus();
  uint64_t bytes = bytes_;
  int64_t next_id = next_id_;
  // Each block's counts by operation id, for the blocks whose every span is counted.
  std::vector<std::pair<int64_t, std::vector<std::pair<int64_t, uint64_t>>>> counts;
  for (const auto& [block_id, block] : blocks) {
    std::vector<std::pair<int64_t, uint64_t>>* ids = nullptr;
    if (block->every_span) {
      ids = &counts.emplace_back(block_id, std::vector<std::pair<int64_t, uint64_t>>()).second;
    }
    for (const OperationSeen& op : block->operations) {
      std::optional<Known> known;
      if (auto p = pending_.raised.find(op.key); p != pending_.raised.end()) {
        known = p->second;
      } else if (auto k = known_.find(op.key); k != known_.end()) {
        known = k->second;
      }
      if (!known) {
        bytes += Cost(op.key);
        if (bytes > max_bytes_) {
          spdlog::warn(
              "sqlite: the catalog of operations outgrew storage.sqlite.operations_max_bytes "
              "({} bytes); services and operations are now listed from the stored spans",
              max_bytes_);
          return Drop(conn);
        }
        known = Known{next_id++, op.latest};
        pending_.raised[op.key] = *known;
      } else if (known->bound < INT64_MAX - kOperationSlackNano &&
                 op.latest > known->bound + kOperationSlackNano) {
        pending_.raised[op.key] = Known{known->id, op.latest};
      }
      if (ids != nullptr) ids->emplace_back(known->id, op.spans);
    }
  }
  if (!pending_.raised.empty()) {
    ASSIGN_OR_RETURN(SqliteStatement upsert,
                     conn.Prepare("INSERT INTO operations (service, kind, name, id, "
                                  "last_start_unix_nano) VALUES (?, ?, ?, ?, ?) "
                                  "ON CONFLICT DO UPDATE SET last_start_unix_nano = "
                                  "max(last_start_unix_nano, excluded.last_start_unix_nano)"));
    for (const auto& [key, known] : pending_.raised) {
      const OperationParts parts = PartsOf(key);
      upsert.BindBlob(1, parts.service, /*static_data=*/true);
      upsert.BindInt(2, parts.kind);
      upsert.BindBlob(3, parts.name, /*static_data=*/true);
      upsert.BindInt(4, known.id);
      upsert.BindInt(5, known.bound);
      RETURN_IF_ERROR(upsert.Run());
    }
  }
  pending_.next_id = next_id;
  if (counts.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(SqliteStatement insert,
                   conn.Prepare("INSERT INTO block_operations (block_id, counts) VALUES (?, ?)"));
  for (auto& [block_id, ids] : counts) {
    std::sort(ids.begin(), ids.end());
    insert.BindInt(1, block_id);
    insert.BindBlob(2, EncodeOperationCounts(ids));
    RETURN_IF_ERROR(insert.Run());
  }
  return absl::OkStatus();
}

absl::Status OperationsCatalog::Prune(SqliteConnection& conn) {
  pending_ = Pending{};
  ASSIGN_OR_RETURN(int64_t stored, conn.QueryInt("SELECT EXISTS (SELECT 1 FROM blocks)"));
  if (stored == 0) {
    // Block ids start over in an empty store: every block from now on is covered.
    pending_.reset = true;
    RETURN_IF_ERROR(conn.Exec("DELETE FROM operations"));
    return conn.Exec("UPDATE meta SET value = 0 WHERE key = 'operations_from_block'");
  }
  // The blocks written before the catalog are gone: it covers every stored block.
  RETURN_IF_ERROR(conn.Exec(fmt::format(
      "UPDATE meta SET value = 0 WHERE key = 'operations_from_block' AND value < {} AND "
      "NOT EXISTS (SELECT 1 FROM blocks WHERE block_id < meta.value)",
      kNoBlockIsCovered)));
  if (!enabled_) return absl::OkStatus();
  ASSIGN_OR_RETURN(int64_t oldest, conn.QueryInt("SELECT min(min_start_unix_nano) FROM blocks"));
  const int64_t below = oldest - kOperationSlackNano;  // start times are stored as 0..INT64_MAX
  ASSIGN_OR_RETURN(SqliteStatement del,
                   conn.Prepare("DELETE FROM operations WHERE last_start_unix_nano < ?"));
  del.BindInt(1, below);
  RETURN_IF_ERROR(del.Run());
  pending_.pruned_below = below;
  return absl::OkStatus();
}

void OperationsCatalog::Committed() {
  if (pending_.dropped || pending_.reset) {
    known_.clear();
    bytes_ = 0;
    enabled_ = pending_.reset;
  }
  for (auto& [key, known] : pending_.raised) {
    auto [it, added] = known_.try_emplace(key, known);
    if (added) {
      bytes_ += Cost(key);
    } else {
      it->second = known;
    }
  }
  next_id_ = std::max(next_id_, pending_.next_id);
  if (pending_.pruned_below) {
    const int64_t below = *pending_.pruned_below;
    absl::erase_if(known_, [&](const auto& entry) {
      if (entry.second.bound >= below) return false;
      bytes_ -= Cost(entry.first);
      return true;
    });
  }
  pending_ = Pending{};
}

}  // namespace teletrace::storage::sqlite
