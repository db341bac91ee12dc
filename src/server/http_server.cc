#include <utility>  // Before the Boost headers: Beast 1.74 with g++ 12 in C++20 needs it.

#include "server/http_server.h"

#include "api/teletrace_v1/span_json.h"
#include "server/http_request_parsing.h"

#include <sys/socket.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace teletrace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace http_server_internal {
class SessionBase;
}  // namespace http_server_internal

struct HttpServer::Core : std::enable_shared_from_this<HttpServer::Core> {
  Core(HttpServerOptions opts, HttpHandler h)
      : ioc(std::max(1, opts.threads)),
        options(std::move(opts)),
        handler(std::move(h)),
        acceptor(asio::make_strand(ioc)),
        accept_backoff(acceptor.get_executor()),
        work(asio::make_work_guard(ioc)) {}

  // Declared first so that it is destroyed last: sockets and timers below refer to it.
  asio::io_context ioc;
  const HttpServerOptions options;
  const HttpHandler handler;
  tcp::acceptor acceptor;  // Runs on its own strand; touched only there once serving.
  asio::steady_timer accept_backoff;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

  // Accept failures (fd exhaustion) not yet reported; touched only on the acceptor's strand.
  std::chrono::steady_clock::time_point last_accept_warning{};
  uint64_t accept_failures_unlogged = 0;

  // Set once by Stop(); read without the lock on the connections' hot paths.
  std::atomic<bool> stopping{false};

  std::mutex mu;
  std::condition_variable cv;  // Signalled when `open` drops.
  // False once Stop() has stopped the threads: responders then drop responses instead of posting
  // work that nothing would run.
  bool accepting_posts = true;  // GUARDED_BY(mu)
  uint64_t next_session_id = 0;  // GUARDED_BY(mu)
  std::unordered_map<uint64_t, std::weak_ptr<http_server_internal::SessionBase>>
      sessions;     // GUARDED_BY(mu); connections not yet closed.

  // The TLS context new connections use; nullptr for plain HTTP. Replaced whole by ReloadTls, so
  // a connection keeps the context it started with.
  std::mutex tls_mu;
  std::shared_ptr<asio::ssl::context> tls_context;  // GUARDED_BY(tls_mu)
  size_t open = 0;  // GUARDED_BY(mu); == sessions.size(), kept for the waits.

  const std::string& name() const { return options.name; }
};

namespace {

constexpr size_t kHeaderLimitBytes = 64 << 10;
// Below this, compressing a response saves less than it costs.
constexpr size_t kGzipResponseMinBytes = 1024;
// Level 1 compresses span JSON several-fold at a fraction of level 6's CPU; responses are built
// on the I/O threads, so speed wins.
constexpr int kGzipResponseLevel = 1;
// After rejecting a request whose body we did not read, keep reading (and discarding) for a while
// before closing: closing with unread input makes the kernel send RST, which can destroy our
// response before the client reads it.
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr size_t kLingerMaxBytes = 1 << 20;

std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }

HttpResponse DefaultErrorResponse(int status, const std::string& message) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = "{\"errorMessage\":";
  api::v1::AppendJsonString(&response.body, message);
  response.body += "}";
  return response;
}

// Deflates `in` into `out` with `zs` (initialised by the caller), ending with `flush`: Z_FINISH for
// a complete stream, Z_SYNC_FLUSH for a piece that more deflate data will follow.
bool DeflateAll(z_stream& zs, std::string_view in, int flush, std::string& out) {
  size_t in_pos = 0;
  size_t produced = 0;
  out.resize(deflateBound(&zs, in.size()) + 16);
  while (true) {
    if (zs.avail_in == 0 && in_pos < in.size()) {
      size_t n = std::min(kZlibChunkBytes, in.size() - in_pos);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + in_pos));
      zs.avail_in = static_cast<uInt>(n);
      in_pos += n;
    }
    if (produced == out.size()) out.resize(out.size() * 2 + 64);
    size_t room = std::min(kZlibChunkBytes, out.size() - produced);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(room);
    const bool last_input = zs.avail_in == 0 && in_pos == in.size();
    int ret = deflate(&zs, last_input ? flush : Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (ret == Z_STREAM_END) break;  // Z_FINISH done
    if (last_input && flush != Z_FINISH && ret == Z_OK && zs.avail_out != 0) break;  // flushed
    if (ret != Z_OK && ret != Z_BUF_ERROR) return false;
  }
  out.resize(produced);
  return true;
}

std::optional<std::string> GzipSerial(std::string_view in) {
  z_stream zs{};
  if (deflateInit2(&zs, kGzipResponseLevel, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return std::nullopt;
  }
  std::string out;
  bool ok = DeflateAll(zs, in, Z_FINISH, out);
  deflateEnd(&zs);
  if (!ok) return std::nullopt;
  return out;
}

// Large bodies (a 100,000-span trace is ~115 MB of JSON) are cut into pieces deflated on every core
// and joined into one gzip member, as pigz does: each piece but the last ends byte-aligned with a
// sync flush, starts from the previous piece's last 32 KiB as its dictionary (so the ratio barely
// changes), and the CRC-32s of the pieces are combined.
constexpr size_t kGzipPieceBytes = size_t{4} << 20;
constexpr size_t kDeflateWindowBytes = size_t{32} << 10;

std::optional<std::string> GzipParallel(std::string_view in, size_t threads) {
  const size_t pieces = (in.size() + kGzipPieceBytes - 1) / kGzipPieceBytes;
  std::vector<std::string> deflated(pieces);
  std::vector<uLong> crcs(pieces);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (size_t i = next++; i < pieces; i = next++) {
      std::string_view piece = in.substr(i * kGzipPieceBytes, kGzipPieceBytes);
      const bool last = i + 1 == pieces;
      crcs[i] = crc32(0L, reinterpret_cast<const Bytef*>(piece.data()),
                      static_cast<uInt>(piece.size()));
      z_stream zs{};
      if (deflateInit2(&zs, kGzipResponseLevel, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
          Z_OK) {
        failed = true;
        return;
      }
      if (i > 0) {
        std::string_view dictionary = in.substr(i * kGzipPieceBytes - kDeflateWindowBytes,
                                                kDeflateWindowBytes);
        deflateSetDictionary(&zs, reinterpret_cast<const Bytef*>(dictionary.data()),
                             static_cast<uInt>(dictionary.size()));
      }
      if (!DeflateAll(zs, piece, last ? Z_FINISH : Z_SYNC_FLUSH, deflated[i])) failed = true;
      deflateEnd(&zs);
    }
  };
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < std::min(threads, pieces); ++t) helpers.emplace_back(work);
  work();
  for (std::thread& t : helpers) t.join();
  if (failed) return std::nullopt;

  // RFC 1952: magic, deflate, no flags, no mtime, no extra flags, unknown OS; CRC-32 and size.
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  size_t total = out.size() + 8;
  for (const std::string& d : deflated) total += d.size();
  out.reserve(total);
  uLong crc = crcs[0];
  for (size_t i = 0; i < pieces; ++i) {
    out.append(deflated[i]);
    std::string().swap(deflated[i]);
    if (i > 0) {
      crc = crc32_combine(crc, crcs[i], static_cast<z_off_t>(
                                            std::min(kGzipPieceBytes, in.size() - i * kGzipPieceBytes)));
    }
  }
  const uint64_t size = in.size();
  for (uint64_t v : {uint64_t{crc}, size}) {
    for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
  }
  return out;
}

}  // namespace

std::optional<std::string> GzipBody(std::string_view in) {
  const size_t threads = std::max(1u, std::thread::hardware_concurrency());
  if (threads > 1 && in.size() >= 2 * kGzipPieceBytes) return GzipParallel(in, threads);
  return GzipSerial(in);
}

namespace {

std::string HostPort(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::string LowerFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

bool IsHttpParseError(const beast::error_code& ec) {
  return &ec.category() == &http::make_error_code(http::error::bad_method).category();
}

}  // namespace

namespace http_server_internal {

// What Stop() needs of a connection, whatever its transport.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual const asio::any_io_executor& strand() const = 0;
  // Both run on the strand (post them there).
  virtual void Shutdown() = 0;
  virtual void Close() = 0;
};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection over `Stream` (plain TCP or TLS). Every member function runs on the connection's
// strand except PostResponse. Lifetime: shared by the pending I/O operation or by an outstanding
// responder, so a response arriving after the connection closed finds a live (closed) object and
// is dropped.
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(std::shared_ptr<HttpServer::Core> core, tcp::socket socket, uint64_t id,
          std::shared_ptr<asio::ssl::context> tls_context)
      : core_(std::move(core)), tls_context_(std::move(tls_context)),
        stream_(MakeStream(std::move(socket), tls_context_.get())), id_(id) {
    strand_ = stream_.get_executor();
  }

  ~Session() override {
    if (!closed_) Unregister();
  }

  const asio::any_io_executor& strand() const override { return strand_; }
  uint64_t id() const { return id_; }

  void Start() {
    asio::dispatch(strand_, [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->Handshake();
      } else {
        self->ReadHeader();
      }
    });
  }

  // Stop(): an idle connection (or one still receiving a request, or draining a rejected one)
  // closes now; one whose request is being handled or answered closes after its response.
  void Shutdown() override {
    if (state_ == State::kReading || state_ == State::kLingering) {
      Close();
    } else {
      close_after_response_ = true;
    }
  }

  // Any thread. Queues the response for the strand unless the server's threads are gone.
  void PostResponse(HttpResponse response) {
    std::lock_guard<std::mutex> lock(core_->mu);
    if (!core_->accepting_posts) return;
    asio::post(strand_, [self = this->shared_from_this(), response = std::move(response)]() mutable {
      self->WriteResponse(std::move(response));
    });
  }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    state_ = State::kClosed;
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().close();
    lease_.Reset();
    Unregister();
  }

 private:
  static Stream MakeStream(tcp::socket socket, asio::ssl::context* tls_context) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls_context);
    } else {
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  // TLS only: the handshake must finish within header_timeout, like a request header.
  void Handshake() {
    if constexpr (kTls) {
      Lowest().expires_after(core_->options.header_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (self->closed_) return;
                                if (ec) {
                                  self->LogDebug("TLS handshake", ec);
                                  if (self->core_->options.on_refusal) {
                                    self->core_->options.on_refusal(400, "tls_handshake");
                                  }
                                  self->Close();
                                  return;
                                }
                                self->ReadHeader();
                              });
    }
  }

  enum class State { kReading, kHandling, kWriting, kLingering, kClosed };

  void Unregister() {
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      core_->sessions.erase(id_);
      --core_->open;
    }
    core_->cv.notify_all();
  }

  // Waits up to idle_timeout for the first byte of the next request, then gives its header
  // header_timeout to arrive whole: an idle keep-alive connection may wait long, a slow header
  // may not.
  void ReadHeader() {
    if (closed_) return;
    if (core_->stopping.load() || close_after_response_) {
      Close();
      return;
    }
    state_ = State::kReading;
    version_ = 11;
    keep_alive_ = true;
    head_ = false;
    accepts_gzip_ = false;
    body_unread_ = false;
    request_content_type_.clear();
    // An idle connection should hold a small buffer, whatever its last request needed.
    if (buffer_.size() == 0 && buffer_.capacity() > 16 << 10) buffer_.shrink_to_fit();
    if (buffer_.size() > 0) {
      ReadRestOfHeader();  // A pipelined request is already (partly) here.
      return;
    }
    Lowest().expires_after(core_->options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (self->closed_) return;
                              if (ec) {
                                self->LogDebug("wait for request", ec);
                                self->Close();
                                return;
                              }
                              self->buffer_.commit(n);
                              self->ReadRestOfHeader();
                            });
  }

  void ReadRestOfHeader() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimitBytes);
    parser_->body_limit(core_->options.max_body_bytes);
    Lowest().expires_after(core_->options.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(beast::error_code ec) {
    if (closed_) return;
    if (ec == http::error::body_limit) {
      // Content-Length over the limit: answer without reading the body, then close.
      CaptureRequestInfo();
      RejectAndClose(413, "too_large",
                     fmt::format("request body exceeds {} bytes", core_->options.max_body_bytes),
                     /*body_unread=*/true);
      return;
    }
    if (ec == http::error::header_limit) {
      RejectAndClose(431, "header_too_large",
                     fmt::format("request header exceeds {} bytes", kHeaderLimitBytes),
                     /*body_unread=*/true);
      return;
    }
    if (ec == beast::error::timeout) {
      // The stream has closed the socket on expiry, so no 408 can be written; count and close.
      if (core_->options.on_refusal) core_->options.on_refusal(408, "header_timeout");
      spdlog::debug("{}: connection {}: request header not received within {} s", core_->name(),
                    id_, core_->options.header_timeout.count());
      Close();
      return;
    }
    if (ec) {
      if (IsHttpParseError(ec) && ec != http::error::end_of_stream &&
          ec != http::error::partial_message) {
        RejectAndClose(400, "framing", fmt::format("malformed HTTP request: {}", ec.message()),
                       /*body_unread=*/true);
        return;
      }
      LogDebug("read header", ec);
      Close();
      return;
    }
    CaptureRequestInfo();
    if (!CheckFraming()) return;
    auto& header = parser_->get();
    // Reserve the body's bytes before reading any of them; a chunked body reserves as it grows.
    if (auto length = parser_->content_length(); length && *length > 0) {
      if (!Reserve(*length)) {
        RefuseOverBudget(/*body_unread=*/true);
        return;
      }
    }
    if (beast::iequals(header[http::field::expect], "100-continue") && !parser_->is_done()) {
      // Clients that ask (curl for large bodies) wait for this before sending the body.
      auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                         header.version());
      Lowest().expires_after(core_->options.idle_timeout);
      http::async_write(stream_, *interim,
                        [self = this->shared_from_this(), interim](beast::error_code ec, size_t) {
                          if (self->closed_) return;
                          if (ec) {
                            self->LogDebug("write 100-continue", ec);
                            self->Close();
                            return;
                          }
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  // RFC 9112 §6.1 and §6.3: the only transfer coding we accept is a lone `chunked`. Anything else
  // would leave the body's length to guesswork, and a body taken for a next request is request
  // smuggling. Answers and returns false when the framing is refused.
  bool CheckFraming() {
    const auto& header = parser_->get();
    auto te = header.find(http::field::transfer_encoding);
    if (te == header.end()) return true;
    std::string codings;
    for (auto it = te; it != header.end() && it->name() == http::field::transfer_encoding; ++it) {
      if (!codings.empty()) codings += ", ";
      codings += View(it->value());
    }
    std::optional<RequestRefusal> refusal = CheckTransferEncoding(
        codings, version_, header.find(http::field::content_length) != header.end());
    if (!refusal) return true;
    RejectAndClose(refusal->status, "framing", refusal->message, /*body_unread=*/true);
    return false;
  }

  // Grows this request's lease to cover `total` bytes; false when the budget is spent.
  bool Reserve(uint64_t total) {
    ByteBudget* budget = core_->options.budget;
    if (budget == nullptr || total <= lease_.bytes()) return true;
    if (!lease_) {
      lease_ = budget->TryAcquire(total);
      return static_cast<bool>(lease_);
    }
    return lease_.Grow(total - lease_.bytes());
  }

  void ReadBody() {
    if (parser_->is_done()) {
      OnBody({});
      return;
    }
    // The whole body within idle_timeout: a slow drip cannot hold a connection (and its lease)
    // forever.
    Lowest().expires_after(core_->options.idle_timeout);
    ReadSomeBody();
  }

  // Reads the body piece by piece so a body without Content-Length (chunked) reserves its bytes
  // from the budget as it grows, never after the fact.
  void ReadSomeBody() {
    http::async_read_some(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](beast::error_code ec, size_t) {
                            if (self->closed_) return;
                            if (!ec && !self->parser_->is_done()) {
                              // A body of unknown length (chunked) reserves ahead in steps of
                              // 1 MiB, so an upload takes a handful of budget operations, not
                              // one per chunk; a Content-Length body reserved all of it already.
                              constexpr uint64_t kStep = 1 << 20;
                              const uint64_t have = self->parser_->get().body().size();
                              if (!self->parser_->content_length() &&
                                  have + kStep / 2 > self->lease_.bytes() &&
                                  !self->Reserve(std::min<uint64_t>(
                                      have + kStep, self->core_->options.max_body_bytes))) {
                                self->RefuseOverBudget(/*body_unread=*/true);
                                return;
                              }
                              self->ReadSomeBody();
                              return;
                            }
                            self->OnBody(ec);
                          });
  }

  void OnBody(beast::error_code ec) {
    if (closed_) return;
    if (ec == http::error::body_limit) {
      RejectAndClose(413, "too_large",
                     fmt::format("request body exceeds {} bytes", core_->options.max_body_bytes),
                     /*body_unread=*/true);
      return;
    }
    if (ec) {
      if (IsHttpParseError(ec) && ec != http::error::end_of_stream &&
          ec != http::error::partial_message) {
        RejectAndClose(400, "framing", fmt::format("malformed HTTP request: {}", ec.message()),
                       /*body_unread=*/true);
        return;
      }
      LogDebug("read body", ec);
      Close();
      return;
    }
    HandleRequest();
  }

  // Remembers what the response depends on, from the request header just parsed.
  void CaptureRequestInfo() {
    const auto& header = parser_->get();
    version_ = header.version();
    keep_alive_ = header.keep_alive();
    head_ = header.method() == http::verb::head;
    accepts_gzip_ = AcceptsGzip(View(header[http::field::accept_encoding]));
    request_content_type_ = std::string(View(header[http::field::content_type]));
  }

  void HandleRequest() {
    http::request<http::string_body> message = parser_->release();
    parser_.reset();
    if (core_->stopping.load()) {
      RejectAndClose(503, "stopping", "server is shutting down", /*body_unread=*/false);
      return;
    }

    HttpRequest request;
    request.method = head_ ? "GET" : std::string(message.method_string());
    SplitTarget(View(message.target()), &request.path, &request.query);
    std::string content_encoding;
    request.headers.reserve(std::distance(message.begin(), message.end()));
    for (const auto& field : message) {
      std::string name = AsciiLower(View(field.name_string()));
      if (name == "content-encoding") {
        content_encoding = AsciiLower(TrimSpaces(View(field.value())));
        continue;  // The handler gets the decoded body; the encoding no longer applies.
      }
      request.headers.emplace_back(std::move(name), std::string(View(field.value())));
    }
    if (content_encoding.empty() || content_encoding == "identity") {
      request.body = std::move(message.body());
    } else if (content_encoding == "gzip" || content_encoding == "x-gzip" ||
               content_encoding == "deflate") {
      if (!message.body().empty()) {
        std::string compressed = std::move(message.body());
        std::optional<RequestRefusal> refusal = InflateBody(
            compressed, content_encoding == "deflate" ? BodyCoding::kDeflate : BodyCoding::kGzip,
            core_->options.max_body_bytes, &request.body);
        if (refusal) {
          SendError(refusal->status, refusal->status == 413 ? "too_large" : "bad_encoding",
                    refusal->message);
          return;
        }
        // Inflation ran on this I/O thread (at most `threads` at once); from here on the inflated
        // body is what the request holds until its response.
        if (!Reserve(compressed.size() + request.body.size())) {
          RefuseOverBudget(/*body_unread=*/false);
          return;
        }
      }
    } else {
      SendError(415, "content_encoding",
                fmt::format("unsupported Content-Encoding: {} (use gzip, deflate or identity)",
                            content_encoding));
      return;
    }

    state_ = State::kHandling;
    request.cancelled = std::make_shared<std::atomic<bool>>(false);
    WatchForHangUp(request.cancelled);
    auto responded = std::make_shared<std::atomic<bool>>(false);
    HttpResponder responder = [self = this->shared_from_this(), responded](HttpResponse response) {
      if (responded->exchange(true)) {
        spdlog::debug("{}: connection {}: responder called again, ignored", self->core_->name(),
                     self->id_);
        return;
      }
      self->PostResponse(std::move(response));
    };
    std::string failure;
    try {
      core_->handler(std::move(request), std::move(responder));
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "unknown exception";
    }
    if (!failure.empty()) {
      spdlog::error("{}: handler threw: {}", core_->name(), failure);
      if (!responded->exchange(true)) PostResponse(ErrorResponse(500, "internal server error"));
    }
  }

  // While a request is handled nothing reads the socket; this notices the client hanging up (a
  // browser abandoning a superseded request closes its connection) and sets the request's
  // cancelled flag, so the handler can stop working for nobody. Bytes arriving instead (a
  // pipelined request, a TLS alert) end the watch: the peer is still there, or cannot be told.
  void WatchForHangUp(std::shared_ptr<std::atomic<bool>> cancelled) {
    const uint64_t request = ++requests_handled_;
    Lowest().socket().async_wait(
        tcp::socket::wait_read,
        asio::bind_executor(strand_, [self = this->shared_from_this(), request,
                                      cancelled = std::move(cancelled)](beast::error_code ec) {
          if (ec || self->closed_ || self->state_ != State::kHandling ||
              self->requests_handled_ != request) {
            return;
          }
          char byte;
          const ssize_t n = ::recv(self->Lowest().socket().native_handle(), &byte, 1,
                                   MSG_PEEK | MSG_DONTWAIT);
          if (n > 0) return;
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            self->WatchForHangUp(cancelled);  // woken without data: keep watching
            return;
          }
          // End of stream, or a reset: nobody will read the response.
          cancelled->store(true, std::memory_order_relaxed);
          spdlog::debug("{}: connection {}: client hung up during its request",
                        self->core_->name(), self->id_);
        }));
  }

  HttpResponse ErrorResponse(int status, const std::string& message) const {
    if (core_->options.error_response) {
      return core_->options.error_response(status, message, request_content_type_);
    }
    return DefaultErrorResponse(status, message);
  }

  // An error the server itself detected: counted under `reason`, logged at debug level (the
  // owner's on_refusal decides what deserves more), and answered.
  void SendError(int status, std::string_view reason, const std::string& message,
                 std::vector<std::pair<std::string, std::string>> extra_headers = {}) {
    spdlog::debug("{}: connection {}: {} {}", core_->name(), id_, status, message);
    if (core_->options.on_refusal) core_->options.on_refusal(status, reason);
    HttpResponse response = ErrorResponse(status, message);
    for (auto& header : extra_headers) response.headers.push_back(std::move(header));
    WriteResponse(std::move(response));
  }

  // For errors after which the connection's input cannot be trusted or was not consumed.
  void RejectAndClose(int status, std::string_view reason, const std::string& message,
                      bool body_unread,
                      std::vector<std::pair<std::string, std::string>> extra_headers = {}) {
    close_after_response_ = true;
    body_unread_ = body_unread;
    parser_.reset();
    SendError(status, reason, message, std::move(extra_headers));
  }

  void RefuseOverBudget(bool body_unread) {
    RejectAndClose(429, "budget",
                   "the server is at its in-flight memory limit; retry later",
                   body_unread, {{"Retry-After", "1"}});
  }

  void WriteResponse(HttpResponse response) {
    if (closed_) return;  // The client went away while the handler worked.
    state_ = State::kWriting;
    int status = response.status;
    if (status < 200 || status > 599) {
      spdlog::error("{}: handler answered with invalid status {}", core_->name(), status);
      response = ErrorResponse(500, "internal server error");
      status = response.status;
    }
    auto& res = response_.emplace();
    res.version(version_ == 10 ? 10 : 11);
    res.result(static_cast<unsigned>(status));
    res.set(http::field::server, "teletrace");
    if (!response.content_type.empty()) res.set(http::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) res.insert(name, value);
    if (status == 204 || status == 304) response.body.clear();

    bool encoded_by_handler = res.find(http::field::content_encoding) != res.end();
    if (!encoded_by_handler && response.body.size() > kGzipResponseMinBytes) {
      if (res.find(http::field::vary) == res.end()) res.set(http::field::vary, "Accept-Encoding");
      if (accepts_gzip_) {
        if (std::optional<std::string> gz = GzipBody(response.body)) {
          response.body = std::move(*gz);
          res.set(http::field::content_encoding, "gzip");
        }
      }
    }
    bool keep_alive = keep_alive_ && !close_after_response_ && !core_->stopping.load();
    res.keep_alive(keep_alive);
    if (head_) {
      res.content_length(response.body.size());
    } else {
      res.body() = std::move(response.body);
      res.prepare_payload();
    }

    Lowest().expires_after(core_->options.idle_timeout);
    http::async_write(stream_, res,
                      [self = this->shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        self->OnWrite(ec, keep_alive);
                      });
  }

  void OnWrite(beast::error_code ec, bool keep_alive) {
    response_.reset();
    lease_.Reset();
    if (closed_) return;
    if (ec) {
      LogDebug("write", ec);
      Close();
      return;
    }
    if (!keep_alive) {
      CloseAfterResponse();
      return;
    }
    ReadHeader();
  }

  void CloseAfterResponse() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (!body_unread_ || ec || core_->stopping.load()) {
      Close();
      return;
    }
    state_ = State::kLingering;
    linger_deadline_ = std::chrono::steady_clock::now() + kLingerTimeout;
    Linger();
  }

  // Discards what the client still sends until it closes, the deadline passes or enough came.
  void Linger() {
    if (closed_) return;
    if (core_->stopping.load() || lingered_bytes_ > kLingerMaxBytes) {
      Close();
      return;
    }
    Lowest().expires_at(linger_deadline_);
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(16 << 10),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) {
                                self->Close();
                                return;
                              }
                              self->lingered_bytes_ += n;
                              self->Linger();
                            });
  }

  void LogDebug(std::string_view what, const beast::error_code& ec) {
    if (ec == asio::error::operation_aborted || ec == http::error::end_of_stream ||
        ec == asio::error::eof) {
      return;  // Ordinary ends of a connection.
    }
    spdlog::debug("{}: connection {}: {}: {}", core_->name(), id_, what, ec.message());
  }

  // Declared first so it is destroyed last: the socket below needs the io_context it owns.
  std::shared_ptr<HttpServer::Core> core_;
  std::shared_ptr<asio::ssl::context> tls_context_;  // outlives stream_, which refers to it
  Stream stream_;
  asio::any_io_executor strand_;
  const uint64_t id_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  State state_ = State::kReading;
  bool closed_ = false;
  bool close_after_response_ = false;
  bool body_unread_ = false;
  uint64_t requests_handled_ = 0;  // tells a hang-up watch which request it watched
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;
  bool accepts_gzip_ = false;
  std::string request_content_type_;
  // This request's share of the in-flight budget; released once its response is written.
  ByteBudget::Lease lease_;
  std::chrono::steady_clock::time_point linger_deadline_;
  size_t lingered_bytes_ = 0;
};

}  // namespace http_server_internal

namespace {

using http_server_internal::PlainStream;
using http_server_internal::Session;
using http_server_internal::SessionBase;
using http_server_internal::TlsStream;

void Accept(HttpServer::Core* core);

// Refuses a connection over the listener's cap: a best-effort 503 without blocking, then close.
void RefuseConnection(HttpServer::Core* core, tcp::socket socket) {
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain\r\n"
      "Content-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n";
  if (core->options.on_refusal) core->options.on_refusal(503, "connections");
  beast::error_code ec;
  socket.non_blocking(true, ec);
  if (!ec) socket.write_some(asio::buffer(kBusy.data(), kBusy.size()), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

// Runs on the acceptor's strand.
void OnAccept(HttpServer::Core* core, beast::error_code ec, tcp::socket socket) {
  if (core->stopping.load() || !core->acceptor.is_open()) return;
  if (ec) {
    spdlog::debug("{}: accept: {}", core->name(), ec.message());
    if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
        ec == asio::error::no_memory) {
      // Out of file descriptors: retrying at once would spin; give connections time to close.
      // One warning per 10 s, not one per retry: an attack must not also flood the log.
      auto now = std::chrono::steady_clock::now();
      ++core->accept_failures_unlogged;
      if (now - core->last_accept_warning >= std::chrono::seconds(10)) {
        spdlog::warn("{}: accept: {} ({} times since the last warning); retrying every 100 ms",
                     core->name(), ec.message(), core->accept_failures_unlogged);
        core->last_accept_warning = now;
        core->accept_failures_unlogged = 0;
      }
      core->accept_backoff.expires_after(std::chrono::milliseconds(100));
      core->accept_backoff.async_wait([core](beast::error_code wait_ec) {
        if (!wait_ec) Accept(core);
      });
      return;
    }
    Accept(core);
    return;
  }
  bool over_cap;
  {
    std::lock_guard<std::mutex> lock(core->mu);
    over_cap = core->open >= core->options.max_connections;
  }
  if (over_cap) {
    RefuseConnection(core, std::move(socket));
    Accept(core);
    return;
  }
  beast::error_code nodelay_ec;
  socket.set_option(tcp::no_delay(true), nodelay_ec);
  std::shared_ptr<asio::ssl::context> tls_context;
  {
    std::lock_guard<std::mutex> lock(core->tls_mu);
    tls_context = core->tls_context;
  }
  auto start = [&](auto session) {
    {
      std::lock_guard<std::mutex> lock(core->mu);
      core->sessions.emplace(session->id(), session);
      ++core->open;
    }
    session->Start();
  };
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(core->mu);
    id = core->next_session_id++;
  }
  if (tls_context != nullptr) {
    start(std::make_shared<Session<TlsStream>>(core->shared_from_this(), std::move(socket), id,
                                               std::move(tls_context)));
  } else {
    start(std::make_shared<Session<PlainStream>>(core->shared_from_this(), std::move(socket), id,
                                                 nullptr));
  }
  Accept(core);
}

void Accept(HttpServer::Core* core) {
  core->acceptor.async_accept(asio::make_strand(core->ioc),
                              [core](beast::error_code ec, tcp::socket socket) {
                                OnAccept(core, ec, std::move(socket));
                              });
}

// Takes strong references to the open connections, under the lock; they are released by the
// caller after the lock (a last reference may run a Session destructor, which takes the lock).
std::vector<std::shared_ptr<SessionBase>> OpenSessions(HttpServer::Core* core) {
  std::vector<std::shared_ptr<SessionBase>> out;
  std::lock_guard<std::mutex> lock(core->mu);
  out.reserve(core->sessions.size());
  for (auto& [id, weak] : core->sessions) {
    if (auto session = weak.lock()) out.push_back(std::move(session));
  }
  return out;
}

// A server TLS context from PEM files: TLS 1.2 and later only. InvalidArgument names the file.
absl::StatusOr<std::shared_ptr<asio::ssl::context>> LoadTlsContext(const std::string& cert_file,
                                                                   const std::string& key_file) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  beast::error_code ec;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                       ec);
  if (ec) return absl::InternalError(fmt::format("TLS options: {}", ec.message()));
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        fmt::format("TLS certificate file {}: {}", cert_file, LowerFirst(ec.message())));
  }
  context->use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        fmt::format("TLS key file {}: {}", key_file, LowerFirst(ec.message())));
  }
  return context;
}

}  // namespace

absl::Status HttpServer::ReloadTls() {
  const HttpServerOptions& opts = core_->options;
  if (opts.tls_cert_file.empty()) return absl::OkStatus();
  auto context = LoadTlsContext(opts.tls_cert_file, opts.tls_key_file);
  if (!context.ok()) return context.status();
  std::lock_guard<std::mutex> lock(core_->tls_mu);
  core_->tls_context = *std::move(context);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                              HttpHandler handler) {
  if (options.name.empty()) options.name = "http";
  if (options.host.empty()) options.host = "0.0.0.0";
  const std::string where = HostPort(options.host, options.port);
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: TLS needs both a certificate file and a key file", options.name));
  }
  auto core = std::make_shared<Core>(std::move(options), std::move(handler));
  const HttpServerOptions& opts = core->options;
  if (!opts.tls_cert_file.empty()) {
    auto context = LoadTlsContext(opts.tls_cert_file, opts.tls_key_file);
    if (!context.ok()) return context.status();
    core->tls_context = *std::move(context);
  }

  beast::error_code ec;
  tcp::endpoint endpoint;
  asio::ip::address address = asio::ip::make_address(opts.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, opts.port);
  } else {
    tcp::resolver resolver(core->ioc);
    auto results = resolver.resolve(opts.host, std::to_string(opts.port),
                                    tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return absl::InvalidArgumentError(fmt::format(
          "listen on {}: resolve: {}", where, ec ? LowerFirst(ec.message()) : "no address"));
    }
    endpoint = results.begin()->endpoint();
  }

  auto fail = [&](std::string_view step) -> absl::Status {
    std::string message = fmt::format("listen on {}: {}", where, LowerFirst(ec.message()));
    spdlog::debug("{}: {} failed: {}", opts.name, step, message);
    if (ec == asio::error::address_in_use) return absl::UnavailableError(message);
    return absl::InvalidArgumentError(message);
  };
  core->acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  core->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("set SO_REUSEADDR");
  core->acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  core->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  uint16_t port = core->acceptor.local_endpoint(ec).port();
  if (ec) return fail("local endpoint");

  Accept(core.get());
  std::unique_ptr<HttpServer> server(new HttpServer(core, port));
  int threads = std::max(1, opts.threads);
  for (int i = 0; i < threads; ++i) {
    server->threads_.emplace_back([core = core.get()] {
      while (true) {
        try {
          core->ioc.run();
          return;
        } catch (const std::exception& e) {
          // Not ours (handler exceptions are caught at the call); keep serving.
          spdlog::error("{}: I/O thread: {}", core->name(), e.what());
        }
      }
    });
  }
  spdlog::info("{}: listening on {}{}", opts.name, HostPort(opts.host, port),
               opts.tls_cert_file.empty() ? "" : " (TLS)");
  return server;
}

HttpServer::HttpServer(std::shared_ptr<Core> core, uint16_t port)
    : core_(std::move(core)), port_(port) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() { std::call_once(stop_once_, [this] { StopOnce(); }); }

void HttpServer::StopOnce() {
  Core* core = core_.get();
  core->stopping.store(true);
  asio::post(core->acceptor.get_executor(), [core] {
    beast::error_code ec;
    core->acceptor.close(ec);
    core->accept_backoff.cancel();
  });
  {
    auto sessions = OpenSessions(core);
    for (auto& session : sessions) {
      asio::post(session->strand(), [session] { session->Shutdown(); });
    }
  }
  auto all_closed = [core] { return core->open == 0; };
  {
    std::unique_lock<std::mutex> lock(core->mu);
    core->cv.wait_for(lock, core->options.stop_grace, all_closed);
  }
  {
    auto sessions = OpenSessions(core);
    if (!sessions.empty()) {
      spdlog::warn("{}: closing {} connections still busy after the stop grace period",
                   core->name(), sessions.size());
    }
    for (auto& session : sessions) {
      asio::post(session->strand(), [session] { session->Close(); });
    }
  }
  {
    std::unique_lock<std::mutex> lock(core->mu);
    core->cv.wait_for(lock, std::chrono::seconds(1), all_closed);
    core->accepting_posts = false;
  }
  core->work.reset();
  core->ioc.stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  // Run what the stop left queued (completions of the closed sockets), so that no queued handler
  // keeps a connection, and through it this io_context, alive in a reference cycle.
  core->ioc.restart();
  for (int i = 0; i < 1000 && core->ioc.poll() > 0; ++i) {
  }
  spdlog::info("{}: stopped", core->name());
}

}  // namespace teletrace
