// A client for the REST API of Elasticsearch and OpenSearch (libcurl). Every request carries plain
// `application/json` (OpenSearch refuses Elasticsearch's versioned media types with 406) and
// exactly one Content-Type header. Several endpoints may be configured: a request that could not
// connect to one is tried on each of the others, and the endpoint that answered is tried first
// next time. A read (GET, or a POST search) is also tried elsewhere when a node answers 502/503/504.
//
//   SearchHttp http(options);
//   ASSIGN_OR_RETURN(SearchResponse r, http.Send("GET", "/", "", "detect the server"));
//
// Send returns every HTTP answer as a SearchResponse (the caller decides what a 404 means); its
// errors are transport failures only: Unavailable naming `what` and the endpoint. Check turns a
// response into a status: 2xx OK; 401/403 PermissionDenied; 429 and 5xx Unavailable (retry later);
// any other Internal; each with the server's error type and reason.
//
// Thread safety: every method may be called concurrently (connections are pooled).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace teletrace::storage::elasticsearch {

struct SearchHttpOptions {
  std::vector<std::string> endpoints;  // "http://host:port" or "https://host:port", no trailing /
  std::string username;                // basic auth when non-empty
  std::string password;
  std::string api_key;  // "Authorization: ApiKey <api_key>" when non-empty (wins over basic)
  std::string tls_ca_file;
  uint64_t timeout_nano = uint64_t{30} * 1000000000;
  size_t max_response_bytes = size_t{512} << 20;  // a larger answer fails the request
};

struct SearchResponse {
  long status = 0;
  std::string body;
  std::string endpoint;  // which endpoint answered, for messages
};

class SearchHttp {
 public:
  explicit SearchHttp(SearchHttpOptions options);
  ~SearchHttp();
  SearchHttp(const SearchHttp&) = delete;
  SearchHttp& operator=(const SearchHttp&) = delete;

  // `method` GET, PUT, POST, DELETE or HEAD; `path` starts with "/" and may carry a query string;
  // `body` is JSON or NDJSON (sent when non-empty). `what` names the request in messages.
  absl::StatusOr<SearchResponse> Send(std::string_view method, std::string_view path,
                                      std::string_view body, std::string_view what);

  // Like Send, on one endpoint only (index into options.endpoints), without failover.
  absl::StatusOr<SearchResponse> SendTo(size_t endpoint, std::string_view method,
                                        std::string_view path, std::string_view body,
                                        std::string_view what);

  size_t endpoint_count() const { return options_.endpoints.size(); }

 private:
  enum class Outcome { kNotSent, kUnknown, kAnswered };
  absl::StatusOr<SearchResponse> Request(size_t endpoint, std::string_view method,
                                         std::string_view path, std::string_view body,
                                         std::string_view what, Outcome* outcome);
  void* TakeHandle();
  void ReturnHandle(void* handle);

  SearchHttpOptions options_;
  std::atomic<size_t> preferred_{0};
  std::mutex pool_mu_;
  std::vector<void*> pool_;  // idle CURL easy handles, each keeping its connection alive
};

// OK for 2xx; otherwise the status the class comment describes, naming `what`, the endpoint and
// the server's `error.type`/`error.reason` (or the first 300 bytes of the body).
absl::Status Check(const SearchResponse& response, std::string_view what);

// The server's error as "type: reason" from an error body, or a prefix of the body.
std::string ErrorText(std::string_view body);

}  // namespace teletrace::storage::elasticsearch
