// An asynchronous HTTP/1.1 server (Boost.Beast over Asio) serving one HttpHandler: the OTLP/HTTP
// receiver on 4318 and the API/UI on 8080 each run one.
//
//   HttpServerOptions options;
//   options.port = 4318;
//   ASSIGN_OR_RETURN(auto server, HttpServer::Start(options, [](HttpRequest&& req,
//                                                               HttpResponder respond) {
//     respond(HttpResponse{.status = 200, .content_type = "text/plain", .body = "pong"});
//   }));
//   ...
//   server->Stop();
//
// One io_context is run by `threads` threads and every connection runs on its own strand, so an
// idle keep-alive connection costs memory only (a socket, a buffer, a timer) and never holds a
// thread. Requests on one connection are served one at a time, in order (pipelining-safe).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/byte_budget.h"
#include "common/http.h"

namespace teletrace {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 picks a free port; HttpServer::port() tells which.
  // Largest accepted request body, on the wire and again after gzip inflation; larger -> 413.
  size_t max_body_bytes = 16 << 20;
  int threads = 2;
  // A connection with no request (or a stalled read/write) for this long is closed; a request body
  // must arrive whole within it.
  std::chrono::seconds idle_timeout{120};
  // Once the first byte of a request has arrived, its whole header must arrive within this
  // (slow-header attacks hold a connection for at most this long).
  std::chrono::seconds header_timeout{10};
  // Connections open at once; a connection beyond it is answered 503 and closed at once, so one
  // client cannot take every file descriptor of the process.
  size_t max_connections = 4096;
  // The process-wide in-flight budget (may be shared by several servers); nullptr = none. A request
  // holds a lease of its body bytes, and again of its inflated body, from its first body byte until
  // its response is written; when the budget is spent the request is refused with 429 and
  // Retry-After (the body is not read).
  ByteBudget* budget = nullptr;
  // TLS (1.2+) with these PEM files; both empty = plain HTTP. ReloadTls() re-reads them.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string name;  // for logs, e.g. "otlp-http"
  // How long Stop() lets in-flight requests finish before it closes their connections.
  std::chrono::milliseconds stop_grace{5000};
  // Builds the response for errors the server itself detects (400 bad framing or compression, 413,
  // 415, 429, 431, 501, 503, 500 on a handler exception); `request_content_type` is the request's
  // Content-Type when its header was read, else "". Unset: `{"errorMessage": "<message>"}` as
  // application/json, the shape of the Teletrace API's errors. The OTLP receiver sets it to answer
  // with a google.rpc.Status in the request's encoding.
  std::function<HttpResponse(int status, const std::string& message,
                             std::string_view request_content_type)>
      error_response;
  // Called (on an I/O thread) for every request or connection the server itself refuses, with the
  // status and a short reason ("too_large", "budget", "connections", "framing", ...), for metrics.
  std::function<void(int status, std::string_view reason)> on_refusal;
};

// Serves HTTP/1.1 on one address until Stop() or destruction.
//
// The handler is called on a connection's strand with the parsed request: the method, the
// percent-decoded path, the raw query, lowercased header names, and the plain body (a gzip or
// deflate `Content-Encoding` has been inflated and removed from the headers; a `HEAD` request
// reaches the handler as `GET` and its response is sent without the body).
//
// Framing is strict (RFC 9112 §6): a Transfer-Encoding other than exactly `chunked` is 501 (or 400
// when `chunked` is not the final coding, or a Content-Length comes with it) and the connection is
// closed, so a body can never be taken for a second request. The handler must call the responder
// exactly once, then or later, from any thread; calls after the first are ignored, and a response
// for a connection that has closed meanwhile is dropped. A handler that throws gets a 500. While a
// request is handled, the server watches its connection: when the client hangs up it sets the
// request's `cancelled` flag (common/cancel.h), so long work can stop.
//
// Responses get `Content-Length`, `Server: teletrace`, and are gzip-compressed when the client
// accepts gzip, the body exceeds 1 KiB and the handler did not set a Content-Encoding itself.
//
// Thread-safe: Stop() and port() may be called from any thread, but not from the handler.
class HttpServer {
 public:
  // Binds host:port and starts serving. Errors: Unavailable when the address is in use,
  // InvalidArgument for an address that cannot be resolved or bound; both name host:port, e.g.
  // "listen on 127.0.0.1:4318: address already in use".
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(HttpServerOptions options,
                                                           HttpHandler handler);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();  // Stop()s.

  // The bound port (the chosen one when options.port was 0).
  uint16_t port() const { return port_; }

  // Re-reads the TLS certificate and key (after a renewal; teletrace calls it on SIGHUP): new
  // connections use them, open ones keep theirs. On error (InvalidArgument naming the file) the
  // previous certificate stays in use. OK and nothing happens without TLS. Thread safe.
  absl::Status ReloadTls();

  // Stops accepting, closes idle connections, lets requests in flight write their responses for up
  // to options.stop_grace, then closes every connection and joins the threads. Idempotent.
  // Responders called after Stop() do nothing.
  void Stop();

  struct Core;  // Shared with connections and responders; defined in http_server.cc.

 private:
  HttpServer(std::shared_ptr<Core> core, uint16_t port);
  void StopOnce();

  std::shared_ptr<Core> core_;
  uint16_t port_;
  std::vector<std::thread> threads_;
  std::once_flag stop_once_;
};

// The gzip encoding (RFC 1952) a response body gets when the client accepts it; bodies of several
// MiB are compressed on every core. nullopt only if zlib fails. Thread safe.
std::optional<std::string> GzipBody(std::string_view in);

}  // namespace teletrace
