// `teletrace --probe`: asks the server configured by the same settings whether it is ready
// (GET /readyz on its UI/API port). For health checks where no HTTP client exists, such as the
// OCI image's HEALTHCHECK (the image has nothing but the binary and its libraries).
#pragma once

#include <string>

#include "server/config.h"

namespace teletrace::server {

// The /readyz URL of the server `config` describes: an any-address host (0.0.0.0, ::, "") is
// probed on loopback; https when TLS is configured.
std::string ProbeUrl(const Config& config);

// 0 when GET ProbeUrl(config) answers 200 within `timeout_ms`; otherwise 1, with the reason on
// stderr. The certificate is not verified: the probe talks to its own server over loopback.
int ProbeReadiness(const Config& config, long timeout_ms = 3000);

}  // namespace teletrace::server
