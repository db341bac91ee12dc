#include "server/api_families.h"

#include "gtest/gtest.h"

namespace teletrace::server {
namespace {

ApiFamily Of(std::string path, std::string accept = "") {
  HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  if (!accept.empty()) r.headers.emplace_back("accept", std::move(accept));
  return ApiFamilyOf(r);
}

TEST(ApiFamiliesTest, EachPathGoesToItsApi) {
  EXPECT_EQ(Of("/v1"), ApiFamily::kV1);
  EXPECT_EQ(Of("/v1/search"), ApiFamily::kV1);
  EXPECT_EQ(Of("/v1x"), ApiFamily::kNone);
  EXPECT_EQ(Of("/"), ApiFamily::kNone);
  EXPECT_EQ(Of("/assets/index.js"), ApiFamily::kNone);
  EXPECT_EQ(Of("/apix"), ApiFamily::kNone);

  EXPECT_EQ(Of("/api/services"), ApiFamily::kJaeger);
  EXPECT_EQ(Of("/api/traces"), ApiFamily::kJaeger);
  EXPECT_EQ(Of("/api/traces/abc"), ApiFamily::kJaeger);
  EXPECT_EQ(Of("/api/traces/abc", "application/json"), ApiFamily::kJaeger);
  EXPECT_EQ(Of("/api/dependencies"), ApiFamily::kJaeger);
  EXPECT_EQ(Of("/api/unknown"), ApiFamily::kJaeger);

  EXPECT_EQ(Of("/api/traces/abc", "application/protobuf"), ApiFamily::kTempo);
  EXPECT_EQ(Of("/api/v2/traces/abc"), ApiFamily::kTempo);
  EXPECT_EQ(Of("/api/search"), ApiFamily::kTempo);
  EXPECT_EQ(Of("/api/search/tags"), ApiFamily::kTempo);
  EXPECT_EQ(Of("/api/search/tag/service.name/values"), ApiFamily::kTempo);
  EXPECT_EQ(Of("/api/v2/search/tags"), ApiFamily::kTempo);
  EXPECT_EQ(Of("/api/echo"), ApiFamily::kTempo);
  EXPECT_EQ(Of("/api/status/buildinfo"), ApiFamily::kTempo);
  EXPECT_EQ(Of("/ready"), ApiFamily::kTempo);
  EXPECT_EQ(Of("/api/searchx"), ApiFamily::kJaeger);

  EXPECT_EQ(Of("/api/v2/spans"), ApiFamily::kZipkin);
  EXPECT_EQ(Of("/api/v2/spans/"), ApiFamily::kZipkin);
  EXPECT_EQ(Of("/api/v2/services"), ApiFamily::kZipkin);
  EXPECT_EQ(Of("/api/v2/remoteServices"), ApiFamily::kZipkin);
  EXPECT_EQ(Of("/api/v2/traces"), ApiFamily::kZipkin);
  EXPECT_EQ(Of("/api/v2/trace/abc"), ApiFamily::kZipkin);
  EXPECT_EQ(Of("/api/v2/dependencies"), ApiFamily::kZipkin);
  EXPECT_EQ(Of("/api/v2/autocompleteKeys"), ApiFamily::kZipkin);
}

}  // namespace
}  // namespace teletrace::server
