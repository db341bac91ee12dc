// The one place storage backends are registered by name.
#pragma once

#include "storage/storage.h"

namespace teletrace::server {

// Registers every built-in backend ("sqlite", "clickhouse") on `registry`.
void RegisterBackends(storage::BackendRegistry* registry);

// A registry with every built-in backend, built once: what the configuration (keys, --help,
// validation) and the server (creation) use.
const storage::BackendRegistry& BuiltinBackends();

}  // namespace teletrace::server
