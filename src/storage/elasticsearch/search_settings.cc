#include "storage/elasticsearch/search_settings.h"

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"

namespace teletrace::storage::elasticsearch {
namespace {

constexpr char kSection[] = "storage.elasticsearch";

bool IsIndexPrefix(std::string_view s) {
  if (s.empty() || s.size() > 100 || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

const std::vector<settings::Spec>& SearchSettingSpecs() {
  static const std::vector<settings::Spec> kSpecs = {
      {"endpoints", "http://127.0.0.1:9200",
       "Elasticsearch/OpenSearch endpoints, comma-separated; the next is tried when one is "
       "unreachable"},
      {"index_prefix", "teletrace",
       "indices are <prefix>-spans-YYYY-MM-DD and <prefix>-meta (lower-case letters, digits, - "
       "and _)"},
      {"username", "", "basic-auth user ('' = none)"},
      {"password", "", "basic-auth password"},
      {"api_key", "", "API key sent as 'Authorization: ApiKey <key>' (wins over username)"},
      {"tls_ca_file", "", "CA bundle for https endpoints ('' = system CAs)"},
      {"shards", "1", "primary shards of each new daily index (1 to 1024)"},
      {"replicas", "1", "replicas of each new daily index (0 to 16)"},
      {"bulk_max_spans", "5000", "spans per _bulk request at most (1 to 100000)"},
      {"bulk_parallelism", "2",
       "_bulk requests of one write sent at once (1 to 64); the engine indexes each on one thread "
       "per shard"},
      {"retention_max_age", "168h", "delete daily indices older than this (0 = keep forever)"},
      {"retention_max_bytes", "0",
       "delete the oldest daily indices while the spans take more than this (e.g. 500GiB; 0 = no "
       "cap)"},
      {"request_timeout", "30s", "time limit of one request (at least 1ms)"},
      {"max_response_bytes", "64MiB",
       "largest answer read into memory (32MiB to 1GiB); a search page over it is asked again "
       "with fewer hits"},
  };
  return kSpecs;
}

absl::StatusOr<SearchSettings> ParseSearchSettings(const BackendSettings& values) {
  SearchSettings out;
  for (const auto& [key, value] : values) {
    const std::string full = fmt::format("{}.{}", kSection, key);
    if (key == "endpoints") {
      std::vector<std::string> endpoints = settings::List(value);
      if (endpoints.empty()) return settings::Invalid(full, value, "needs at least one endpoint");
      for (std::string& one : endpoints) {
        if (one.rfind("http://", 0) != 0 && one.rfind("https://", 0) != 0) {
          return settings::Invalid(
              full, value, fmt::format("endpoint \"{}\" must start with http:// or https://", one));
        }
        while (one.back() == '/') one.pop_back();
      }
      out.endpoints = std::move(endpoints);
    } else if (key == "index_prefix") {
      if (!IsIndexPrefix(value)) {
        return settings::Invalid(full, value,
                                 "use lower-case letters, digits, '-' and '_', starting with a "
                                 "letter, at most 100 characters");
      }
      out.index_prefix = value;
    } else if (key == "username") {
      out.username = value;
    } else if (key == "password") {
      out.password = value;
    } else if (key == "api_key") {
      out.api_key = value;
    } else if (key == "tls_ca_file") {
      out.tls_ca_file = value;
    } else if (key == "shards") {
      ASSIGN_OR_RETURN(out.shards, settings::Unsigned(full, value, 1, 1024));
    } else if (key == "replicas") {
      ASSIGN_OR_RETURN(out.replicas, settings::Unsigned(full, value, 0, 16));
    } else if (key == "bulk_max_spans") {
      ASSIGN_OR_RETURN(out.bulk_max_spans, settings::Unsigned(full, value, 1, 100000));
    } else if (key == "bulk_parallelism") {
      ASSIGN_OR_RETURN(out.bulk_parallelism, settings::Unsigned(full, value, 1, 64));
    } else if (key == "retention_max_age") {
      ASSIGN_OR_RETURN(out.retention_max_age_nano, settings::Duration(full, value));
    } else if (key == "retention_max_bytes") {
      ASSIGN_OR_RETURN(out.retention_max_bytes, settings::Bytes(full, value, UINT64_MAX));
    } else if (key == "request_timeout") {
      ASSIGN_OR_RETURN(out.request_timeout_nano, settings::Duration(full, value));
      if (out.request_timeout_nano < 1000000) {
        return settings::Invalid(full, value, "must be at least 1ms");
      }
    } else if (key == "max_response_bytes") {
      ASSIGN_OR_RETURN(out.max_response_bytes, settings::Bytes(full, value, uint64_t{1} << 30));
      if (out.max_response_bytes < (size_t{32} << 20)) {
        return settings::Invalid(full, value, "must be at least 32MiB (one span may take 22 MiB)");
      }
    } else {
      return settings::Unknown(kSection, key, SearchSettingSpecs());
    }
  }
  return out;
}

}  // namespace teletrace::storage::elasticsearch
