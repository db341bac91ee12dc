// A client for ClickHouse's HTTP interface (libcurl): statements go in the POST body, or in the URL
// when the body carries INSERT data. Several endpoints may be configured; a request that cannot
// connect to one is tried once on each of the others (a query also after a transient error the
// server reported), and the endpoint that answered is tried first next time.
//
//   ClickHouseHttp http(options);
//   ASSIGN_OR_RETURN(std::string rows, http.Execute("SELECT 1 FORMAT RowBinary", {}, "ping"));
//
// Errors name `what` and the endpoint: Unavailable when no endpoint could be reached or ClickHouse
// reported a transient condition (timeouts, too many parts, replicas or ZooKeeper down: retrying
// later may succeed); PermissionDenied for authentication failures; Internal for any other error
// ClickHouse reports (bad SQL, unknown table), with ClickHouse's message.
//
// Thread safety: every method may be called concurrently (connections are pooled).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace teletrace::storage::clickhouse {

struct HttpOptions {
  std::vector<std::string> endpoints;  // "http://host:port" or "https://host:port"
  std::string user = "default";
  std::string password;
  std::string tls_ca_file;
  uint64_t timeout_nano = uint64_t{30} * 1000000000;
};

// ClickHouse settings sent as URL parameters with one request.
using QuerySettings = std::map<std::string, std::string>;

class ClickHouseHttp {
 public:
  explicit ClickHouseHttp(HttpOptions options);
  ~ClickHouseHttp();
  ClickHouseHttp(const ClickHouseHttp&) = delete;
  ClickHouseHttp& operator=(const ClickHouseHttp&) = delete;

  // Runs `sql` and returns the response body. With a non-empty `body` (INSERT data), `sql` travels
  // in the URL. `what` describes the request for error messages ("insert 512 spans").
  absl::StatusOr<std::string> Execute(std::string_view sql, std::string_view body,
                                      std::string_view what, const QuerySettings& settings = {});

  // Like Execute, on one endpoint only (index into options.endpoints), without failover.
  absl::StatusOr<std::string> ExecuteOn(size_t endpoint, std::string_view sql,
                                        std::string_view body, std::string_view what,
                                        const QuerySettings& settings = {});

  size_t endpoint_count() const { return options_.endpoints.size(); }

 private:
  // What became of a request, which decides whether another endpoint may run it.
  enum class Outcome {
    kNotSent,   // no connection: nothing ran
    kUnknown,   // sent, but no answer (timeout, broken connection): it may have run
    kAnswered,  // ClickHouse answered (success or error)
  };
  absl::StatusOr<std::string> Request(size_t endpoint, std::string_view sql, std::string_view body,
                                      std::string_view what, const QuerySettings& settings,
                                      Outcome* outcome);
  void* TakeHandle();
  void ReturnHandle(void* handle);

  HttpOptions options_;
  std::atomic<size_t> preferred_{0};
  std::mutex pool_mu_;
  std::vector<void*> pool_;  // idle CURL easy handles, each keeping its connection alive
};

// Whether a ClickHouse error code means "try again later" (network, timeouts, too many parts,
// replica or ZooKeeper trouble) rather than a mistake in the request.
bool IsTransientClickHouseError(int code);

}  // namespace teletrace::storage::clickhouse
