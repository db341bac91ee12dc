#include "storage/clickhouse/clickhouse_http.h"

#include <curl/curl.h>

#include <charconv>
#include <memory>

#include "absl/status/status.h"
#include "common/cancel.h"
#include "fmt/format.h"

namespace teletrace::storage::clickhouse {
namespace {

constexpr size_t kMaxPooledHandles = 16;

size_t AppendToString(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

void GlobalInitOnce() {
  static const bool done = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)done;
}

std::string UrlEncode(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-' ||
        b == '_' || b == '.' || b == '~') {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", b);
    }
  }
  return out;
}

// ClickHouse's message starts "Code: 60, e.displayText() = DB::Exception: ..." (18.16) or
// "Code: 60. DB::Exception: ..." (current releases).
int ErrorCodeOf(std::string_view message) {
  size_t at = message.find("Code: ");
  if (at == std::string_view::npos) return 0;
  std::string_view digits = message.substr(at + 6);
  int code = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), code);
  return code;
}

std::string FirstLine(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.remove_suffix(1);
  }
  size_t nl = s.find('\n');
  std::string line(s.substr(0, nl));
  if (line.size() > 2000) line = line.substr(0, 2000) + "...";
  return line;
}

// Ends a transfer for a query whose client hung up (common/cancel.h). curl calls it on this
// thread, at least once a second while the server thinks.
int StopWhenCancelled(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return Cancelled() ? 1 : 0;
}

}  // namespace

bool IsTransientClickHouseError(int code) {
  switch (code) {
    case 159:  // TIMEOUT_EXCEEDED
    case 164:  // READONLY (replica lost its ZooKeeper session)
    case 202:  // TOO_MANY_SIMULTANEOUS_QUERIES
    case 203:  // NO_FREE_CONNECTION
    case 209:  // SOCKET_TIMEOUT
    case 210:  // NETWORK_ERROR
    case 225:  // NO_ZOOKEEPER
    case 241:  // MEMORY_LIMIT_EXCEEDED
    case 242:  // TABLE_IS_READ_ONLY
    case 252:  // TOO_MANY_PARTS
    case 279:  // ALL_CONNECTION_TRIES_FAILED
    case 285:  // TOO_FEW_LIVE_REPLICAS
    case 286:  // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
    case 319:  // UNKNOWN_STATUS_OF_INSERT
    case 425:  // SYSTEM_ERROR
    case 999:  // KEEPER_EXCEPTION
      return true;
    default:
      return false;
  }
}

ClickHouseHttp::ClickHouseHttp(HttpOptions options) : options_(std::move(options)) {
  GlobalInitOnce();
}

ClickHouseHttp::~ClickHouseHttp() {
  for (void* h : pool_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* ClickHouseHttp::TakeHandle() {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!pool_.empty()) {
      void* h = pool_.back();
      pool_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void ClickHouseHttp::ReturnHandle(void* handle) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (pool_.size() < kMaxPooledHandles) {
    pool_.push_back(handle);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

absl::StatusOr<std::string> ClickHouseHttp::Request(size_t endpoint, std::string_view sql,
                                                    std::string_view body, std::string_view what,
                                                    const QuerySettings& settings,
                                                    Outcome* outcome) {
  *outcome = Outcome::kNotSent;
  const std::string& base = options_.endpoints[endpoint];
  std::string url = base + "/?";
  for (const auto& [name, value] : settings) {
    url += fmt::format("{}={}&", UrlEncode(name), UrlEncode(value));
  }
  std::string_view post = body;
  if (!body.empty()) {
    url += "query=" + UrlEncode(sql);
  } else {
    post = sql;
    if (url.back() == '&' || url.back() == '?') url.pop_back();
  }

  if (Cancelled()) {
    *outcome = Outcome::kUnknown;  // not "not sent": no other endpoint may take it either
    return CheckCancelled();
  }
  CURL* curl = static_cast<CURL*>(TakeHandle());
  if (curl == nullptr) {
    return absl::ResourceExhaustedError(fmt::format("clickhouse: {}: curl_easy_init failed", what));
  }
  curl_easy_reset(curl);
  std::string response;
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendToString);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, StopWhenCancelled);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_nano / 1000000));
  curl_easy_setopt(curl, CURLOPT_USERNAME, options_.user.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.password.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // gzip/deflate responses when offered
  if (!options_.tls_ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.tls_ca_file.c_str());
  }
  struct curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/octet-stream");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip on big inserts
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  CURLcode rc = curl_easy_perform(curl);
  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    // A broken connection may leave the handle in a bad state: do not pool it.
    curl_easy_cleanup(curl);
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      *outcome = Outcome::kUnknown;
      return CheckCancelled();
    }
    // Only when nothing was sent may another endpoint run the statement: after a timeout the
    // first server may still execute it, and an INSERT must then be retried by the caller, whose
    // write path skips spans already stored.
    const bool not_sent = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                          rc == CURLE_SSL_CONNECT_ERROR;
    *outcome = not_sent ? Outcome::kNotSent : Outcome::kUnknown;
    return absl::UnavailableError(fmt::format("clickhouse: {}: {}: {}", what, base,
                                              error[0] != 0 ? error : curl_easy_strerror(rc)));
  }
  ReturnHandle(curl);
  *outcome = Outcome::kAnswered;
  if (http_status == 200) return response;

  std::string message = FirstLine(response);
  int code = ErrorCodeOf(message);
  std::string text = fmt::format("clickhouse: {}: {} (HTTP {}): {}", what, base, http_status,
                                 message.empty() ? "no message" : message);
  if (code == 192 || code == 193 || code == 194 || code == 195 || code == 516 ||
      http_status == 401 || http_status == 403) {
    return absl::PermissionDeniedError(text);
  }
  if (http_status == 502 || http_status == 503 || http_status == 504 ||
      IsTransientClickHouseError(code)) {
    return absl::UnavailableError(text);
  }
  return absl::InternalError(text);
}

absl::StatusOr<std::string> ClickHouseHttp::ExecuteOn(size_t endpoint, std::string_view sql,
                                                      std::string_view body,
                                                      std::string_view what,
                                                      const QuerySettings& settings) {
  Outcome outcome = Outcome::kNotSent;
  return Request(endpoint % options_.endpoints.size(), sql, body, what, settings, &outcome);
}

absl::StatusOr<std::string> ClickHouseHttp::Execute(std::string_view sql, std::string_view body,
                                                    std::string_view what,
                                                    const QuerySettings& settings) {
  const size_t n = options_.endpoints.size();
  const size_t first = preferred_.load(std::memory_order_relaxed) % n;
  absl::Status last;
  for (size_t i = 0; i < n; ++i) {
    size_t endpoint = (first + i) % n;
    Outcome outcome = Outcome::kNotSent;
    absl::StatusOr<std::string> result = Request(endpoint, sql, body, what, settings, &outcome);
    // Another endpoint may take the statement when nothing ran here (no connection), and a
    // query (no data body) also after a transient error ClickHouse reported (this replica lost
    // ZooKeeper). Data inserts are not re-sent here: a failed distributed insert may have reached
    // some shards, and the caller's retry first skips what is already stored.
    const bool retry_elsewhere =
        outcome == Outcome::kNotSent || (body.empty() && outcome == Outcome::kAnswered &&
                                         absl::IsUnavailable(result.status()));
    if (!retry_elsewhere) {
      if (endpoint != first && result.ok()) preferred_.store(endpoint, std::memory_order_relaxed);
      return result;
    }
    last = result.status();
  }
  return last;
}

}  // namespace teletrace::storage::clickhouse
