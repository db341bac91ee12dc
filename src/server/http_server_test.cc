#include <utility>  // Before the Boost headers: Beast 1.74 with g++ 12 in C++20 needs it.

#include "server/http_server.h"

#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/x509.h>
#include <unistd.h>

#include "fmt/format.h"
#include "gtest/gtest.h"

namespace teletrace {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Response = http::response<http::string_body>;

std::string Gzip(std::string_view in) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Gunzip(std::string_view in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

// A blocking HTTP client over one connection; every read gives up after 3 s so a bug fails a test
// instead of hanging it.
class Client {
 public:
  Client(asio::io_context& ioc, uint16_t port) : ioc_(ioc), socket_(ioc) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  void Send(std::string_view raw) { asio::write(socket_, asio::buffer(raw.data(), raw.size())); }

  // Reads one response; *ec (if given) receives the failure instead of failing the test.
  Response Read(bool head = false, beast::error_code* ec_out = nullptr) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    parser.skip(head);
    beast::error_code ec = asio::error::timed_out;
    bool done = false;
    http::async_read(socket_, buffer_, parser, [&](beast::error_code e, size_t) {
      ec = e;
      done = true;
    });
    RunUntil(done);
    if (ec_out != nullptr) {
      *ec_out = ec;
    } else {
      EXPECT_FALSE(ec) << ec.message();
    }
    return parser.release();
  }

  // True when the server closed the connection (EOF or reset) without sending more.
  bool ReadsEof() {
    char byte;
    beast::error_code ec = asio::error::timed_out;
    bool done = false;
    size_t got = 0;
    socket_.async_read_some(asio::buffer(&byte, 1), [&](beast::error_code e, size_t n) {
      ec = e;
      got = n;
      done = true;
    });
    RunUntil(done);
    return got == 0 && (ec == asio::error::eof || ec == asio::error::connection_reset);
  }

  void Close() {
    beast::error_code ec;
    socket_.close(ec);
  }

 private:
  void RunUntil(bool& done) {
    ioc_.restart();
    ioc_.run_for(std::chrono::seconds(3));
    if (!done) {
      socket_.cancel();
      ioc_.restart();
      ioc_.run();
    }
  }

  asio::io_context& ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

std::string Get(std::string_view target, std::string_view extra_headers = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: test\r\n{}\r\n", target, extra_headers);
}

std::string Post(std::string_view target, std::string_view body,
                 std::string_view extra_headers = "") {
  return fmt::format("POST {} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n{}\r\n{}", target,
                     body.size(), extra_headers, body);
}

// A handler that records the requests it sees and answers 200 with the request body echoed.
struct Recorder {
  std::mutex mu;
  std::vector<HttpRequest> requests;

  HttpHandler Handler() {
    return [this](HttpRequest&& request, HttpResponder respond) {
      HttpResponse response;
      response.content_type = "text/plain";
      response.body = "echo:" + request.body;
      {
        std::lock_guard<std::mutex> lock(mu);
        requests.push_back(std::move(request));
      }
      respond(std::move(response));
    };
  }

  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return requests.size();
  }

  HttpRequest last() {
    std::lock_guard<std::mutex> lock(mu);
    return requests.back();
  }
};

class HttpServerTest : public ::testing::Test {
 protected:
  std::unique_ptr<HttpServer> StartServer(HttpHandler handler,
                                          HttpServerOptions options = HttpServerOptions()) {
    options.name = "test";
    auto server = HttpServer::Start(std::move(options), std::move(handler));
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    return std::move(server).value();
  }

  std::unique_ptr<HttpServer> StartRecorder(HttpServerOptions options = HttpServerOptions()) {
    return StartServer(recorder_.Handler(), std::move(options));
  }

  asio::io_context ioc_;
  Recorder recorder_;
};

TEST_F(HttpServerTest, PostReachesHandlerWithMethodPathQueryHeadersAndBody) {
  auto server = StartServer([](HttpRequest&& request, HttpResponder respond) {
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.path, "/v1/tags/span.attributes.a b");
    EXPECT_EQ(request.query, "x=1&y=%20");
    EXPECT_EQ(request.Header("x-custom"), "Value One");
    EXPECT_EQ(request.Header("content-type"), "application/json");
    EXPECT_EQ(request.body, R"({"a":1})");
    HttpResponse response;
    response.status = 201;
    response.content_type = "text/plain";
    response.headers = {{"Retry-After", "7"}};
    response.body = "created";
    respond(std::move(response));
  });
  Client client(ioc_, server->port());
  client.Send(Post("/v1/tags/span.attributes.a%20b?x=1&y=%20", R"({"a":1})",
                   "X-Custom: Value One\r\nContent-Type: application/json\r\n"));
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 201);
  EXPECT_EQ(response[http::field::content_type], "text/plain");
  EXPECT_EQ(response[http::field::server], "teletrace");
  EXPECT_EQ(response["Retry-After"], "7");
  EXPECT_EQ(response[http::field::content_length], "7");
  EXPECT_EQ(response.body(), "created");
  EXPECT_TRUE(response.keep_alive());
}

TEST_F(HttpServerTest, GetReachesHandlerWithEmptyBody) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  client.Send(Get("/v1/ping"));
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "echo:");
  ASSERT_EQ(recorder_.count(), 1u);
  HttpRequest request = recorder_.last();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, "/v1/ping");
  EXPECT_EQ(request.query, "");
  EXPECT_EQ(request.body, "");
  EXPECT_EQ(request.Header("host"), "test");
}

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  client.Send(Post("/one", "first"));
  EXPECT_EQ(client.Read().body(), "echo:first");
  client.Send(Post("/two", "second"));
  EXPECT_EQ(client.Read().body(), "echo:second");
  EXPECT_EQ(recorder_.count(), 2u);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrderOneAtATime) {
  std::atomic<int> in_handler{0};
  std::atomic<int> max_in_handler{0};
  auto server = StartServer([&](HttpRequest&& request, HttpResponder respond) {
    int now = ++in_handler;
    max_in_handler = std::max(max_in_handler.load(), now);
    std::string path = request.path;
    // The first answers late, from another thread; the second must still come after it.
    std::thread([&, path, respond = std::move(respond)] {
      if (path == "/slow") std::this_thread::sleep_for(std::chrono::milliseconds(50));
      --in_handler;
      respond(HttpResponse{.status = 200, .content_type = "text/plain", .headers = {},
                           .body = path});
    }).detach();
  });
  Client client(ioc_, server->port());
  client.Send(Get("/slow") + Get("/fast"));
  EXPECT_EQ(client.Read().body(), "/slow");
  EXPECT_EQ(client.Read().body(), "/fast");
  EXPECT_EQ(max_in_handler.load(), 1);
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  client.Send(Get("/bye", "Connection: close\r\n"));
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_EQ(response[http::field::connection], "close");
  EXPECT_TRUE(client.ReadsEof());
}

TEST_F(HttpServerTest, Http10WithoutKeepAliveCloses) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  client.Send("GET /old HTTP/1.0\r\n\r\n");
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.version(), 10);
  EXPECT_TRUE(client.ReadsEof());
}

TEST_F(HttpServerTest, ChunkedBodyIsAssembled) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  client.Send(
      "POST /v1/traces HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_EQ(client.Read().body(), "echo:hello world");
  EXPECT_EQ(recorder_.last().body, "hello world");
}

TEST_F(HttpServerTest, GzipBodyIsInflatedAndEncodingHeaderRemoved) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  std::string plain(5000, 'x');
  client.Send(Post("/v1/traces", Gzip(plain), "Content-Encoding: gzip\r\n"));
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 200);
  HttpRequest request = recorder_.last();
  EXPECT_EQ(request.body, plain);
  EXPECT_EQ(request.Header("content-encoding"), "");
}

TEST_F(HttpServerTest, ConcatenatedGzipMembersInflateAsOneBody) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  client.Send(Post("/v1/traces", Gzip("abc") + Gzip("def"), "Content-Encoding: GZIP\r\n"));
  EXPECT_EQ(client.Read().body(), "echo:abcdef");
}

TEST_F(HttpServerTest, ChunkedGzipBodyIsInflated) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  std::string gz = Gzip("chunked and gzipped");
  client.Send(fmt::format(
      "POST /v1/traces HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
      "Content-Encoding: gzip\r\n\r\n{:x}\r\n{}\r\n0\r\n\r\n",
      gz.size(), gz));
  EXPECT_EQ(client.Read().body(), "echo:chunked and gzipped");
}

TEST_F(HttpServerTest, BadGzipIs400WithZlibMessageAndConnectionStaysUsable) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  client.Send(Post("/v1/traces", "not gzip at all", "Content-Encoding: gzip\r\n"));
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(response.body(), R"({"errorMessage":"invalid gzip body: incorrect header check"})");
  EXPECT_EQ(recorder_.count(), 0u);
  client.Send(Get("/after"));
  EXPECT_EQ(client.Read().result_int(), 200);
}

TEST_F(HttpServerTest, TruncatedGzipIs400) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  std::string gz = Gzip(std::string(3000, 'y'));
  client.Send(Post("/v1/traces", gz.substr(0, gz.size() - 6), "Content-Encoding: gzip\r\n"));
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_EQ(response.body(), R"({"errorMessage":"invalid gzip body: unexpected end of stream"})");
}

TEST_F(HttpServerTest, UnknownContentEncodingIs415) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  client.Send(Post("/v1/traces", "xxxx", "Content-Encoding: br\r\n"));
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 415);
  EXPECT_EQ(response.body(),
            R"x({"errorMessage":"unsupported Content-Encoding: br (use gzip, deflate or identity)"})x");
  EXPECT_EQ(recorder_.count(), 0u);
}

TEST_F(HttpServerTest, ContentLengthOverLimitIs413WithoutReadingBody) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartRecorder(options);
  Client client(ioc_, server->port());
  // Only the header is sent: the answer must not wait for the body.
  client.Send("POST /v1/traces HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\n\r\n");
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(response.body(), R"({"errorMessage":"request body exceeds 1024 bytes"})");
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_EQ(recorder_.count(), 0u);
  // The server is still draining the unread body from this open connection; Stop() cuts that.
  auto start = Clock::now();
  server->Stop();
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500));
}

TEST_F(HttpServerTest, BodyAtLimitIsAccepted) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartRecorder(options);
  Client client(ioc_, server->port());
  client.Send(Post("/v1/traces", std::string(1024, 'b')));
  EXPECT_EQ(client.Read().result_int(), 200);
  EXPECT_EQ(recorder_.last().body.size(), 1024u);
}

TEST_F(HttpServerTest, ChunkedBodyOverLimitIs413) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartRecorder(options);
  Client client(ioc_, server->port());
  std::string chunk(600, 'c');
  client.Send(fmt::format(
      "POST /v1/traces HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "258\r\n{}\r\n258\r\n{}\r\n0\r\n\r\n",
      chunk, chunk));
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(response.body(), R"({"errorMessage":"request body exceeds 1024 bytes"})");
  EXPECT_EQ(recorder_.count(), 0u);
}

TEST_F(HttpServerTest, InflatedBodyOverLimitIs413) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartRecorder(options);
  Client client(ioc_, server->port());
  std::string gz = Gzip(std::string(1025, 'z'));
  ASSERT_LT(gz.size(), 1024u);
  client.Send(Post("/v1/traces", gz, "Content-Encoding: gzip\r\n"));
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(response.body(),
            R"({"errorMessage":"request body exceeds 1024 bytes after decompression"})");
  EXPECT_EQ(recorder_.count(), 0u);
}

TEST_F(HttpServerTest, InflatedBodyAtLimitIsAccepted) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartRecorder(options);
  Client client(ioc_, server->port());
  client.Send(Post("/v1/traces", Gzip(std::string(1024, 'z')), "Content-Encoding: gzip\r\n"));
  EXPECT_EQ(client.Read().result_int(), 200);
  EXPECT_EQ(recorder_.last().body, std::string(1024, 'z'));
}

TEST_F(HttpServerTest, CustomErrorResponseShapesServerErrors) {
  HttpServerOptions options;
  options.error_response = [](int status, const std::string& message,
                              std::string_view request_content_type) {
    return HttpResponse{.status = status, .content_type = "text/plain", .headers = {},
                        .body = fmt::format("custom ({}): {}", request_content_type, message)};
  };
  std::vector<std::pair<int, std::string>> refusals;
  std::mutex refusals_mu;
  options.on_refusal = [&](int status, std::string_view reason) {
    std::lock_guard<std::mutex> lock(refusals_mu);
    refusals.emplace_back(status, std::string(reason));
  };
  auto server = StartRecorder(options);
  Client client(ioc_, server->port());
  client.Send(Post("/v1/traces", "nope",
                   "Content-Encoding: gzip\r\nContent-Type: application/x-protobuf\r\n"));
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_EQ(response[http::field::content_type], "text/plain");
  EXPECT_EQ(response.body(),
            "custom (application/x-protobuf): invalid gzip body: incorrect header check");
  std::lock_guard<std::mutex> lock(refusals_mu);
  EXPECT_EQ(refusals, (std::vector<std::pair<int, std::string>>{{400, "bad_encoding"}}));
}

std::string Deflate(std::string_view in, int window_bits) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// Issue 9 point 11: the Python SDK's deflate option was refused with 415 and lost every span.
TEST_F(HttpServerTest, DeflateBodiesZlibWrappedAndRawAreInflated) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  const std::string body(5000, 'd');
  client.Send(Post("/v1/traces", Deflate(body, MAX_WBITS), "Content-Encoding: deflate\r\n"));
  EXPECT_EQ(client.Read().body(), "echo:" + body);
  client.Send(Post("/v1/traces", Deflate(body, -MAX_WBITS), "Content-Encoding: Deflate\r\n"));
  EXPECT_EQ(client.Read().body(), "echo:" + body);
  EXPECT_EQ(recorder_.last().Header("content-encoding"), "");
  client.Send(Post("/v1/traces", Deflate(body, MAX_WBITS) + "junk", "Content-Encoding: deflate\r\n"));
  Response junk = client.Read();
  EXPECT_EQ(junk.result_int(), 400);
  EXPECT_EQ(junk.body(),
            R"({"errorMessage":"invalid deflate body: data after the end of the stream"})");
}

TEST_F(HttpServerTest, DeflateBombIs413) {
  HttpServerOptions options;
  options.max_body_bytes = 1 << 20;
  auto server = StartRecorder(options);
  Client client(ioc_, server->port());
  client.Send(Post("/v1/traces", Deflate(std::string(64 << 20, 0), MAX_WBITS),
                   "Content-Encoding: deflate\r\n"));
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(response.body(),
            R"({"errorMessage":"request body exceeds 1048576 bytes after decompression"})");
  EXPECT_EQ(recorder_.count(), 0u);
}

// Issue 9 point 8: "Transfer-Encoding: xchunked" was ignored and the body parsed as a second
// request (a request smuggling primitive). Every variant but a lone "chunked" is refused and the
// connection closed, and the smuggled request never reaches the handler.
TEST_F(HttpServerTest, TransferEncodingOtherThanChunkedIsRefusedAndNothingIsSmuggled) {
  auto server = StartRecorder();
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: test\r\n\r\n";
  const std::string chunk = fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", smuggled.size(), smuggled);
  struct Case {
    std::string headers;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"Transfer-Encoding: xchunked\r\n", 501,
       R"(unsupported Transfer-Encoding \"xchunked\" (only chunked))"},
      {"Transfer-Encoding: chunked, identity\r\n", 400,
       R"(Transfer-Encoding \"chunked, identity\" does not end with chunked)"},
      {"Transfer-Encoding: gzip, chunked\r\n", 501,
       R"(unsupported Transfer-Encoding \"gzip, chunked\" (only chunked))"},
      {"Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n", 501,
       R"(unsupported Transfer-Encoding \"identity, chunked\" (only chunked))"},
      // Beast itself refuses a Content-Length next to chunked; still a 400 and a close.
      {"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 400,
       "malformed HTTP request: bad Content-Length"},
      {"Content-Length: 5\r\nTransfer-Encoding: xchunked\r\n", 400,
       "malformed HTTP request: bad Transfer-Encoding"},
  };
  for (const Case& c : cases) {
    Client client(ioc_, server->port());
    client.Send("POST /v1/traces HTTP/1.1\r\nHost: test\r\n" + c.headers + "\r\n" + smuggled);
    Response response = client.Read();
    EXPECT_EQ(response.result_int(), c.status) << c.headers;
    EXPECT_EQ(response.body(), R"({"errorMessage":")" + c.message + R"("})") << c.headers;
    EXPECT_TRUE(client.ReadsEof()) << c.headers;
  }
  Client http10(ioc_, server->port());
  http10.Send("POST /v1/traces HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk);
  EXPECT_EQ(http10.Read().result_int(), 400);
  EXPECT_EQ(recorder_.count(), 0u);  // neither the outer nor the smuggled request was served
  // A lone chunked coding (any case, spaces) still works.
  Client ok(ioc_, server->port());
  ok.Send("POST /v1/traces HTTP/1.1\r\nHost: test\r\nTransfer-Encoding:  Chunked \r\n\r\n" +
          chunk);
  EXPECT_EQ(ok.Read().body(), "echo:" + smuggled);
  EXPECT_EQ(recorder_.count(), 1u);
}

// Issue 9 point 6: idle partial-header connections up to the fd limit stopped every port. Past the
// cap a connection is answered 503 and closed, and a slot frees when a connection closes.
TEST_F(HttpServerTest, ConnectionsBeyondTheCapAreRefusedWith503) {
  HttpServerOptions options;
  options.max_connections = 3;
  std::atomic<int> refused{0};
  options.on_refusal = [&](int status, std::string_view reason) {
    if (status == 503 && reason == "connections") ++refused;
  };
  auto server = StartRecorder(options);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(ioc_, server->port()));
    held.back()->Send("GET / HTTP/1.1\r\nHost: partial");  // a header that never ends
  }
  // The server registers connections asynchronously: the 4th is refused once all 3 are open.
  Response busy;
  const auto give_up = Clock::now() + std::chrono::seconds(20);  // generous: loaded CI machines
  while (Clock::now() < give_up) {
    Client extra(ioc_, server->port());
    beast::error_code ec;
    busy = extra.Read(false, &ec);
    if (!ec && busy.result_int() == 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(busy.result_int(), 503);
  EXPECT_EQ(busy.body(), "too many connections\n");
  EXPECT_EQ(busy[http::field::retry_after], "1");
  EXPECT_GE(refused.load(), 1);
  held[0]->Close();
  bool served = false;
  while (!served && Clock::now() < give_up + std::chrono::seconds(20)) {
    Client again(ioc_, server->port());
    again.Send(Get("/after"));
    beast::error_code ec;
    served = again.Read(false, &ec).result_int() == 200 && !ec;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served);
}

// A slow header (slowloris) holds its connection for header_timeout, not idle_timeout, and is
// counted as a 408 refusal.
TEST_F(HttpServerTest, SlowHeaderIsClosedAfterTheHeaderTimeout) {
  HttpServerOptions options;
  options.header_timeout = std::chrono::seconds(1);
  options.idle_timeout = std::chrono::seconds(60);
  std::atomic<int> timeouts{0};
  options.on_refusal = [&](int status, std::string_view reason) {
    if (status == 408 && reason == "header_timeout") ++timeouts;
  };
  auto server = StartRecorder(options);
  Client client(ioc_, server->port());
  client.Send("GET / HTTP/1.1\r\nHost: slow\r\n");
  auto start = Clock::now();
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(900));
  // The stream closes the socket on expiry, before the read's completion handler counts it.
  for (int i = 0; i < 200 && timeouts.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(timeouts.load(), 1);
  EXPECT_EQ(recorder_.count(), 0u);
}

// Issue 9 point 5: 100 connections each holding a partial 16 MiB body took 1.6 GiB. With a shared
// budget, a body that does not fit is refused with a retryable 429 before it is read, and the
// budget is whole again once responses are written.
TEST_F(HttpServerTest, SharedBudgetRefusesBodiesBeyondItWithRetryable429) {
  ByteBudget budget(1 << 20);
  HttpServerOptions options;
  options.budget = &budget;
  auto server = StartRecorder(options);
  std::vector<std::unique_ptr<Client>> uploads;
  for (int i = 0; i < 2; ++i) {
    uploads.push_back(std::make_unique<Client>(ioc_, server->port()));
    // Announces 400 KiB, sends 10 bytes: the lease is held while the body trickles in.
    uploads.back()->Send("POST /v1/traces HTTP/1.1\r\nHost: t\r\nContent-Length: 409600\r\n\r\n0123456789");
  }
  for (int attempt = 0; attempt < 1000 && budget.used() < 819200; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(budget.used(), 819200u);
  Client third(ioc_, server->port());
  third.Send("POST /v1/traces HTTP/1.1\r\nHost: t\r\nContent-Length: 409600\r\n\r\n0123");
  Response refused = third.Read();
  EXPECT_EQ(refused.result_int(), 429);
  EXPECT_EQ(refused[http::field::retry_after], "1");
  EXPECT_EQ(refused.body(),
            R"({"errorMessage":"the server is at its in-flight memory limit; retry later"})");
  // A chunked body reserves as it grows and is refused the same way.
  Client chunked(ioc_, server->port());
  std::string big(300 << 10, 'c');
  chunked.Send(fmt::format("POST /v1/traces HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{}\r\n",
                           big.size(), big));
  EXPECT_EQ(chunked.Read().result_int(), 429);
  uploads.clear();  // the clients go away: their leases return
  for (int attempt = 0; attempt < 1000 && budget.used() > 0; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(budget.used(), 0u);
  Client after(ioc_, server->port());
  after.Send(Post("/v1/traces", std::string(500 << 10, 'a')));
  EXPECT_EQ(after.Read().result_int(), 200);
  EXPECT_EQ(recorder_.count(), 1u);
  for (int attempt = 0; attempt < 1000 && budget.used() > 0; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST_F(HttpServerTest, DelayedResponseDoesNotBlockOtherConnections) {
  HttpServerOptions options;
  options.threads = 1;  // Even one I/O thread must serve others while a response is pending.
  std::atomic<bool> slow_answered{false};
  auto server = StartServer(
      [&slow_answered](HttpRequest&& request, HttpResponder respond) {
        HttpResponse response{.status = 200, .content_type = "text/plain", .headers = {},
                              .body = request.path};
        if (request.path == "/slow") {
          std::thread([&slow_answered, respond = std::move(respond),
                       response = std::move(response)]() mutable {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            slow_answered = true;
            respond(std::move(response));
          }).detach();
        } else {
          respond(std::move(response));
        }
      },
      options);
  Client slow(ioc_, server->port());
  Client fast(ioc_, server->port());
  auto start = Clock::now();
  slow.Send(Get("/slow"));
  std::this_thread::sleep_for(std::chrono::milliseconds(10));  // The slow one is in the handler.
  fast.Send(Get("/fast"));
  EXPECT_EQ(fast.Read().body(), "/fast");
  EXPECT_FALSE(slow_answered.load());
  EXPECT_EQ(slow.Read().body(), "/slow");
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(100));
}

TEST_F(HttpServerTest, ThousandIdleConnectionsDoNotStarveANewOne) {
  HttpServerOptions options;
  options.threads = 1;
  auto server = StartRecorder(options);
  std::vector<std::unique_ptr<tcp::socket>> idle;
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), server->port());
  for (int i = 0; i < 1000; ++i) {
    auto socket = std::make_unique<tcp::socket>(ioc_);
    socket->connect(endpoint);
    idle.push_back(std::move(socket));
  }
  // A few of the idle ones have sent half a request, which must not hold anything either.
  for (int i = 0; i < 10; ++i) {
    asio::write(*idle[i], asio::buffer(std::string_view("POST /v1/traces HTTP/1.1\r\nHost:")));
  }
  Client client(ioc_, server->port());
  client.Send(Get("/still-served"));
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(recorder_.count(), 1u);
  // And the idle ones still work.
  asio::write(*idle[500], asio::buffer(Get("/idle-500")));
  beast::flat_buffer buffer;
  Response idle_response;
  http::read(*idle[500], buffer, idle_response);
  EXPECT_EQ(idle_response.body(), "echo:");
  EXPECT_EQ(recorder_.last().path, "/idle-500");
  for (auto& socket : idle) socket->close();
}

TEST_F(HttpServerTest, StopWithIdleConnectionsReturnsPromptly) {
  auto server = StartRecorder();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 50; ++i) {
    clients.push_back(std::make_unique<Client>(ioc_, server->port()));
  }
  clients[0]->Send(Get("/warm"));
  EXPECT_EQ(clients[0]->Read().result_int(), 200);
  auto start = Clock::now();
  server->Stop();
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500));
  EXPECT_TRUE(clients[0]->ReadsEof());
  EXPECT_TRUE(clients[49]->ReadsEof());
  server->Stop();  // Idempotent.
}

TEST_F(HttpServerTest, StopLetsAnInFlightResponseFinish) {
  auto server = StartServer([](HttpRequest&&, HttpResponder respond) {
    std::thread([respond = std::move(respond)] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      respond(HttpResponse{.status = 200, .content_type = "text/plain", .headers = {},
                           .body = "late"});
    }).detach();
  });
  Client client(ioc_, server->port());
  client.Send(Get("/slow"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto start = Clock::now();
  std::thread stopper([&] { server->Stop(); });
  Response response = client.Read();
  EXPECT_EQ(response.body(), "late");
  EXPECT_FALSE(response.keep_alive());
  stopper.join();
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1000));
  EXPECT_TRUE(client.ReadsEof());
}

TEST_F(HttpServerTest, StopClosesConnectionsWhoseHandlerNeverAnswers) {
  HttpResponder kept;
  std::mutex mu;
  HttpServerOptions options;
  options.stop_grace = std::chrono::milliseconds(100);
  auto server = StartServer(
      [&](HttpRequest&&, HttpResponder respond) {
        std::lock_guard<std::mutex> lock(mu);
        kept = std::move(respond);
      },
      options);
  Client client(ioc_, server->port());
  client.Send(Get("/never"));
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (kept) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto start = Clock::now();
  server->Stop();
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(600));
  EXPECT_TRUE(client.ReadsEof());
  // Answering after the stop, and even after the server is gone, is harmless.
  server.reset();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_TRUE(kept);
  kept(HttpResponse{});
}

TEST_F(HttpServerTest, ResponseAfterClientLeftIsDropped) {
  std::atomic<bool> answered{false};
  auto server = StartServer([&](HttpRequest&& request, HttpResponder respond) {
    if (request.path != "/slow") {
      respond(HttpResponse{.status = 200, .content_type = "text/plain", .headers = {},
                           .body = "ok"});
      return;
    }
    std::thread([&answered, respond = std::move(respond)] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      respond(HttpResponse{});
      answered = true;
    }).detach();
  });
  {
    Client client(ioc_, server->port());
    client.Send(Get("/slow"));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    client.Close();
  }
  for (int i = 0; i < 100 && !answered; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(answered);
  Client client(ioc_, server->port());
  client.Send(Get("/after"));
  EXPECT_EQ(client.Read().body(), "ok");
}

// A handler that answers only once its request is cancelled (or after 10 s), telling whether it was.
struct CancelWatcher {
  std::atomic<int> outcome{0};  // 0 running, 1 saw the cancellation, 2 answered uncancelled

  HttpHandler Handler(std::chrono::milliseconds answer_after) {
    return [this, answer_after](HttpRequest&& request, HttpResponder respond) {
      std::thread([this, answer_after, cancelled = request.cancelled,
                   respond = std::move(respond)] {
        const auto deadline = std::chrono::steady_clock::now() + answer_after;
        while (std::chrono::steady_clock::now() < deadline) {
          if (cancelled && cancelled->load()) {
            outcome = 1;
            respond(HttpResponse{});
            return;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        outcome = 2;
        respond(HttpResponse{.status = 200, .content_type = "text/plain", .headers = {},
                             .body = "done"});
      }).detach();
    };
  }

  int Wait() {
    for (int i = 0; i < 6000 && outcome == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return outcome;
  }
};

TEST_F(HttpServerTest, AClientHangingUpCancelsItsRequest) {
  CancelWatcher watcher;
  auto server = StartServer(watcher.Handler(std::chrono::seconds(10)));
  {
    Client client(ioc_, server->port());
    client.Send(Get("/slow"));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    client.Close();
  }
  EXPECT_EQ(watcher.Wait(), 1);
}

TEST_F(HttpServerTest, AClientWaitingForItsAnswerIsNotCancelled) {
  CancelWatcher watcher;
  auto server = StartServer(watcher.Handler(std::chrono::milliseconds(100)));
  Client client(ioc_, server->port());
  client.Send(Get("/slow"));
  EXPECT_EQ(client.Read().body(), "done");
  EXPECT_EQ(watcher.outcome, 2);
  // And the connection still serves the next request.
  CancelWatcher second;
  auto another = StartServer(second.Handler(std::chrono::milliseconds(10)));
  Client again(ioc_, another->port());
  again.Send(Get("/a"));
  EXPECT_EQ(again.Read().body(), "done");
  again.Send(Get("/b"));
  EXPECT_EQ(again.Read().body(), "done");
}

TEST_F(HttpServerTest, APipelinedRequestDoesNotCancelTheOneBeingHandled) {
  CancelWatcher watcher;
  auto server = StartServer(watcher.Handler(std::chrono::milliseconds(100)));
  Client client(ioc_, server->port());
  client.Send(Get("/first") + Get("/second"));
  EXPECT_EQ(client.Read().body(), "done");
  EXPECT_EQ(watcher.outcome, 2);
}

TEST_F(HttpServerTest, SecondResponderCallIsIgnored) {
  auto server = StartServer([](HttpRequest&& request, HttpResponder respond) {
    respond(HttpResponse{.status = 200, .content_type = "text/plain", .headers = {},
                         .body = "first:" + request.path});
    respond(HttpResponse{.status = 500, .content_type = "text/plain", .headers = {},
                         .body = "second"});
  });
  Client client(ioc_, server->port());
  client.Send(Get("/a"));
  EXPECT_EQ(client.Read().body(), "first:/a");
  client.Send(Get("/b"));
  EXPECT_EQ(client.Read().body(), "first:/b");
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndServerKeepsServing) {
  auto server = StartServer([](HttpRequest&& request, HttpResponder respond) {
    if (request.path == "/throw") throw std::runtime_error("boom");
    respond(HttpResponse{.status = 200, .content_type = "text/plain", .headers = {},
                         .body = "fine"});
  });
  Client client(ioc_, server->port());
  client.Send(Get("/throw"));
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 500);
  EXPECT_EQ(response.body(), R"({"errorMessage":"internal server error"})");
  client.Send(Get("/ok"));
  EXPECT_EQ(client.Read().body(), "fine");
}

TEST_F(HttpServerTest, InvalidStatusFromHandlerBecomes500) {
  auto server = StartServer([](HttpRequest&&, HttpResponder respond) {
    respond(HttpResponse{.status = 42, .content_type = "text/plain", .headers = {}, .body = ""});
  });
  Client client(ioc_, server->port());
  client.Send(Get("/"));
  EXPECT_EQ(client.Read().result_int(), 500);
}

TEST_F(HttpServerTest, LargeResponseIsGzippedWhenClientAcceptsGzip) {
  std::string big;
  for (int i = 0; i < 500; ++i) big += fmt::format(R"({{"spanId":"{:016x}"}},)", i);
  auto server = StartServer([&](HttpRequest&&, HttpResponder respond) {
    respond(HttpResponse{.status = 200, .content_type = "application/json", .headers = {},
                         .body = big});
  });
  Client client(ioc_, server->port());
  client.Send(Get("/v1/trace/ab", "Accept-Encoding: deflate, gzip;q=0.8\r\n"));
  Response gzipped = client.Read();
  EXPECT_EQ(gzipped[http::field::content_encoding], "gzip");
  EXPECT_EQ(gzipped[http::field::vary], "Accept-Encoding");
  EXPECT_LT(gzipped.body().size(), big.size() / 4);
  EXPECT_EQ(gzipped[http::field::content_length], std::to_string(gzipped.body().size()));
  EXPECT_EQ(Gunzip(gzipped.body()), big);

  client.Send(Get("/v1/trace/ab"));
  Response plain = client.Read();
  EXPECT_EQ(plain[http::field::content_encoding], "");
  EXPECT_EQ(plain.body(), big);

  client.Send(Get("/v1/trace/ab", "Accept-Encoding: gzip;q=0\r\n"));
  EXPECT_EQ(client.Read()[http::field::content_encoding], "");
}

TEST_F(HttpServerTest, SmallResponseIsNotGzipped) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  client.Send(Get("/small", "Accept-Encoding: gzip\r\n"));
  Response response = client.Read();
  EXPECT_EQ(response[http::field::content_encoding], "");
  EXPECT_EQ(response.body(), "echo:");
}

TEST_F(HttpServerTest, HeadIsServedAsGetWithoutBody) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  client.Send("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  Response response = client.Read(/*head=*/true);
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_length], "5");
  EXPECT_EQ(response.body(), "");
  EXPECT_EQ(recorder_.last().method, "GET");
  client.Send(Get("/next"));
  EXPECT_EQ(client.Read().body(), "echo:");
}

TEST_F(HttpServerTest, Expect100ContinueGetsInterimResponse) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  client.Send(
      "POST /v1/traces HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  Response interim = client.Read();
  EXPECT_EQ(interim.result_int(), 100);
  client.Send("data");
  EXPECT_EQ(client.Read().body(), "echo:data");
}

TEST_F(HttpServerTest, MalformedRequestIs400AndCloses) {
  auto server = StartRecorder();
  Client client(ioc_, server->port());
  client.Send("GET / HTTP/1.1\r\nBad Header Line\r\n\r\n");
  Response response = client.Read();
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_EQ(recorder_.count(), 0u);
}

TEST_F(HttpServerTest, IdleConnectionIsClosedAfterIdleTimeout) {
  HttpServerOptions options;
  options.idle_timeout = std::chrono::seconds(1);
  auto server = StartRecorder(options);
  Client client(ioc_, server->port());
  auto start = Clock::now();
  EXPECT_TRUE(client.ReadsEof());
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(900));
}

TEST_F(HttpServerTest, PortInUseIsUnavailableNamingTheAddress) {
  auto first = StartRecorder();
  HttpServerOptions options;
  options.port = first->port();
  auto second = HttpServer::Start(options, recorder_.Handler());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second.status().message(),
            fmt::format("listen on 127.0.0.1:{}: address already in use", first->port()));
}

TEST_F(HttpServerTest, UnresolvableHostIsInvalidArgument) {
  HttpServerOptions options;
  options.host = "no-such-host.invalid";
  options.port = 4318;
  auto server = HttpServer::Start(options, recorder_.Handler());
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  std::string message(server.status().message());
  EXPECT_TRUE(message.starts_with("listen on no-such-host.invalid:4318: resolve: ")) << message;
}

// Inflates a whole gzip member of any size; fails the test unless `in` is exactly one member.
std::string InflateOneMember(std::string_view in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  int ret = Z_OK;
  while (ret == Z_OK) {
    char buf[1 << 16];
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    ret = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
  }
  EXPECT_EQ(ret, Z_STREAM_END);
  EXPECT_EQ(zs.avail_in, 0u);
  inflateEnd(&zs);
  return out;
}

// Span-JSON-like text of at least `bytes` bytes: repetitive structure, varying ids and numbers.
std::string JsonLikeBody(size_t bytes) {
  std::string body;
  uint64_t x = 88172645463325252ULL;
  for (uint64_t i = 0; body.size() < bytes; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    body += fmt::format("{{\"spanId\":\"{:016x}\",\"name\":\"GET /api/{}\",\"n\":{}}},\n", x,
                        i % 50, i);
  }
  body.resize(bytes);
  return body;
}

TEST(GzipBodyTest, LargeBodiesAreOneMemberThatInflatesExactly) {
  // 4 MiB pieces: several full ones and a short last one; exactly two full ones; below the
  // parallel threshold.
  for (size_t size : {size_t{19 << 20} + 123, size_t{8 << 20}, size_t{3 << 20}}) {
    SCOPED_TRACE(size);
    std::string body = JsonLikeBody(size);
    std::optional<std::string> gz = GzipBody(body);
    ASSERT_TRUE(gz.has_value());
    EXPECT_EQ(InflateOneMember(*gz), body);
  }
}

TEST(GzipBodyTest, PiecesCompressAlmostAsWellAsOneStream) {
  std::string body = JsonLikeBody(size_t{16} << 20);
  std::optional<std::string> pieces = GzipBody(body);
  ASSERT_TRUE(pieces.has_value());
  z_stream zs{};
  ASSERT_EQ(deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  uLong one_stream_bound = deflateBound(&zs, body.size());
  std::string one_stream(one_stream_bound, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(body.data());
  zs.avail_in = static_cast<uInt>(body.size());
  zs.next_out = reinterpret_cast<Bytef*>(one_stream.data());
  zs.avail_out = static_cast<uInt>(one_stream.size());
  ASSERT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  one_stream.resize(zs.total_out);
  deflateEnd(&zs);
  // Each piece starts from the previous one's window, so cutting costs well under 1%.
  EXPECT_LT(pieces->size(), one_stream.size() + one_stream.size() / 100);
}

}  // namespace
}  // namespace teletrace

namespace teletrace {
namespace {

// A self-signed certificate for CN=`name`, made by the openssl CLI in a temporary directory that
// goes away with it.
struct TestCertificate {
  explicit TestCertificate(const std::string& name)
      : dir(fmt::format("{}/teletrace-tls-{}-{}", ::testing::TempDir(), ::getpid(), name)),
        cert_file(dir + "/cert.pem"),
        key_file(dir + "/key.pem") {
    std::filesystem::create_directories(dir);
    const std::string command = fmt::format(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN={} -keyout {} -out {} "
        ">/dev/null 2>&1",
        name, key_file, cert_file);
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
  }
  ~TestCertificate() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  TestCertificate(const TestCertificate&) = delete;
  TestCertificate& operator=(const TestCertificate&) = delete;

  const std::string dir;
  const std::string cert_file;
  const std::string key_file;
};

// One HTTPS GET; returns the response body and the server certificate's CN in *common_name.
std::string TlsGet(uint16_t port, std::string* common_name) {
  asio::io_context ioc;
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.set_verify_mode(asio::ssl::verify_none);  // self-signed; the CN is checked instead
  beast::ssl_stream<beast::tcp_stream> stream(ioc, context);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  beast::get_lowest_layer(stream).connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  stream.handshake(asio::ssl::stream_base::client);
  X509* peer = SSL_get_peer_certificate(stream.native_handle());
  if (peer != nullptr) {
    char cn[256] = {0};
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn));
    *common_name = cn;
    X509_free(peer);
  }
  http::request<http::empty_body> request(http::verb::get, "/tls", 11);
  request.set(http::field::host, "localhost");
  http::write(stream, request);
  beast::flat_buffer buffer;
  Response response;
  http::read(stream, buffer, response);
  return response.body();
}

TEST(HttpServerTlsTest, ServesHttpsAndReloadsTheCertificate) {
  TestCertificate first("first.teletrace.test");
  HttpServerOptions options;
  options.name = "tls-test";
  options.tls_cert_file = first.cert_file;
  options.tls_key_file = first.key_file;
  auto server = HttpServer::Start(options, [](HttpRequest&& request, HttpResponder respond) {
    respond(HttpResponse{.status = 200, .content_type = "text/plain", .headers = {},
                         .body = "secure " + request.path});
  });
  ASSERT_TRUE(server.ok()) << server.status();
  std::string cn;
  EXPECT_EQ(TlsGet((*server)->port(), &cn), "secure /tls");
  EXPECT_EQ(cn, "first.teletrace.test");

  // A plain-HTTP client gets no answer it could mistake for HTTP, and the server keeps serving.
  {
    asio::io_context ioc;
    Client plain(ioc, (*server)->port());
    plain.Send(Get("/plain"));
    beast::error_code ec;
    plain.Read(false, &ec);
    EXPECT_TRUE(ec);
  }

  TestCertificate second("second.teletrace.test");
  std::filesystem::copy_file(second.cert_file, first.cert_file,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(second.key_file, first.key_file,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE((*server)->ReloadTls().ok());
  EXPECT_EQ(TlsGet((*server)->port(), &cn), "secure /tls");
  EXPECT_EQ(cn, "second.teletrace.test");

  // A broken file keeps the previous certificate and names the file.
  std::ofstream(first.key_file) << "not a key";
  absl::Status broken = (*server)->ReloadTls();
  EXPECT_EQ(broken.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(broken.message().find("TLS key file " + first.key_file), std::string::npos)
      << broken.message();
  EXPECT_EQ(TlsGet((*server)->port(), &cn), "secure /tls");
  EXPECT_EQ(cn, "second.teletrace.test");
}

TEST(HttpServerTlsTest, MissingCertificateFileIsInvalidArgumentNamingIt) {
  HttpServerOptions options;
  options.tls_cert_file = "/nonexistent/teletrace-cert.pem";
  options.tls_key_file = "/nonexistent/teletrace-key.pem";
  auto server = HttpServer::Start(options, [](HttpRequest&&, HttpResponder) {});
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.status().message().substr(0, 50),
            "TLS certificate file /nonexistent/teletrace-cert.p");
  options.tls_key_file = "";
  EXPECT_EQ(HttpServer::Start(options, [](HttpRequest&&, HttpResponder) {}).status(),
            absl::InvalidArgumentError("http: TLS needs both a certificate file and a key file"));
}

}  // namespace
}  // namespace teletrace
