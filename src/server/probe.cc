#include "server/probe.h"

#include <curl/curl.h>

#include <cstdio>

#include "fmt/format.h"

namespace teletrace::server {

std::string ProbeUrl(const Config& config) {
  std::string host = config.host;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::" || host == "[::]") host = "::1";
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return fmt::format("{}://{}:{}/readyz", config.tls_cert_file.empty() ? "http" : "https", host,
                     config.http_port);
}

int ProbeReadiness(const Config& config, long timeout_ms) {
  const std::string url = ProbeUrl(config);
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    std::fputs("teletrace --probe: cannot initialise libcurl\n", stderr);
    return 1;
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char*, size_t size, size_t n, void*) {
    return size * n;  // the body ("ready"/"starting") is not needed: the status says it
  });
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  if (code == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    std::fprintf(stderr, "teletrace --probe: %s: %s\n", url.c_str(), curl_easy_strerror(code));
    return 1;
  }
  if (status != 200) {
    std::fprintf(stderr, "teletrace --probe: %s answered %ld\n", url.c_str(), status);
    return 1;
  }
  return 0;
}

}  // namespace teletrace::server
