#include "server/backends.h"

#include "storage/clickhouse/clickhouse_backend.h"
#include "storage/clickhouse/clickhouse_settings.h"
#include "storage/elasticsearch/search_backend.h"
#include "storage/elasticsearch/search_settings.h"
#include "storage/sqlite/sqlite_backend.h"
#include "storage/sqlite/sqlite_settings.h"

namespace teletrace::server {

void RegisterBackends(storage::BackendRegistry* registry) {
  registry->Register("sqlite", {storage::sqlite::SqliteSettingSpecs(), storage::NewSqliteBackend});
  registry->Register("clickhouse", {storage::clickhouse::ClickHouseSettingSpecs(),
                                    storage::clickhouse::NewClickHouseBackend});
  registry->Register("elasticsearch", {storage::elasticsearch::SearchSettingSpecs(),
                                       storage::elasticsearch::NewSearchBackend});
}

const storage::BackendRegistry& BuiltinBackends() {
  static const storage::BackendRegistry* registry = [] {
    auto* r = new storage::BackendRegistry();
    RegisterBackends(r);
    return r;
  }();
  return *registry;
}

}  // namespace teletrace::server
