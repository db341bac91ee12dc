#include "server/api_families.h"

#include <string_view>

namespace teletrace::server {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

ApiFamily ApiFamilyOf(const HttpRequest& request) {
  std::string_view path = request.path;
  if (path == "/v1" || StartsWith(path, "/v1/")) return ApiFamily::kV1;
  if (path == "/ready") return ApiFamily::kTempo;
  if (!StartsWith(path, "/api/")) return ApiFamily::kNone;
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);

  constexpr std::string_view kZipkinExact[] = {
      "/api/v2/spans",        "/api/v2/services",         "/api/v2/remoteServices",
      "/api/v2/traces",       "/api/v2/dependencies",     "/api/v2/autocompleteKeys",
      "/api/v2/autocompleteValues"};
  for (std::string_view p : kZipkinExact) {
    if (path == p) return ApiFamily::kZipkin;
  }
  if (StartsWith(path, "/api/v2/trace/")) return ApiFamily::kZipkin;

  if (path == "/api/search" || StartsWith(path, "/api/search/") || path == "/api/v2/search" ||
      StartsWith(path, "/api/v2/search/") || path == "/api/echo" ||
      StartsWith(path, "/api/status/") || StartsWith(path, "/api/v2/traces/")) {
    return ApiFamily::kTempo;
  }
  if (StartsWith(path, "/api/traces/") &&
      request.Header("accept").find("application/protobuf") != std::string_view::npos) {
    return ApiFamily::kTempo;
  }
  return ApiFamily::kJaeger;
}

}  // namespace teletrace::server
