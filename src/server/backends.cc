#include "server/backends.h"

#include "storage/clickhouse/clickhouse_backend.h"
#include "storage/sqlite/sqlite_backend.h"

namespace teletrace::server {

void RegisterBackends(storage::BackendRegistry* registry) {
  registry->Register("sqlite", storage::NewSqliteBackend);
  registry->Register("clickhouse", storage::clickhouse::NewClickHouseBackend);
}

}  // namespace teletrace::server
