// The one place storage backends are registered by name.
#pragma once

#include "storage/storage.h"

namespace teletrace::server {

// Registers every built-in backend ("sqlite"; "clickhouse" once it exists) on `registry`.
void RegisterBackends(storage::BackendRegistry* registry);

}  // namespace teletrace::server
