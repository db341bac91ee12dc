#include "storage/sqlite/operations_catalog.h"

#include <algorithm>
#include <string_view>
#include <tuple>

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
  absl::flat_hash_map<std::tuple<std::string_view, uint8_t, std::string_view>, int64_t> latest;
  const model::Resource* resource = nullptr;
  const std::string* service = nullptr;
  for (const model::StoredSpan* s : spans) {
    if (s->resource.get() != resource) {
      resource = s->resource.get();
      service = StringServiceName(resource);
    }
    if (service == nullptr) continue;
    const int64_t start = static_cast<int64_t>(
        std::min<uint64_t>(s->span.start_time_unix_nano, uint64_t{INT64_MAX}));
    auto [it, added] =
        latest.try_emplace({*service, static_cast<uint8_t>(s->span.kind), s->span.name}, start);
    if (!added) it->second = std::max(it->second, start);
  }
  BlockOperations out;
  out.reserve(latest.size());
  for (const auto& [op, start] : latest) {
    const auto& [service_name, kind, name] = op;
    out.emplace_back(OperationKey(service_name, static_cast<model::SpanKind>(kind), name), start);
  }
  return out;
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
                   conn.Prepare("SELECT service, kind, name, last_start_unix_nano "
                                "FROM operations"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    std::string key = OperationKey(select.ColumnBlob(0),
                                   static_cast<model::SpanKind>(select.ColumnInt(1)),
                                   select.ColumnBlob(2));
    bytes_ += Cost(key);
    known_.emplace(std::move(key), select.ColumnInt(3));
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
  RETURN_IF_ERROR(conn.Exec("DELETE FROM operations"));
  return conn.Exec(fmt::format(
      "UPDATE meta SET value = {} WHERE key = 'operations_from_block'", kNoBlockIsCovered));
}

absl::Status OperationsCatalog::Record(SqliteConnection& conn,
                                       std::span<const BlockOperations* const> blocks) {
  pending_ = Pending{};
  if (!enabled_) return absl::OkStatus();
  uint64_t bytes = bytes_;
  for (const BlockOperations* operations : blocks) {
    for (const auto& [key, latest] : *operations) {
      std::optional<int64_t> bound;
      if (auto p = pending_.raised.find(key); p != pending_.raised.end()) {
        bound = p->second;
      } else if (auto k = known_.find(key); k != known_.end()) {
        bound = k->second;
      }
      if (bound && (*bound >= INT64_MAX - kOperationSlackNano ||
                    latest <= *bound + kOperationSlackNano)) {
        continue;
      }
      if (!bound) {
        bytes += Cost(key);
        if (bytes > max_bytes_) {
          spdlog::warn(
              "sqlite: the catalog of operations outgrew storage.sqlite.operations_max_bytes "
              "({} bytes); services and operations are now listed from the stored spans",
              max_bytes_);
          return Drop(conn);
        }
      }
      pending_.raised[key] = std::max(bound.value_or(latest), latest);
    }
  }
  if (pending_.raised.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(SqliteStatement upsert,
                   conn.Prepare("INSERT INTO operations (service, kind, name, "
                                "last_start_unix_nano) VALUES (?, ?, ?, ?) "
                                "ON CONFLICT DO UPDATE SET last_start_unix_nano = "
                                "max(last_start_unix_nano, excluded.last_start_unix_nano)"));
  for (const auto& [key, latest] : pending_.raised) {
    const OperationParts parts = PartsOf(key);
    upsert.BindBlob(1, parts.service, /*static_data=*/true);
    upsert.BindInt(2, parts.kind);
    upsert.BindBlob(3, parts.name, /*static_data=*/true);
    upsert.BindInt(4, latest);
    RETURN_IF_ERROR(upsert.Run());
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
  for (auto& [key, latest] : pending_.raised) {
    auto [it, added] = known_.try_emplace(key, latest);
    if (added) {
      bytes_ += Cost(key);
    } else {
      it->second = latest;
    }
  }
  if (pending_.pruned_below) {
    const int64_t below = *pending_.pruned_below;
    absl::erase_if(known_, [&](const auto& entry) {
      if (entry.second >= below) return false;
      bytes_ -= Cost(entry.first);
      return true;
    });
  }
  pending_ = Pending{};
}

}  // namespace teletrace::storage::sqlite
