#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "query/parse.h"
#include "query/test_spans.h"

namespace teletrace::query {
namespace {

using testing::B;
using testing::D;
using testing::I;
using testing::S;

Filter Make(std::string_view key, Operator op, std::optional<Scalar> value = std::nullopt,
            std::vector<Scalar> values = {}) {
  Filter f;
  f.key = *ParseKey(key, "filters[0]");
  f.op = op;
  f.value = std::move(value);
  f.values = std::move(values);
  return f;
}

// Expects InvalidArgument with exactly `message`.
void ExpectInvalid(Filter f, const std::string& message) {
  absl::Status st = ValidateFilter(f, "filters[0]");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << message;
  EXPECT_EQ(st.message(), message);
}

void ExpectValid(Filter& f) {
  absl::Status st = ValidateFilter(f, "filters[0]");
  EXPECT_TRUE(st.ok()) << st;
}

TEST(ValidateFilterTest, Arity) {
  ExpectInvalid(Make("span.attributes.a", Operator::kIn, S("x")),
                "filters[0].value: operator \"in\" needs a list of values, got a single value");
  ExpectInvalid(Make("span.attributes.a", Operator::kNotIn),
                "filters[0].value: operator \"not_in\" needs at least one value");
  ExpectInvalid(Make("span.attributes.a", Operator::kExists, S("x")),
                "filters[0].value: operator \"exists\" takes no value");
  ExpectInvalid(Make("span.attributes.a", Operator::kNotExists, std::nullopt, {S("x")}),
                "filters[0].value: operator \"not_exists\" takes no value");
  ExpectInvalid(Make("span.attributes.a", Operator::kEquals),
                "filters[0].value: operator \"equals\" needs a value");
  ExpectInvalid(Make("span.attributes.a", Operator::kEquals, std::nullopt, {S("x"), S("y")}),
                "filters[0].value: operator \"equals\" needs a single value, got a list");
  ExpectInvalid(Make("span.attributes.a", Operator::kGt),
                "filters[0].value: operator \"gt\" needs a value");
}

TEST(ValidateFilterTest, OperandTypesForAttributes) {
  ExpectInvalid(Make("span.attributes.a", Operator::kGt, S("5")),
                "filters[0].value: operator \"gt\" needs a number, got string");
  ExpectInvalid(Make("span.attributes.a", Operator::kLte, B(true)),
                "filters[0].value: operator \"lte\" needs a number, got bool");
  ExpectInvalid(Make("span.attributes.a", Operator::kContains, I(5)),
                "filters[0].value: operator \"contains\" needs a string, got number");
  ExpectInvalid(Make("span.attributes.a", Operator::kNotContains, D(1.5)),
                "filters[0].value: operator \"not_contains\" needs a string, got number");
  for (Scalar v : {S("x"), I(1), D(2.5), B(false)}) {
    Filter eq = Make("resource.attributes.a", Operator::kEquals, v);
    ExpectValid(eq);
    EXPECT_EQ(eq.value, v);
    Filter ne = Make("span.events.attributes.a", Operator::kNotEquals, v);
    ExpectValid(ne);
  }
  Filter in = Make("span.links.attributes.a", Operator::kIn, std::nullopt, {S("x"), I(1), B(true)});
  ExpectValid(in);
  Filter gt = Make("scope.attributes.a", Operator::kGte, D(0.5));
  ExpectValid(gt);
  Filter ex = Make("span.attributes.a", Operator::kExists);
  ExpectValid(ex);
}

TEST(ValidateFilterTest, NumericIntrinsics) {
  for (std::string key : {"span.startTimeUnixNano", "span.endTimeUnixNano",
                          "externalFields.durationNano", "ingestionTimeUnixNano"}) {
    for (Operator op : {Operator::kEquals, Operator::kNotEquals, Operator::kGt, Operator::kGte,
                        Operator::kLt, Operator::kLte}) {
      Filter f = Make(key, op, I(100));
      ExpectValid(f);
    }
    Filter in = Make(key, Operator::kIn, std::nullopt, {I(1), D(2.5)});
    ExpectValid(in);
    Filter ex = Make(key, Operator::kNotExists);
    ExpectValid(ex);
    ExpectInvalid(Make(key, Operator::kContains, S("1")),
                  "filters[0].operator: operator \"contains\" does not apply to numeric key \"" +
                      key + "\"");
    ExpectInvalid(Make(key, Operator::kEquals, S("100")),
                  "filters[0].value: key \"" + key + "\" needs a number, got string");
    ExpectInvalid(Make(key, Operator::kNotIn, std::nullopt, {I(1), B(true)}),
                  "filters[0].value[1]: key \"" + key + "\" needs a number, got bool");
  }
}

TEST(ValidateFilterTest, StringIntrinsics) {
  for (std::string key : {"span.name", "span.traceState", "span.status.message", "scope.name",
                          "scope.version", "span.events.name", "span.traceId", "span.spanId",
                          "span.parentSpanId", "span.links.traceId", "span.links.spanId"}) {
    for (Operator op : {Operator::kGt, Operator::kGte, Operator::kLt, Operator::kLte}) {
      ExpectInvalid(Make(key, op, I(1)),
                    fmt::format("filters[0].operator: operator \"{}\" does not apply to string key "
                                "\"{}\"",
                                OperatorName(op), key));
    }
    Filter contains = Make(key, Operator::kContains, S("ab"));
    ExpectValid(contains);
    Filter exists = Make(key, Operator::kExists);
    ExpectValid(exists);
  }
  ExpectInvalid(Make("span.name", Operator::kEquals, I(5)),
                "filters[0].value: key \"span.name\" needs a string, got number");
  ExpectInvalid(Make("scope.version", Operator::kIn, std::nullopt, {S("1"), D(1.5)}),
                "filters[0].value[1]: key \"scope.version\" needs a string, got number");
  ExpectInvalid(Make("span.traceId", Operator::kEquals, B(true)),
                "filters[0].value: key \"span.traceId\" needs a hex string, got bool");
}

TEST(ValidateFilterTest, IdsAreLowercasedAndMustBeHex) {
  Filter f = Make("span.traceId", Operator::kEquals, S("4BF92F3577B34DA6A3CE929D0E0E4736"));
  ExpectValid(f);
  EXPECT_EQ(f.value, S("4bf92f3577b34da6a3ce929d0e0e4736"));
  Filter in =
      Make("span.links.spanId", Operator::kIn, std::nullopt, {S("00F067AA0BA902B7"), S("")});
  ExpectValid(in);
  EXPECT_EQ(in.values, (std::vector<Scalar>{S("00f067aa0ba902b7"), S("")}));
  ExpectInvalid(Make("span.parentSpanId", Operator::kEquals, S("xyz")),
                "filters[0].value: key \"span.parentSpanId\" needs hex, got \"xyz\"");
}

TEST(ValidateFilterTest, SpanKindNormalisation) {
  const std::vector<std::pair<Scalar, std::string>> cases = {
      {S("Server"), "Server"},           {S("server"), "Server"},
      {S("SERVER"), "Server"},           {S("SPAN_KIND_SERVER"), "Server"},
      {S("span_kind_client"), "Client"}, {I(0), "Unspecified"},
      {I(1), "Internal"},                {I(4), "Producer"},
      {I(5), "Consumer"},                {S("unspecified"), "Unspecified"},
  };
  for (const auto& [in, out] : cases) {
    Filter f = Make("span.kind", Operator::kEquals, in);
    ExpectValid(f);
    EXPECT_EQ(f.value, Scalar(out));
  }
  Filter list = Make("span.kind", Operator::kNotIn, std::nullopt, {I(2), S("client")});
  ExpectValid(list);
  EXPECT_EQ(list.values, (std::vector<Scalar>{S("Server"), S("Client")}));
  ExpectInvalid(Make("span.kind", Operator::kEquals, S("web")),
                "filters[0].value: unknown span kind \"web\" (expected one of Unspecified, "
                "Internal, Server, Client, Producer, Consumer)");
  ExpectInvalid(Make("span.kind", Operator::kEquals, I(6)),
                "filters[0].value: span kind 6 is out of range (expected 0 to 5)");
  ExpectInvalid(Make("span.kind", Operator::kEquals, I(-1)),
                "filters[0].value: span kind -1 is out of range (expected 0 to 5)");
  ExpectInvalid(Make("span.kind", Operator::kEquals, B(true)),
                "filters[0].value: span kind needs a name or a number, got bool");
  ExpectInvalid(Make("span.kind", Operator::kGt, I(1)),
                "filters[0].operator: operator \"gt\" does not apply to enum key \"span.kind\"");
  ExpectInvalid(Make("span.kind", Operator::kContains, S("er")),
                "filters[0].operator: operator \"contains\" does not apply to enum key "
                "\"span.kind\"");
}

TEST(ValidateFilterTest, StatusCodeNormalisation) {
  const std::vector<std::pair<Scalar, std::string>> cases = {
      {S("Error"), "Error"}, {S("error"), "Error"},   {S("STATUS_CODE_ERROR"), "Error"},
      {S("OK"), "Ok"},       {S("STATUS_CODE_OK"), "Ok"}, {I(0), "Unset"},
      {I(1), "Ok"},          {I(2), "Error"},
  };
  for (const auto& [in, out] : cases) {
    Filter f = Make("span.status.code", Operator::kNotEquals, in);
    ExpectValid(f);
    EXPECT_EQ(f.value, Scalar(out));
  }
  ExpectInvalid(Make("span.status.code", Operator::kIn, std::nullopt, {S("ok"), S("failed")}),
                "filters[0].value[1]: unknown status code \"failed\" (expected one of Unset, Ok, "
                "Error)");
  ExpectInvalid(Make("span.status.code", Operator::kEquals, I(3)),
                "filters[0].value: status code 3 is out of range (expected 0 to 2)");
  Filter whole = Make("span.status.code", Operator::kEquals, D(2.0));
  ExpectValid(whole);
  EXPECT_EQ(whole.value, S("Error"));
  ExpectInvalid(Make("span.status.code", Operator::kEquals, D(1.5)),
                "filters[0].value: status code must be a whole number, got 1.5");
}

}  // namespace
}  // namespace teletrace::query
