#include "server/request_guard.h"

#include <algorithm>
#include <cctype>

#include "api/teletrace_v1/span_json.h"
#include "fmt/format.h"
#include "server/http_request_parsing.h"

namespace teletrace::server {
namespace {

HttpResponse Refusal(int status, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = "{\"errorMessage\":";
  api::v1::AppendJsonString(&r.body, message);
  r.body += "}";
  return r;
}

// The authority of an Origin value ("http://localhost:8080" -> "localhost:8080"), or "" for
// "null" and anything without a scheme.
std::string_view OriginAuthority(std::string_view origin) {
  size_t scheme = origin.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = origin.substr(scheme + 3);
  return rest.substr(0, rest.find('/'));
}

}  // namespace

std::string HostWithoutPort(std::string_view authority) {
  authority = TrimSpaces(authority);
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    return AsciiLower(close == std::string_view::npos ? authority : authority.substr(0, close + 1));
  }
  return AsciiLower(authority.substr(0, authority.find(':')));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

RequestGuard::RequestGuard(RequestGuardOptions options) : options_(std::move(options)) {
  for (std::string& host : options_.allowed_hosts) host = AsciiLower(TrimSpaces(host));
}

std::vector<std::string> RequestGuard::DefaultAllowedHosts(std::string_view listen_host) {
  const std::string host = AsciiLower(listen_host);
  const bool loopback = host == "localhost" || host == "::1" || host == "[::1]" ||
                        host.rfind("127.", 0) == 0;
  if (!loopback) return {};
  std::vector<std::string> names = {"localhost", "127.0.0.1", "[::1]"};
  if (host != "localhost" && host != "::1" && host != "[::1]" && host != "127.0.0.1") {
    names.push_back(host);  // another 127.x address
  }
  return names;
}

std::optional<HttpResponse> RequestGuard::Check(const HttpRequest& request, Area area) const {
  if (area == Area::kHealth) return std::nullopt;
  const std::string_view host_header = request.Header("host");
  if (host_header.empty()) return Refusal(400, "request has no Host header");
  const std::string host = HostWithoutPort(host_header);
  if (!options_.allowed_hosts.empty() &&
      std::find(options_.allowed_hosts.begin(), options_.allowed_hosts.end(), host) ==
          options_.allowed_hosts.end()) {
    return Refusal(403, fmt::format("host \"{}\" is not allowed (server.allowed_hosts)", host));
  }
  const std::string_view origin = request.Header("origin");
  if (!origin.empty() && AsciiLower(OriginAuthority(origin)) != AsciiLower(TrimSpaces(host_header))) {
    return Refusal(403, "cross-origin request refused: Origin does not match Host");
  }
  if (area != Area::kApi) return std::nullopt;
  if (request.method == "POST") {
    const std::string content_type = AsciiLower(TrimSpaces(request.Header("content-type")));
    const std::string_view media = TrimSpaces(std::string_view(content_type).substr(
        0, std::string_view(content_type).find(';')));
    if (!media.empty() && media != "application/json") {
      return Refusal(415, fmt::format("Content-Type must be application/json, got \"{}\"",
                                      media));
    }
  }
  if (!options_.api_token.empty()) {
    const std::string_view authorization = TrimSpaces(request.Header("authorization"));
    constexpr std::string_view kBearer = "bearer ";
    const bool bearer = authorization.size() > kBearer.size() &&
                        AsciiLower(authorization.substr(0, kBearer.size())) == kBearer;
    if (!bearer ||
        !ConstantTimeEquals(TrimSpaces(authorization.substr(kBearer.size())), options_.api_token)) {
      HttpResponse r = Refusal(401, "missing or invalid bearer token");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"teletrace\"");
      return r;
    }
  }
  return std::nullopt;
}

}  // namespace teletrace::server
