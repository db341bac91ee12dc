// The one place storage backends are registered by name.
#pragma once

#include "storage/storage.h"

namespace teletrace::server {

// Registers every built-in backend ("sqlite", "clickhouse") on `registry`.
void RegisterBackends(storage::BackendRegistry* registry);

}  // namespace teletrace::server
