// Who may talk to the UI/API port, checked before any handler runs:
//   - Host allow-list against DNS rebinding: a page on evil.example whose name is re-pointed at
//     127.0.0.1 sends "Host: evil.example", which a loopback-bound Teletrace refuses.
//   - Cross-origin refusal: a browser request whose Origin differs from the Host it was sent to
//     (CSRF, including CORS "simple requests" that need no preflight) is refused.
//   - POST bodies must be JSON: text/plain and form encodings (what a cross-site form or simple
//     request can send) are 415.
//   - Optional bearer token for the API and /metrics (the static UI files stay public: they hold
//     no data, and the UI asks for the token when the API answers 401).
//
//   RequestGuard guard({.api_token = "s3cret", .allowed_hosts = {"localhost", "127.0.0.1"}});
//   if (auto refusal = guard.Check(request, RequestGuard::Area::kApi)) return respond(*refusal);
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http.h"

namespace teletrace::server {

struct RequestGuardOptions {
  std::string api_token;  // "" = no authentication
  // Host header names (without port, lowercase; IPv6 in brackets) accepted; empty = any host.
  std::vector<std::string> allowed_hosts;
};

class RequestGuard {
 public:
  enum class Area {
    kHealth,  // /healthz, /readyz: always answered (orchestrators probe by IP)
    kUi,      // static UI files: host and origin checks, no token
    kApi,     // /v1/*, /metrics and later APIs: every check
  };

  explicit RequestGuard(RequestGuardOptions options);

  // nullopt when the request may proceed; otherwise the refusal to send, as the v1 API's
  // {"errorMessage": ...}: 400 (no Host), 403 (host or origin), 415 (POST body not JSON), 401
  // (token missing or wrong, with WWW-Authenticate). Thread safe.
  std::optional<HttpResponse> Check(const HttpRequest& request, Area area) const;

  // The allow-list used when none is configured: loopback names when `listen_host` is a loopback
  // address or "localhost", else empty (any host; binding beyond loopback is a deliberate choice).
  static std::vector<std::string> DefaultAllowedHosts(std::string_view listen_host);

 private:
  RequestGuardOptions options_;
};

// The host part of a Host header or URL authority, lowercase, without the port ("[::1]:8080" ->
// "[::1]", "Example.COM:80" -> "example.com").
std::string HostWithoutPort(std::string_view authority);

// Compares in time that depends only on the lengths, so a token cannot be guessed byte by byte.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace teletrace::server
