#include "api/jaeger/jaeger_query_params.h"

#include "gtest/gtest.h"

namespace teletrace::api::jaeger {
namespace {

using Tags = std::vector<std::pair<std::string, std::string>>;

TEST(ParseGoDurationTest, AcceptsGoSyntax) {
  EXPECT_EQ(*ParseGoDuration("0", "d"), 0u);
  EXPECT_EQ(*ParseGoDuration("1s", "d"), 1'000'000'000u);
  EXPECT_EQ(*ParseGoDuration("1.5s", "d"), 1'500'000'000u);
  EXPECT_EQ(*ParseGoDuration("300ms", "d"), 300'000'000u);
  EXPECT_EQ(*ParseGoDuration("10us", "d"), 10'000u);
  EXPECT_EQ(*ParseGoDuration("10\xC2\xB5s", "d"), 10'000u);
  EXPECT_EQ(*ParseGoDuration("10\xCE\xBCs", "d"), 10'000u);
  EXPECT_EQ(*ParseGoDuration("7ns", "d"), 7u);
  EXPECT_EQ(*ParseGoDuration("2h45m", "d"), (2 * 3600 + 45 * 60) * 1'000'000'000ull);
  EXPECT_EQ(*ParseGoDuration("1m30.5s", "d"), 90'500'000'000u);
  EXPECT_EQ(*ParseGoDuration(".5ms", "d"), 500'000u);
  EXPECT_EQ(*ParseGoDuration("1.ms", "d"), 1'000'000u);
  EXPECT_EQ(*ParseGoDuration("+2s", "d"), 2'000'000'000u);
  EXPECT_EQ(*ParseGoDuration("0.0000000015s", "d"), 1u);  // truncated to whole nanoseconds
  EXPECT_EQ(*ParseGoDuration("9223372036854775807ns", "d"), 9223372036854775807u);
}

TEST(ParseGoDurationTest, RefusesWithTheParameterNamed) {
  for (const char* bad : {"", "1", "s", "1x", "-1s", "1.s.", ".s", "1e3s", "9223372036854775808ns",
                          "3000000h", "1s 2s", "abc"}) {
    absl::StatusOr<uint64_t> d = ParseGoDuration(bad, "minDuration");
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(d.status().message().find("'minDuration'"), std::string_view::npos) << d.status();
  }
}

TEST(ParseTagsTest, ReadsTagJsonAndLogfmt) {
  EXPECT_EQ(*ParseTags({"http.status_code:500", "url:http://x:80/a"}, {}),
            (Tags{{"http.status_code", "500"}, {"url", "http://x:80/a"}}));
  EXPECT_EQ(*ParseTags({}, {R"({"error":"true","b":"x y"})"}),
            (Tags{{"b", "x y"}, {"error", "true"}}));
  EXPECT_EQ(*ParseTags({}, {R"(error=true  msg="a \"quoted\" = b" empty=)"}),
            (Tags{{"empty", ""}, {"error", "true"}, {"msg", "a \"quoted\" = b"}}));
  // Later ones win, as in Jaeger.
  EXPECT_EQ(*ParseTags({"k:1"}, {R"({"k":"2"})"}), (Tags{{"k", "2"}}));
  EXPECT_EQ(*ParseTags({}, {"", "  "}), Tags{});
}

TEST(ParseTagsTest, RefusesMalformedTags) {
  auto message = [](const std::vector<std::string>& tag, const std::vector<std::string>& tags) {
    absl::StatusOr<Tags> t = ParseTags(tag, tags);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(t.status().message());
  };
  EXPECT_EQ(message({"novalue"}, {}),
            "malformed 'tag' parameter, expecting key:value, received: novalue");
  EXPECT_EQ(message({}, {R"({"a":1})"}),
            "malformed 'tags' parameter: the value of \"a\" is not a string");
  EXPECT_EQ(message({}, {R"({"a":)"}),
            "malformed 'tags' parameter: expected a JSON object of strings");
  EXPECT_EQ(message({}, {"a b=c"}), "malformed 'tags' parameter: expected key=value, got \"a\"");
  EXPECT_EQ(message({}, {"a=\"open"}),
            "malformed 'tags' parameter: unterminated quote in the value of \"a\"");
}

TEST(TraceIdTest, PadsShortIdsAndRendersLikeJaeger) {
  TraceId id = *ParseJaegerTraceId("abc");
  EXPECT_EQ(ToHex(id), "00000000000000000000000000000abc");
  EXPECT_EQ(JaegerTraceIdHex(id), "0000000000000abc");
  TraceId full = *ParseJaegerTraceId("0102030405060708090A0B0C0D0E0F10");
  EXPECT_EQ(JaegerTraceIdHex(full), "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(ParseJaegerTraceId("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseJaegerTraceId("xyz").status().message(),
            "malformed trace id \"xyz\": expected 1 to 32 hex digits");
  EXPECT_EQ(ParseJaegerTraceId(std::string(33, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

constexpr uint64_t kNow = 1'700'000'000'000'000'000;

TEST(ParseTraceSearchParamsTest, DefaultsAreJaegers) {
  TraceSearchParams p = *ParseTraceSearchParams({{"service", "svc"}}, kNow, 1000);
  EXPECT_EQ(p.service, "svc");
  EXPECT_EQ(p.end_unix_nano, kNow);
  EXPECT_EQ(p.start_unix_nano, kNow - 2ull * 24 * 3600 * 1'000'000'000);
  EXPECT_EQ(p.limit, 100u);
  EXPECT_EQ(p.min_duration_nano, 0u);
  EXPECT_FALSE(p.max_duration_nano.has_value());
}

TEST(ParseTraceSearchParamsTest, ReadsEveryParameter) {
  TraceSearchParams p = *ParseTraceSearchParams({{"service", "svc"},
                                                 {"operation", "GET /"},
                                                 {"start", "1600000000000000"},
                                                 {"end", "1600000001000000"},
                                                 {"limit", "20"},
                                                 {"lookback", "1h"},
                                                 {"minDuration", "1ms"},
                                                 {"maxDuration", "1.5s"},
                                                 {"tag", "a:b"},
                                                 {"tags", R"({"c":"d"})"}},
                                                kNow, 1000);
  EXPECT_EQ(p.operation, "GET /");
  EXPECT_EQ(p.start_unix_nano, 1'600'000'000'000'000'000u);
  EXPECT_EQ(p.end_unix_nano, 1'600'000'001'000'000'000u);
  EXPECT_EQ(p.limit, 20u);
  EXPECT_EQ(p.min_duration_nano, 1'000'000u);
  EXPECT_EQ(*p.max_duration_nano, 1'500'000'000u);
  EXPECT_EQ(p.tags, (Tags{{"a", "b"}, {"c", "d"}}));
  EXPECT_EQ(ParseTraceSearchParams({{"service", "s"}, {"limit", "5000"}}, kNow, 1000)->limit,
            1000u);
  // traceID= replaces the service requirement.
  TraceSearchParams ids =
      *ParseTraceSearchParams({{"traceID", "ab"}, {"traceID", "cd"}}, kNow, 1000);
  ASSERT_EQ(ids.trace_ids.size(), 2u);
  EXPECT_EQ(JaegerTraceIdHex(ids.trace_ids[1]), "00000000000000cd");
}

TEST(ParseTraceSearchParamsTest, RefusesWithJaegersMessages) {
  auto message = [](std::vector<std::pair<std::string, std::string>> params) {
    absl::StatusOr<TraceSearchParams> p = ParseTraceSearchParams(params, kNow, 1000);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(p.status().message());
  };
  EXPECT_EQ(message({}), "parameter 'service' is required");
  EXPECT_EQ(message({{"service", "s"}, {"minDuration", "2s"}, {"maxDuration", "1s"}}),
            "'maxDuration' should be greater than 'minDuration'");
  EXPECT_EQ(message({{"service", "s"}, {"limit", "x"}}),
            "unable to parse param 'limit': expected a non-negative integer, got \"x\"");
  EXPECT_EQ(message({{"service", "s"}, {"start", "-5"}}),
            "unable to parse param 'start': expected microseconds since the epoch, got \"-5\"");
  EXPECT_EQ(message({{"service", "s"}, {"start", "20"}, {"end", "10"}}),
            "'start' must not be after 'end'");
  EXPECT_EQ(message({{"service", "s"}, {"end", "99999999999999999"}}),
            "unable to parse param 'end': 99999999999999999 is out of range");
  EXPECT_EQ(message({{"traceID", "zz"}}),
            "malformed trace id \"zz\": expected 1 to 32 hex digits");
}

}  // namespace
}  // namespace teletrace::api::jaeger
