#include "storage/elasticsearch/search_http.h"

#include <curl/curl.h>

#include "absl/status/status.h"
#include "common/cancel.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace teletrace::storage::elasticsearch {
namespace {

constexpr size_t kMaxPooledHandles = 16;

struct Sink {
  std::string* out;
  size_t limit;
  bool overflow = false;
};

size_t AppendBounded(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * count;
  if (sink->out->size() + n > sink->limit) {
    sink->overflow = true;
    return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
  }
  sink->out->append(data, n);
  return n;
}

void GlobalInitOnce() {
  static const bool done = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)done;
}

std::string Prefix(std::string_view s, size_t n) {
  std::string out(s.substr(0, n));
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (s.size() > n) out += "...";
  return out;
}

// Ends a transfer for a query whose client hung up (common/cancel.h). curl calls it on this
// thread, at least once a second while the server thinks.
int StopWhenCancelled(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return Cancelled() ? 1 : 0;
}

}  // namespace

std::string ErrorText(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto error = j.find("error");
    if (error != j.end() && error->is_object()) {
      std::string type, reason;
      auto t = error->find("type");
      if (t != error->end() && t->is_string()) type = t->get_ref<const std::string&>();
      auto r = error->find("reason");
      if (r != error->end() && r->is_string()) reason = r->get_ref<const std::string&>();
      // The root cause often says more than the wrapper ("search_phase_execution_exception").
      auto causes = error->find("root_cause");
      if (causes != error->end() && causes->is_array() && !causes->empty() &&
          (*causes)[0].is_object()) {
        auto cr = (*causes)[0].find("reason");
        if (cr != (*causes)[0].end() && cr->is_string() &&
            cr->get_ref<const std::string&>() != reason) {
          reason += " (" + cr->get_ref<const std::string&>() + ")";
        }
      }
      if (!type.empty() || !reason.empty()) return Prefix(type + ": " + reason, 1000);
    }
    if (error != j.end() && error->is_string()) return Prefix(error->get_ref<const std::string&>(), 1000);
  }
  return body.empty() ? "no message" : Prefix(body, 300);
}

absl::Status Check(const SearchResponse& response, std::string_view what) {
  if (response.status >= 200 && response.status < 300) return absl::OkStatus();
  std::string text = fmt::format("elasticsearch: {}: {} (HTTP {}): {}", what, response.endpoint,
                                 response.status, ErrorText(response.body));
  if (response.status == 401 || response.status == 403) return absl::PermissionDeniedError(text);
  if (response.status == 429 || response.status >= 500) return absl::UnavailableError(text);
  return absl::InternalError(text);
}

SearchHttp::SearchHttp(SearchHttpOptions options) : options_(std::move(options)) {
  GlobalInitOnce();
}

SearchHttp::~SearchHttp() {
  for (void* h : pool_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* SearchHttp::TakeHandle() {
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

void SearchHttp::ReturnHandle(void* handle) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (pool_.size() < kMaxPooledHandles) {
    pool_.push_back(handle);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

absl::StatusOr<SearchResponse> SearchHttp::Request(size_t endpoint, std::string_view method,
                                                   std::string_view path, std::string_view body,
                                                   std::string_view what, Outcome* outcome) {
  *outcome = Outcome::kNotSent;
  SearchResponse response;
  response.endpoint = options_.endpoints[endpoint];
  const std::string url = response.endpoint + std::string(path);
  const std::string method_string(method);

  if (Cancelled()) {
    *outcome = Outcome::kUnknown;  // not "not sent": no other endpoint may take it either
    return CheckCancelled();
  }
  CURL* curl = static_cast<CURL*>(TakeHandle());
  if (curl == nullptr) {
    return absl::ResourceExhaustedError(
        fmt::format("elasticsearch: {}: curl_easy_init failed", what));
  }
  curl_easy_reset(curl);
  char error[CURL_ERROR_SIZE] = {0};
  Sink sink{&response.body, options_.max_response_bytes};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method != "GET" || !body.empty()) {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method_string.c_str());
  }
  if (!body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBounded);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, StopWhenCancelled);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_nano / 1000000));
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // gzip responses when offered
  if (options_.api_key.empty() && !options_.username.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.password.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
  }
  if (!options_.tls_ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.tls_ca_file.c_str());
  }
  struct curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip on big bulks
  std::string authorization;
  if (!options_.api_key.empty()) {
    authorization = "Authorization: ApiKey " + options_.api_key;
    headers = curl_slist_append(headers, authorization.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    curl_easy_cleanup(curl);  // a broken connection may leave the handle unusable: not pooled
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      *outcome = Outcome::kUnknown;
      return CheckCancelled();
    }
    if (sink.overflow) {
      *outcome = Outcome::kAnswered;
      return absl::ResourceExhaustedError(
          fmt::format("elasticsearch: {}: {}: the answer is larger than {} bytes", what,
                      response.endpoint, options_.max_response_bytes));
    }
    const bool not_sent = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                          rc == CURLE_SSL_CONNECT_ERROR;
    *outcome = not_sent ? Outcome::kNotSent : Outcome::kUnknown;
    return absl::UnavailableError(fmt::format("elasticsearch: {}: {}: {}", what,
                                              response.endpoint,
                                              error[0] != 0 ? error : curl_easy_strerror(rc)));
  }
  ReturnHandle(curl);
  *outcome = Outcome::kAnswered;
  return response;
}

absl::StatusOr<SearchResponse> SearchHttp::SendTo(size_t endpoint, std::string_view method,
                                                  std::string_view path, std::string_view body,
                                                  std::string_view what) {
  Outcome outcome = Outcome::kNotSent;
  return Request(endpoint % options_.endpoints.size(), method, path, body, what, &outcome);
}

absl::StatusOr<SearchResponse> SearchHttp::Send(std::string_view method, std::string_view path,
                                                std::string_view body, std::string_view what) {
  const size_t n = options_.endpoints.size();
  const size_t first = preferred_.load(std::memory_order_relaxed) % n;
  const bool read = method == "GET" || method == "HEAD" ||
                    (method == "POST" && path.find("/_search") != std::string_view::npos);
  absl::Status last;
  for (size_t i = 0; i < n; ++i) {
    const size_t endpoint = (first + i) % n;
    Outcome outcome = Outcome::kNotSent;
    absl::StatusOr<SearchResponse> result = Request(endpoint, method, path, body, what, &outcome);
    // A write that may have run is not re-sent here: the caller retries the batch, and `create`
    // skips documents already stored. A read may go to the next node after any failure to answer.
    const bool unanswered = outcome == Outcome::kNotSent || (read && outcome == Outcome::kUnknown);
    const bool node_unwell = result.ok() && read &&
                             (result->status == 502 || result->status == 503 ||
                              result->status == 504);
    if ((!unanswered && !node_unwell) || i + 1 == n) {
      if (endpoint != first && result.ok()) preferred_.store(endpoint, std::memory_order_relaxed);
      return result;
    }
    last = result.ok() ? Check(*result, what) : result.status();
  }
  return last;
}

}  // namespace teletrace::storage::elasticsearch
