#include "api/zipkin/zipkin_query_params.h"

#include "gtest/gtest.h"

namespace teletrace::api::zipkin {
namespace {

constexpr uint64_t kNow = 1'700'000'000'000'000'000;

TEST(ZipkinQueryParamsTest, AnnotationQueryTerms) {
  absl::StatusOr<std::vector<AnnotationTerm>> terms =
      ParseAnnotationQuery("http.path=/api and error and  retry=a=b and ");
  ASSERT_TRUE(terms.ok()) << terms.status();
  EXPECT_EQ(*terms, (std::vector<AnnotationTerm>{
                        {"http.path", "/api"}, {"error", std::nullopt}, {"retry", "a=b"}}));
  EXPECT_EQ(ParseAnnotationQuery("").value(), std::vector<AnnotationTerm>{});
  EXPECT_EQ(ParseAnnotationQuery("=x").status(),
            absl::InvalidArgumentError("annotationQuery: term \"=x\" has no key"));
}

TEST(ZipkinQueryParamsTest, TraceIds) {
  EXPECT_EQ(ToHex(*ParseZipkinTraceId("5AF7183FB1D4CF5F")), "00000000000000005af7183fb1d4cf5f");
  EXPECT_EQ(ToHex(*ParseZipkinTraceId("4bf92f3577b34da6a3ce929d0e0e4736")),
            "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ParseZipkinTraceId("abc").status(),
            absl::InvalidArgumentError("traceId should be 16 or 32 hex characters: \"abc\""));
  EXPECT_EQ(ParseZipkinTraceId("5af7183fb1d4cf5g").status(),
            absl::InvalidArgumentError(
                "traceId should be 16 or 32 hex characters: \"5af7183fb1d4cf5g\""));
}

TEST(ZipkinQueryParamsTest, TraceSearchDefaults) {
  absl::StatusOr<TraceSearchParams> p = ParseTraceSearchParams({{"spanName", "all"}}, kNow, 1000);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->span_name, "");
  EXPECT_EQ(p->limit, 10u);
  EXPECT_EQ(p->end_unix_nano, kNow);
  EXPECT_EQ(p->start_unix_nano, kNow - 86'400'000'000'000);
  EXPECT_EQ(p->min_duration_nano, 0u);
  EXPECT_EQ(p->max_duration_nano, std::nullopt);
}

TEST(ZipkinQueryParamsTest, TraceSearchEveryParameter) {
  absl::StatusOr<TraceSearchParams> p = ParseTraceSearchParams(
      {{"serviceName", "frontend"},
       {"spanName", "get"},
       {"remoteServiceName", "backend"},
       {"annotationQuery", "error"},
       {"minDuration", "100"},
       {"maxDuration", "2000"},
       {"endTs", "1700000000000"},
       {"lookback", "60000"},
       {"limit", "5000"}},
      kNow, 1000);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->service_name, "frontend");
  EXPECT_EQ(p->span_name, "get");
  EXPECT_EQ(p->remote_service_name, "backend");
  EXPECT_EQ(p->annotation_query, (std::vector<AnnotationTerm>{{"error", std::nullopt}}));
  EXPECT_EQ(p->min_duration_nano, 100'000u);
  EXPECT_EQ(p->max_duration_nano, 2'000'000u);
  EXPECT_EQ(p->end_unix_nano, 1'700'000'000'000'000'000u);
  EXPECT_EQ(p->start_unix_nano, 1'700'000'000'000'000'000u - 60'000'000'000u);
  EXPECT_EQ(p->limit, 1000u);
}

TEST(ZipkinQueryParamsTest, TraceSearchErrorsNameTheParameter) {
  struct Case {
    QueryParams params;
    std::string message;
  } cases[] = {
      {{{"limit", "0"}}, "limit should be positive: 0"},
      {{{"limit", "ten"}}, "limit should be an integer (traces): \"ten\""},
      {{{"endTs", "-5"}}, "endTs should be positive: -5"},
      {{{"lookback", "1.5"}}, "lookback should be an integer (ms): \"1.5\""},
      {{{"maxDuration", "10"}}, "maxDuration is only valid with minDuration"},
      {{{"minDuration", "10"}, {"maxDuration", "5"}}, "maxDuration should be >= minDuration"},
      {{{"endTs", "9223372036854775807"}}, "endTs is out of range: 9223372036854775807"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ParseTraceSearchParams(c.params, kNow, 1000).status(),
              absl::InvalidArgumentError(c.message))
        << c.message;
  }
}

TEST(ZipkinQueryParamsTest, Dependencies) {
  EXPECT_EQ(ParseDependencyParams({}).status(), absl::InvalidArgumentError("endTs is required"));
  absl::StatusOr<DependencyParams> p =
      ParseDependencyParams({{"endTs", "1700000000000"}, {"lookback", "1000"}});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->end_unix_nano, 1'700'000'000'000'000'000u);
  EXPECT_EQ(p->start_unix_nano, 1'699'999'999'000'000'000u);
}

}  // namespace
}  // namespace teletrace::api::zipkin
