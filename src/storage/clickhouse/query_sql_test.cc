#include "storage/clickhouse/query_sql.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "query/parse.h"

namespace teletrace::storage::clickhouse {
namespace {

using query::Operator;
using query::Scalar;

query::Filter F(std::string_view key, Operator op, std::optional<Scalar> value = std::nullopt,
                std::vector<Scalar> values = {}) {
  absl::StatusOr<query::Key> k = query::ParseKey(key, "f");
  EXPECT_TRUE(k.ok()) << k.status();
  query::Filter f{*k, op, std::move(value), std::move(values)};
  absl::Status valid = query::ValidateFilter(f, "f");
  EXPECT_TRUE(valid.ok()) << valid;
  return f;
}

// The generated SQL is pinned: a change to it should be a conscious one.
TEST(QuerySqlTest, AttributeFilters) {
  EXPECT_EQ(FilterCondition(F("span.attributes.http.method", Operator::kEquals, Scalar("GET"))),
            "arrayExists(x_v -> x_v = 'GET', arrayFilter((x_v, x_k, x_t) -> x_k = 'ahttp.method' "
            "AND x_t IN (0, 16), attr_str, attr_keys, attr_types))");
  EXPECT_EQ(FilterCondition(F("resource.attributes.k", Operator::kNotExists)),
            "NOT (has(attr_keys, 'rk'))");
  EXPECT_EQ(FilterCondition(F("span.events.attributes.n", Operator::kGt, Scalar(1.5))),
            "(arrayExists(x_v -> x_v > 1, arrayFilter((x_v, x_k, x_t) -> x_k = 'en' AND x_t IN (1, "
            "17), attr_int, attr_keys, attr_types)) OR arrayExists(x_v -> x_v > "
            "reinterpretAsFloat64(unhex('000000000000f83f')), arrayFilter((x_v, x_k, x_t) -> x_k = "
            "'en' AND x_t IN (2, 18), attr_dbl, attr_keys, attr_types)))");
  EXPECT_EQ(FilterCondition(F("scope.attributes.b", Operator::kNotEquals, Scalar(true))),
            "NOT (arrayExists(x_v -> x_v = 1, arrayFilter((x_v, x_k, x_t) -> x_k = 'sb' AND x_t IN "
            "(3, 19), attr_int, attr_keys, attr_types)))");
  EXPECT_EQ(FilterCondition(F("span.links.attributes.s", Operator::kContains, Scalar("it's"))),
            "arrayExists(x_v -> position(x_v, 'it\\'s') > 0, arrayFilter((x_v, x_k, x_t) -> x_k = "
            "'ls' AND x_t IN (0, 16), attr_str, attr_keys, attr_types))");
}

TEST(QuerySqlTest, IntAttributesAgainstDoublesAreExact) {
  auto cond = [](Operator op, double d) {
    return FilterCondition(F("span.attributes.n", op, Scalar(d)));
  };
  // 2.5: x > 2, x >= 3, x < 3, x <= 2 on integers; equality impossible.
  EXPECT_NE(cond(Operator::kGt, 2.5).find("x_v -> x_v > 2, arrayFilter"),
            std::string::npos);
  EXPECT_NE(cond(Operator::kGte, 2.5).find("x_v -> x_v >= 3, arrayFilter"),
            std::string::npos);
  EXPECT_NE(cond(Operator::kLt, 2.5).find("x_v -> x_v < 3, arrayFilter"),
            std::string::npos);
  EXPECT_NE(cond(Operator::kLte, 2.5).find("x_v -> x_v <= 2, arrayFilter"),
            std::string::npos);
  EXPECT_EQ(cond(Operator::kEquals, 2.5).find("attr_int"), std::string::npos);
  // Beyond the int64 range every integer is smaller.
  EXPECT_NE(cond(Operator::kLt, 1e300).find("arrayExists(x_v -> 1, arrayFilter((x_v, x_k, x_t) -> "
                                            "x_k = 'an' AND x_t IN (1, 17), attr_int"),
            std::string::npos);
  EXPECT_EQ(cond(Operator::kGt, 1e300).find("attr_int"), std::string::npos);
  // NaN orders with nothing.
  EXPECT_EQ(cond(Operator::kGt, std::nan("")), "0");
  EXPECT_EQ(FilterCondition(F("span.attributes.n", Operator::kNotEquals, Scalar(std::nan("")))),
            "1");
}

// A key's known types (from tag_keys) leave out the value columns it cannot have.
TEST(QuerySqlTest, KnownTypesLeaveOutTheColumnsAKeyCannotHave) {
  const query::Filter n = F("span.attributes.n", Operator::kGte, Scalar(int64_t{5}));
  const query::Filter s = F("span.attributes.n", Operator::kEquals, Scalar("5"));
  const query::Filter b = F("span.attributes.n", Operator::kEquals, Scalar(true));
  const KeyTypesMap ints = {{"an", KeyTypes{1u << 1}}};
  EXPECT_EQ(FilterCondition(n, ints),
            "arrayExists(x_v -> x_v >= 5, arrayFilter((x_v, x_k, x_t) -> x_k = 'an' AND x_t IN (1, "
            "17), attr_int, attr_keys, attr_types))");
  EXPECT_EQ(FilterCondition(s, ints), "0");
  EXPECT_EQ(FilterCondition(b, ints), "0");
  EXPECT_EQ(FilterCondition(F("span.attributes.n", Operator::kNotEquals, Scalar("5")), ints),
            "1");
  // Existence does not depend on the type; other keys are not known, so read every column.
  EXPECT_EQ(FilterCondition(F("span.attributes.n", Operator::kExists), {{"an", KeyTypes{0}}}),
            "has(attr_keys, 'an')");
  EXPECT_EQ(FilterCondition(n, {{"am", KeyTypes{1u << 1}}}), FilterCondition(n));
  // An array (type 5) may hold elements of every type.
  const KeyTypesMap arrays = {{"an", KeyTypes{1u << 5}}};
  EXPECT_EQ(FilterCondition(n, arrays), FilterCondition(n));
  EXPECT_EQ(FilterCondition(s, arrays), FilterCondition(s));
  // Values and numbers: only the known scalars' columns.
  const query::Key key = F("span.attributes.n", Operator::kExists).key;
  EXPECT_EQ(TaggedValuesExpr(key, KeyTypes{1u << 0}),
            "arrayMap(x -> concat('s', x), arrayFilter((x, k, t) -> k = 'an' AND t = 0, attr_str, "
            "attr_keys, attr_types))");
  const std::string doubles_and_bools = TaggedValuesExpr(key, KeyTypes{(1u << 2) | (1u << 3)});
  EXPECT_EQ(doubles_and_bools.find("attr_str"), std::string::npos);
  EXPECT_EQ(doubles_and_bools.find("t = 1,"), std::string::npos);
  EXPECT_NE(doubles_and_bools.find("t = 2, attr_dbl"), std::string::npos);
  EXPECT_NE(doubles_and_bools.find("t = 3, attr_int"), std::string::npos);
  EXPECT_EQ(TaggedValuesExpr(key, KeyTypes{1u << 5}), "emptyArrayString()");
  EXPECT_EQ(NumericValuesExpr(key, KeyTypes{1u << 2}),
            "arrayFilter((x, k, t) -> k = 'an' AND t = 2 AND NOT isNaN(x), attr_dbl, attr_keys, "
            "attr_types)");
  EXPECT_EQ(NumericValuesExpr(key, KeyTypes{1u << 0}), "emptyArrayFloat64()");
  EXPECT_EQ(TaggedValuesExpr(key), TaggedValuesExpr(key, KeyTypes{}));
  // The lookup: the keys' rows on the range's days.
  constexpr uint64_t kDay = uint64_t{86400} * 1000000000;
  EXPECT_EQ(KeyTypesSql("db.tag_keys", {key, F("resource.attributes.r", Operator::kExists).key},
                        query::TimeRange{kDay, 2 * kDay}),
            "SELECT DISTINCT attr_key, attr_type FROM db.tag_keys WHERE attr_key IN ('an', 'rr') "
            "AND start_date >= toDate('1970-01-02') AND start_date <= toDate('1970-01-03')");
  EXPECT_EQ(KeyTypesSql("t", {key}, std::nullopt),
            "SELECT DISTINCT attr_key, attr_type FROM t WHERE attr_key IN ('an')");
}

TEST(QuerySqlTest, IntrinsicFilters) {
  EXPECT_EQ(FilterCondition(F("span.kind", Operator::kIn, std::nullopt,
                              {Scalar("Client"), Scalar("Unspecified")})),
            "(kind = 3 OR (kind = 0 OR kind >= 6))");
  EXPECT_EQ(FilterCondition(F("span.status.code", Operator::kNotEquals, Scalar("Error"))),
            "NOT (status_code = 2)");
  EXPECT_EQ(FilterCondition(F("externalFields.durationNano", Operator::kGte, Scalar(int64_t{5}))),
            "toInt64(duration_nano) >= 5");
  EXPECT_EQ(FilterCondition(F("span.traceId", Operator::kEquals,
                              Scalar("0102030405060708090A0B0C0D0E0F10"))),
            "trace_id = unhex('0102030405060708090a0b0c0d0e0f10')");
  EXPECT_EQ(FilterCondition(F("span.traceId", Operator::kContains, Scalar("0a0b"))),
            "position(lower(hex(trace_id)), '0a0b') > 0");
  EXPECT_EQ(FilterCondition(F("span.parentSpanId", Operator::kEquals, Scalar(""))),
            "if(parent_span_id = unhex('0000000000000000'), '', lower(hex(parent_span_id))) = ''");
  EXPECT_EQ(FilterCondition(F("span.events.name", Operator::kNotExists)),
            "NOT (notEmpty(event_names))");
  EXPECT_EQ(FilterCondition(F("span.links.spanId", Operator::kEquals, Scalar("ab"))),
            "arrayExists(x -> lower(hex(x)) = 'ab', link_span_ids)");
  EXPECT_EQ(FilterCondition(F("span.name", Operator::kExists)), "1");
  EXPECT_EQ(FilterCondition(F("span.name", Operator::kNotExists)), "0");
}

TEST(QuerySqlTest, RangesBoundPartitionsAndPrimaryKey) {
  const uint64_t t = 1700000000000000000ULL;  // 2023-11-14T22:13:20Z
  EXPECT_EQ(RangeCondition({t, t + 3600000000000ULL}),
            "start_hour >= 472222 AND start_date >= toDate('2023-11-14') AND "
            "start_time_unix_nano >= 1700000000000000000 AND start_hour <= 472223 AND "
            "start_date <= toDate('2023-11-14') AND start_time_unix_nano <= 1700003600000000000");
  EXPECT_EQ(RangeCondition({0, UINT64_MAX}), "1");
  // Beyond the dates every server version represents: no date bound.
  EXPECT_EQ(RangeCondition({0, UINT64_MAX - 1}),
            "start_hour <= 5124095 AND start_time_unix_nano <= 18446744073709551614");
  EXPECT_EQ(WhereClause(std::nullopt, {}), "WHERE 1");
  EXPECT_EQ(DayDate(0), "1970-01-01");
  EXPECT_EQ(DayDate(19675), "2023-11-14");
  EXPECT_EQ(DayDate(11016), "2000-02-29");
}

// String equality and `in` over strings imply has(attr_str, ...): PREWHERE, ahead of the exact
// condition; negative operators, other types and intrinsics imply nothing there.
TEST(QuerySqlTest, StringFiltersAskTheirValuesFirst) {
  EXPECT_EQ(PrewhereCondition(F("span.attributes.m", Operator::kEquals, Scalar("a"))),
            "has(attr_str, 'a')");
  EXPECT_EQ(PrewhereCondition(
                F("span.attributes.m", Operator::kIn, std::nullopt, {Scalar("a"), Scalar("b")})),
            "(has(attr_str, 'a') OR has(attr_str, 'b'))");
  EXPECT_EQ(PrewhereCondition(
                F("span.attributes.m", Operator::kIn, std::nullopt, {Scalar("a"), Scalar(true)})),
            "");
  EXPECT_EQ(PrewhereCondition(F("span.attributes.m", Operator::kNotEquals, Scalar("a"))), "");
  EXPECT_EQ(PrewhereCondition(F("span.attributes.m", Operator::kContains, Scalar("a"))), "");
  EXPECT_EQ(PrewhereCondition(F("span.attributes.m", Operator::kEquals, Scalar(int64_t{1}))), "");
  EXPECT_EQ(PrewhereCondition(F("span.name", Operator::kEquals, Scalar("a"))), "");

  const std::vector<query::Filter> filters = {
      F("resource.attributes.service.name", Operator::kEquals, Scalar("cart")),
      F("span.name", Operator::kEquals, Scalar("GET"))};
  EXPECT_EQ(WhereClause(std::nullopt, filters),
            "PREWHERE has(attr_str, 'cart') WHERE arrayExists(x_v -> x_v = 'cart', "
            "arrayFilter((x_v, x_k, x_t) -> x_k = 'rservice.name' AND x_t IN (0, 16), attr_str, "
            "attr_keys, attr_types)) AND name = 'GET'");
  EXPECT_EQ(WhereClause(std::nullopt, {}, "service_name = ''"),
            "PREWHERE service_name = '' WHERE 1");
  EXPECT_EQ(WhereClause(std::nullopt, {filters[0]}, "service_name = ''"),
            "PREWHERE service_name = '' AND has(attr_str, 'cart') WHERE arrayExists(x_v -> x_v = "
            "'cart', arrayFilter((x_v, x_k, x_t) -> x_k = 'rservice.name' AND x_t IN (0, 16), "
            "attr_str, attr_keys, attr_types))");
}

TEST(QuerySqlTest, ServiceFiltersReadTheServiceColumnFirst) {
  const query::Filter cart =
      F("resource.attributes.service.name", Operator::kEquals, Scalar("cart"));
  const query::Filter get = F("span.name", Operator::kEquals, Scalar("GET"));
  const std::string cart_in_arrays =
      "arrayExists(x_v -> x_v = 'cart', arrayFilter((x_v, x_k, x_t) -> x_k = 'rservice.name' AND "
      "x_t IN (0, 16), attr_str, attr_keys, attr_types))";
  // Without a filter on service.name's strings: the table and WhereClause.
  SpanSource plain = SpansMatching("db.spans", std::nullopt, {get}, "kind = 2");
  EXPECT_EQ(plain.from, "db.spans");
  EXPECT_EQ(plain.where, "WHERE name = 'GET' AND kind = 2");
  // With one: the spans whose service_name is 'cart', and those whose service_name is '' that
  // the filter matches in their arrays; the other filters and the extra condition in both.
  SpanSource split = SpansMatching("db.spans", std::nullopt, {get, cart}, "kind = 2");
  const std::string columns =
      "start_date, start_hour, service_name, name, start_time_unix_nano, trace_id, span_id, "
      "parent_span_id, end_time_unix_nano, duration_nano, ingestion_time_unix_nano, kind, "
      "status_code, status_message, trace_state, scope_name, scope_version, event_names, "
      "link_trace_ids, link_span_ids, attr_keys, attr_types, attr_str, attr_int, attr_dbl";
  EXPECT_EQ(split.from, "(SELECT " + columns + " FROM db.spans PREWHERE service_name IN "
                        "('cart') WHERE name = 'GET' AND kind = 2 UNION ALL SELECT " + columns +
                        " FROM db.spans PREWHERE service_name = '' WHERE has(attr_str, 'cart') "
                        "AND name = 'GET' AND " + cart_in_arrays + " AND kind = 2)");
  EXPECT_EQ(split.where, "WHERE 1");
  // `in` splits too; '' (the second branch's own spans) and non-strings do not.
  EXPECT_NE(SpansMatching("db.spans", std::nullopt,
                          {F("resource.attributes.service.name", Operator::kIn, std::nullopt,
                             {Scalar("a"), Scalar("b")})})
                .from.find("PREWHERE service_name IN ('a', 'b') WHERE 1 UNION ALL"),
            std::string::npos);
  for (const query::Filter& f :
       {F("resource.attributes.service.name", Operator::kEquals, Scalar("")),
        F("resource.attributes.service.name", Operator::kIn, std::nullopt,
          {Scalar("a"), Scalar(int64_t{1})}),
        F("resource.attributes.service.name", Operator::kNotEquals, Scalar("a")),
        F("span.attributes.service.name", Operator::kEquals, Scalar("a"))}) {
    EXPECT_EQ(SpansMatching("db.spans", std::nullopt, {f}).from, "db.spans");
  }
  EXPECT_EQ(WhereServiceNameEmpty(std::nullopt, {}), "PREWHERE service_name = '' WHERE 1");
}

TEST(QuerySqlTest, TaggedValuesDecode) {
  EXPECT_EQ(DecodeTagged("sGET"), std::optional<query::TagValue>(std::string("GET")));
  EXPECT_EQ(DecodeTagged("b1"), std::optional<query::TagValue>(true));
  EXPECT_EQ(DecodeTagged("b0"), std::optional<query::TagValue>(false));
  // ClickHouse drops trailing zero bytes of reinterpretAsString.
  EXPECT_EQ(DecodeTagged(std::string("i\x00\x01", 3)),
            std::optional<query::TagValue>(int64_t{256}));
  EXPECT_EQ(DecodeTagged("i"), std::optional<query::TagValue>(int64_t{0}));
  EXPECT_EQ(DecodeTagged(std::string("i\xff\xff\xff\xff\xff\xff\xff\xff", 9)),
            std::optional<query::TagValue>(int64_t{-1}));
  EXPECT_EQ(DecodeTagged(std::string("d\x00\x00\x00\x00\x00\x00\xf0\x3f", 9)),
            std::optional<query::TagValue>(1.0));
  EXPECT_EQ(DecodeTagged("x"), std::nullopt);
  EXPECT_EQ(DecodeTagged(""), std::nullopt);
  EXPECT_EQ(DecodeTagged("i123456789"), std::nullopt);
}

TEST(QuerySqlTest, DecodesTagKeyEntries) {
  absl::StatusOr<query::TagInfo> span = DecodeTagKeyEntry("2:ahttp.duration");
  ASSERT_TRUE(span.ok()) << span.status();
  EXPECT_EQ(*span, (query::TagInfo{"span.attributes.http.duration", query::ValueType::kDouble}));
  EXPECT_EQ(*DecodeTagKeyEntry("0:rservice.name"),
            (query::TagInfo{"resource.attributes.service.name", query::ValueType::kStr}));
  EXPECT_EQ(*DecodeTagKeyEntry("6:sk"),
            (query::TagInfo{"scope.attributes.k", query::ValueType::kMap}));
  EXPECT_EQ(*DecodeTagKeyEntry("3:ea:b"),
            (query::TagInfo{"span.events.attributes.a:b", query::ValueType::kBool}));
  EXPECT_EQ(*DecodeTagKeyEntry("1:l"),
            (query::TagInfo{"span.links.attributes.", query::ValueType::kInt}));
}

TEST(QuerySqlTest, MalformedTagKeyEntriesAreErrorsNamingTheProblem) {
  struct Case {
    std::string entry;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"ak", "no ':' after the type"},
           {":ak", "type \"\" is not a number"},
           {"x:ak", "type \"x\" is not a number"},
           {"-1:ak", "type \"-1\" is not a number"},
           {"1x:ak", "type \"1x\" is not a number"},
           // std::atoi made this undefined behaviour; from_chars reports the overflow.
           {"99999999999999999999:ak", "type \"99999999999999999999\" is not a number"},
           {"7:ak", "type 7 is not a value type (0 to 6)"},
           {"16:ak", "type 16 is not a value type (0 to 6)"},
           {"0:", "no level letter"},
           {"0:qk", "unknown level letter 'q'"},
       }) {
    absl::StatusOr<query::TagInfo> info = DecodeTagKeyEntry(c.entry);
    EXPECT_EQ(info.status().code(), absl::StatusCode::kDataLoss) << c.entry;
    EXPECT_EQ(info.status().message(),
              "clickhouse: tag keys: malformed entry \"" + c.entry + "\": " + c.message);
  }
}

}  // namespace
}  // namespace teletrace::storage::clickhouse
