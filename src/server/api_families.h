// Which query API a request on the UI/API port belongs to. Several APIs share the /api/ prefix
// (Jaeger's, Tempo's, Zipkin's), as the tools that call them expect them at the root:
//
//   /v1, /v1/...                                         Teletrace v1
//   /api/v2/spans, /api/v2/services, /api/v2/remoteServices, /api/v2/trace/{id}, /api/v2/traces
//   (exactly), /api/v2/dependencies, /api/v2/autocompleteKeys|Values                     Zipkin
//   /api/search..., /api/v2/search..., /api/echo, /api/status/..., /api/v2/traces/{id}, /ready,
//   and /api/traces/{id} when Accept asks for application/protobuf (Grafana's Tempo data
//   source; Jaeger clients ask for JSON)                                                Tempo
//   any other /api/...                                                                  Jaeger
//   anything else                                                                       none (UI)
#pragma once

#include "common/http.h"

namespace teletrace::server {

enum class ApiFamily { kNone, kV1, kJaeger, kTempo, kZipkin };

ApiFamily ApiFamilyOf(const HttpRequest& request);

}  // namespace teletrace::server
