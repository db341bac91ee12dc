// Fuzzes what the HTTP server does with a request's bytes before a handler sees them: Beast's
// parser with the server's limits, then our Transfer-Encoding rules, target splitting and
// percent-decoding, Accept-Encoding, the UI/API port's request guard and bounded gzip/deflate
// inflation. Every input must end in a
// parse error or a refusal with a 4xx/5xx status, never a crash, and an inflated body never
// exceeds its limit.
#include <utility>  // Before the Boost headers: Beast 1.74 with g++ 12 in C++20 needs it.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "server/http_request_parsing.h"
#include "server/request_guard.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr size_t kBodyLimit = 1 << 20;

std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }

void CheckRefusal(const std::optional<teletrace::RequestRefusal>& refusal) {
  if (refusal && (refusal->status < 400 || refusal->status > 599 || refusal->message.empty())) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace teletrace;
  http::request_parser<http::string_body> parser;
  parser.header_limit(64 << 10);
  parser.body_limit(kBodyLimit);
  parser.eager(true);
  beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;

  const auto& header = parser.get();
  std::string codings;
  for (auto it = header.find(http::field::transfer_encoding);
       it != header.end() && it->name() == http::field::transfer_encoding; ++it) {
    if (!codings.empty()) codings += ", ";
    codings += View(it->value());
  }
  if (!codings.empty()) {
    CheckRefusal(CheckTransferEncoding(codings, header.version(),
                                       header.find(http::field::content_length) != header.end()));
  }
  std::string path;
  std::string query;
  SplitTarget(View(header.target()), &path, &query);
  AcceptsGzip(View(header[http::field::accept_encoding]));

  // The UI/API port's guard reads Host, Origin, Content-Type and Authorization from the client.
  HttpRequest request;
  request.method = std::string(View(header.method_string()));
  request.path = path;
  for (const auto& field : header) {
    request.headers.emplace_back(AsciiLower(View(field.name_string())),
                                 std::string(View(field.value())));
  }
  static const server::RequestGuard guard(
      {.api_token = "fuzz-token", .allowed_hosts = server::RequestGuard::DefaultAllowedHosts("127.0.0.1")});
  for (auto area : {server::RequestGuard::Area::kUi, server::RequestGuard::Area::kApi}) {
    std::optional<HttpResponse> refusal = guard.Check(request, area);
    if (refusal && (refusal->status < 400 || refusal->status > 499)) std::abort();
  }

  if (!parser.is_done()) return 0;
  const std::string& body = parser.get().body();
  for (BodyCoding coding : {BodyCoding::kGzip, BodyCoding::kDeflate}) {
    std::string inflated;
    std::optional<RequestRefusal> refusal = InflateBody(body, coding, kBodyLimit, &inflated);
    CheckRefusal(refusal);
    if (inflated.size() > kBodyLimit || (refusal && !inflated.empty())) std::abort();
  }
  return 0;
}
