#include "server/request_guard.h"

#include "common/golden_test_util.h"
#include "gtest/gtest.h"

namespace teletrace::server {
namespace {

using Area = RequestGuard::Area;

HttpRequest Request(std::string method, std::vector<std::pair<std::string, std::string>> headers) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = "/v1/search";
  r.headers = std::move(headers);
  return r;
}

std::string Header(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

// A refusal's body, byte for byte, against tests/fixtures/request_guard/`name`: the shape every
// API on the UI/API port answers a refused request with (validated by docs/openapi/*.yaml).
void ExpectGolden(const std::string& name, const std::string& body) {
  golden::ExpectJson("request_guard/" + name, body);
}

RequestGuard LoopbackGuard(std::string token = "") {
  return RequestGuard({.api_token = std::move(token),
                       .allowed_hosts = RequestGuard::DefaultAllowedHosts("127.0.0.1")});
}

TEST(RequestGuardTest, DnsRebindingIsRefusedOnLoopback) {
  RequestGuard guard = LoopbackGuard();
  EXPECT_EQ(guard.Check(Request("GET", {{"host", "127.0.0.1:8080"}}), Area::kApi), std::nullopt);
  EXPECT_EQ(guard.Check(Request("GET", {{"host", "LocalHost:8080"}}), Area::kUi), std::nullopt);
  EXPECT_EQ(guard.Check(Request("GET", {{"host", "[::1]:8080"}}), Area::kApi), std::nullopt);
  auto refused = guard.Check(Request("GET", {{"host", "attacker.example:8080"}}), Area::kUi);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(refused->body,
            R"x({"errorMessage":"host \"attacker.example\" is not allowed (server.allowed_hosts)"})x");
  auto no_host = guard.Check(Request("GET", {}), Area::kApi);
  ASSERT_TRUE(no_host.has_value());
  EXPECT_EQ(no_host->status, 400);
  // Probes keep working whatever the host.
  EXPECT_EQ(guard.Check(Request("GET", {{"host", "10.1.2.3"}}), Area::kHealth), std::nullopt);
}

TEST(RequestGuardTest, AllInterfacesAllowAnyHostButStillRefuseCrossOrigin) {
  EXPECT_TRUE(RequestGuard::DefaultAllowedHosts("0.0.0.0").empty());
  EXPECT_EQ(RequestGuard::DefaultAllowedHosts("127.0.0.2"),
            (std::vector<std::string>{"localhost", "127.0.0.1", "[::1]", "127.0.0.2"}));
  RequestGuard guard({});
  EXPECT_EQ(guard.Check(Request("POST", {{"host", "traces.corp:8080"},
                                         {"origin", "http://traces.corp:8080"},
                                         {"content-type", "application/json; charset=utf-8"}}),
                        Area::kApi),
            std::nullopt);
  auto csrf = guard.Check(Request("POST", {{"host", "traces.corp:8080"},
                                           {"origin", "https://evil.example"},
                                           {"content-type", "application/json"}}),
                          Area::kApi);
  ASSERT_TRUE(csrf.has_value());
  EXPECT_EQ(csrf->status, 403);
  EXPECT_EQ(csrf->body,
            R"({"errorMessage":"cross-origin request refused: Origin does not match Host"})");
}

TEST(RequestGuardTest, PostBodiesMustBeJson) {
  RequestGuard guard = LoopbackGuard();
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded",
                           "multipart/form-data; boundary=x"}) {
    auto refused =
        guard.Check(Request("POST", {{"host", "localhost"}, {"content-type", type}}), Area::kApi);
    ASSERT_TRUE(refused.has_value()) << type;
    EXPECT_EQ(refused->status, 415) << type;
  }
  auto plain =
      guard.Check(Request("POST", {{"host", "localhost"}, {"content-type", "Text/Plain"}}),
                  Area::kApi);
  EXPECT_EQ(plain->body,
            R"({"errorMessage":"Content-Type must be application/json, got \"text/plain\""})");
  EXPECT_EQ(guard.Check(Request("POST", {{"host", "localhost"}}), Area::kApi), std::nullopt);
}

TEST(RequestGuardTest, BearerTokenGuardsTheApiButNotTheUiFiles) {
  RequestGuard guard = LoopbackGuard("s3cret-token");
  auto missing = guard.Check(Request("GET", {{"host", "localhost"}}), Area::kApi);
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(Header(*missing, "WWW-Authenticate"), "Bearer realm=\"teletrace\"");
  EXPECT_EQ(missing->body, R"({"errorMessage":"missing or invalid bearer token"})");
  ExpectGolden("refusal_401.json", missing->body);
  for (const char* wrong : {"Bearer s3cret-toke", "Bearer s3cret-token2", "Basic s3cret-token",
                            "s3cret-token", "Bearer "}) {
    auto refused =
        guard.Check(Request("GET", {{"host", "localhost"}, {"authorization", wrong}}), Area::kApi);
    ASSERT_TRUE(refused.has_value()) << wrong;
    EXPECT_EQ(refused->status, 401) << wrong;
  }
  EXPECT_EQ(guard.Check(Request("GET", {{"host", "localhost"},
                                        {"authorization", "bearer s3cret-token"}}),
                        Area::kApi),
            std::nullopt);
  EXPECT_EQ(guard.Check(Request("GET", {{"host", "localhost"}}), Area::kUi), std::nullopt);
}

TEST(RequestGuardTest, Helpers) {
  EXPECT_EQ(HostWithoutPort("Example.COM:80"), "example.com");
  EXPECT_EQ(HostWithoutPort("[::1]:8080"), "[::1]");
  EXPECT_EQ(HostWithoutPort("localhost"), "localhost");
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

}  // namespace
}  // namespace teletrace::server
