#include "server/backends.h"

#include "storage/sqlite/sqlite_backend.h"

namespace teletrace::server {

void RegisterBackends(storage::BackendRegistry* registry) {
  registry->Register("sqlite", storage::NewSqliteBackend);
}

}  // namespace teletrace::server
