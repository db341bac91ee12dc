// Transport-neutral HTTP request/response types shared by the HTTP server (server/) and the
// handlers that serve on it (ingest/ receivers, api/). No Beast or Asio types leak through here.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace teletrace {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded target path without the query string, e.g. "/v1/trace/ab12"
  std::string query;   // raw query string after '?', may be empty
  // Header names lowercased. The server has already inflated a gzip body (Content-Encoding) and
  // enforced the size limit, so `body` is the plain payload.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Set by the server when the client closes the connection before the response: work for this
  // request may stop (see common/cancel.h). Null for requests not from a connection (tests).
  std::shared_ptr<std::atomic<bool>> cancelled;

  // Value of the first header named `name` (lowercase), or "".
  std::string_view Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return {};
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Retry-After
  std::string body;
};

// Completes a request. Call exactly once, from any thread; the server writes the response on the
// connection's own executor.
using HttpResponder = std::function<void(HttpResponse)>;

// Handles a request, now or later (an OTLP export answers only after its spans are committed).
using HttpHandler = std::function<void(HttpRequest&&, HttpResponder)>;

}  // namespace teletrace
