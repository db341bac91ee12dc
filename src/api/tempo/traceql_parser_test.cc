// The TraceQL subset parser: the tree of every supported construct, and the exact InvalidArgument
// message of every refused one.
#include "api/tempo/traceql_parser.h"

#include "fmt/format.h"
#include "gtest/gtest.h"

namespace teletrace::api::tempo {
namespace {

std::string OpText(TraceqlOp op) {
  switch (op) {
    case TraceqlOp::kEq:
      return "=";
    case TraceqlOp::kNeq:
      return "!=";
    case TraceqlOp::kGt:
      return ">";
    case TraceqlOp::kGte:
      return ">=";
    case TraceqlOp::kLt:
      return "<";
    case TraceqlOp::kLte:
      return "<=";
    case TraceqlOp::kRegex:
      return "=~";
    case TraceqlOp::kNotRegex:
      return "!~";
  }
  return "?";
}

std::string KindText(TraceqlField::Kind k) {
  using K = TraceqlField::Kind;
  switch (k) {
    case K::kName:
      return "name";
    case K::kStatus:
      return "status";
    case K::kStatusMessage:
      return "statusMessage";
    case K::kKind:
      return "kind";
    case K::kDuration:
      return "duration";
    case K::kRootServiceName:
      return "rootServiceName";
    case K::kRootName:
      return "rootName";
    case K::kTraceDuration:
      return "traceDuration";
    case K::kSpanAttribute:
      return "span";
    case K::kResourceAttribute:
      return "resource";
    case K::kAnyAttribute:
      return "any";
  }
  return "?";
}

// A compact rendering of the tree: kinds resolved, literals typed.
std::string Render(const TraceqlFieldExpr& e) {
  switch (e.kind) {
    case TraceqlFieldExpr::Kind::kTrue:
      return "true";
    case TraceqlFieldExpr::Kind::kCondition: {
      const TraceqlCondition& c = e.condition;
      std::string field = KindText(c.field.kind);
      if (!c.field.attribute.empty()) field += "[" + c.field.attribute + "]";
      return fmt::format("{} {} {}:{}", field, OpText(c.op), c.value.index(),
                         TraceqlLiteralText(c.value));
    }
    case TraceqlFieldExpr::Kind::kAnd:
    case TraceqlFieldExpr::Kind::kOr: {
      std::string out = e.kind == TraceqlFieldExpr::Kind::kAnd ? "and(" : "or(";
      for (size_t i = 0; i < e.children.size(); ++i) {
        out += (i > 0 ? ", " : "") + Render(e.children[i]);
      }
      return out + ")";
    }
  }
  return "?";
}

std::string Render(const SpansetExpr& e) {
  if (e.kind == SpansetExpr::Kind::kFilter) return "{" + Render(e.filter) + "}";
  std::string out = e.kind == SpansetExpr::Kind::kAnd ? "AND(" : "OR(";
  for (size_t i = 0; i < e.children.size(); ++i) {
    out += (i > 0 ? ", " : "") + Render(e.children[i]);
  }
  return out + ")";
}

std::string Parsed(std::string_view q) {
  absl::StatusOr<SpansetExpr> e = ParseTraceql(q);
  if (!e.ok()) return "ERROR " + e.status().ToString();
  return Render(*e);
}

std::string ErrorOf(std::string_view q) {
  absl::StatusOr<SpansetExpr> e = ParseTraceql(q);
  if (e.ok()) return "OK " + Render(*e);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(e.status().message());
}

// Literal variant indices: 0 string, 1 int, 2 double, 3 bool, 4 duration, 5 status, 6 kind.

TEST(TraceqlParserTest, EmptySpansetMatchesAll) {
  EXPECT_EQ(Parsed("{}"), "{true}");
  EXPECT_EQ(Parsed("  { }  "), "{true}");
}

TEST(TraceqlParserTest, Intrinsics) {
  EXPECT_EQ(Parsed(R"({ name = "GET /cart" })"), R"({name = 0:"GET /cart"})");
  EXPECT_EQ(Parsed("{ status = error }"), "{status = 5:error}");
  EXPECT_EQ(Parsed("{ status != ok }"), "{status != 5:ok}");
  EXPECT_EQ(Parsed("{ status = unset }"), "{status = 5:unset}");
  EXPECT_EQ(Parsed("{ kind = server }"), "{kind = 6:server}");
  EXPECT_EQ(Parsed("{ kind != client }"), "{kind != 6:client}");
  EXPECT_EQ(
      Parsed("{ kind = producer || kind = consumer || kind = internal || kind = unspecified }"),
      "{or(kind = 6:producer, kind = 6:consumer, kind = 6:internal, kind = 6:unspecified)}");
  EXPECT_EQ(Parsed("{ duration > 100ms }"), "{duration > 4:100000000ns}");
  EXPECT_EQ(Parsed("{ duration <= 1.5s }"), "{duration <= 4:1500000000ns}");
  EXPECT_EQ(Parsed("{ duration >= 1h30m }"), "{duration >= 4:5400000000000ns}");
  EXPECT_EQ(Parsed("{ duration < 10us }"), "{duration < 4:10000ns}");
  EXPECT_EQ(Parsed(R"({ rootServiceName = "cart" })"), R"({rootServiceName = 0:"cart"})");
  EXPECT_EQ(Parsed(R"({ rootName =~ "GET.*" })"), R"({rootName =~ 0:"GET.*"})");
  EXPECT_EQ(Parsed("{ traceDuration > 2s }"), "{traceDuration > 4:2000000000ns}");
  EXPECT_EQ(Parsed(R"({ statusMessage != "" })"), R"({statusMessage != 0:""})");
}

TEST(TraceqlParserTest, ScopedIntrinsics) {
  EXPECT_EQ(Parsed(R"({ span:name = "a" && span:status = error && span:kind = server })"),
            R"({and(name = 0:"a", status = 5:error, kind = 6:server)})");
  EXPECT_EQ(Parsed(R"({ span:duration > 1ms && span:statusMessage = "x" })"),
            R"({and(duration > 4:1000000ns, statusMessage = 0:"x")})");
  EXPECT_EQ(Parsed(R"({ trace:rootService = "a" && trace:rootName = "b" && trace:duration < 1s })"),
            R"({and(rootServiceName = 0:"a", rootName = 0:"b", traceDuration < 4:1000000000ns)})");
}

TEST(TraceqlParserTest, Attributes) {
  EXPECT_EQ(Parsed(R"({ resource.service.name = "cart" })"),
            R"({resource[service.name] = 0:"cart"})");
  EXPECT_EQ(Parsed("{ span.http.status_code >= 500 }"), "{span[http.status_code] >= 1:500}");
  EXPECT_EQ(Parsed("{ .ratio < 0.5 }"), "{any[ratio] < 2:0.5}");
  EXPECT_EQ(Parsed("{ .x = -3 }"), "{any[x] = 1:-3}");
  EXPECT_EQ(Parsed("{ .x = -1.5e3 }"), "{any[x] = 2:-1500}");
  EXPECT_EQ(Parsed("{ span.cached = false }"), "{span[cached] = 3:false}");
  EXPECT_EQ(Parsed("{ span.cached != true }"), "{span[cached] != 3:true}");
  EXPECT_EQ(Parsed("{ span.latency > 20ms }"), "{span[latency] > 4:20000000ns}");
  EXPECT_EQ(Parsed(R"({ span."with space" = "v" })"), R"({span[with space] = 0:"v"})");
  EXPECT_EQ(Parsed(R"({ .k8s-pod/name = "p" })"), R"({any[k8s-pod/name] = 0:"p"})");
  EXPECT_EQ(Parsed(R"({ span.a !~ "x|y" })"), R"({span[a] !~ 0:"x|y"})");
}

TEST(TraceqlParserTest, StringEscapes) {
  absl::StatusOr<SpansetExpr> e = ParseTraceql(R"({ .a = "q\"b\\s\/n\nt\tr\ru\u00e9" })");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(std::get<std::string>(e->filter.condition.value), "q\"b\\s/n\nt\tr\ru\xC3\xA9");
  e = ParseTraceql(R"({ .a = `raw\n"` })");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(std::get<std::string>(e->filter.condition.value), "raw\\n\"");
}

TEST(TraceqlParserTest, BooleanStructureInsideSpanset) {
  EXPECT_EQ(Parsed(R"({ .a = 1 && .b = 2 || .c = 3 })"),
            "{or(and(any[a] = 1:1, any[b] = 1:2), any[c] = 1:3)}");
  EXPECT_EQ(Parsed(R"({ .a = 1 && (.b = 2 || .c = 3) })"),
            "{and(any[a] = 1:1, or(any[b] = 1:2, any[c] = 1:3))}");
}

TEST(TraceqlParserTest, SpansetOperators) {
  EXPECT_EQ(Parsed(R"({ .a = 1 } && { .b = 2 })"), "AND({any[a] = 1:1}, {any[b] = 1:2})");
  EXPECT_EQ(Parsed(R"({ .a = 1 } || { .b = 2 } && { .c = 3 })"),
            "OR({any[a] = 1:1}, AND({any[b] = 1:2}, {any[c] = 1:3}))");
  EXPECT_EQ(Parsed(R"(({ .a = 1 } || { .b = 2 }) && { .c = 3 })"),
            "AND(OR({any[a] = 1:1}, {any[b] = 1:2}), {any[c] = 1:3})");
}

TEST(TraceqlParserTest, UnsupportedConstructs) {
  EXPECT_EQ(ErrorOf(R"({ .a = 1 } | count() > 2)"),
            "invalid TraceQL query: col 12: pipelines (|) are not supported (nor the aggregates, "
            "select() and metrics functions that follow them)");
  EXPECT_EQ(ErrorOf(R"({ .a = 1 } | select(.b))"),
            "invalid TraceQL query: col 12: pipelines (|) are not supported (nor the aggregates, "
            "select() and metrics functions that follow them)");
  EXPECT_EQ(ErrorOf("{ .a = 1 } >> { .b = 2 }"),
            "invalid TraceQL query: col 12: structural operator \">>\" is not supported");
  EXPECT_EQ(ErrorOf("{ .a = 1 } > { .b = 2 }"),
            "invalid TraceQL query: col 12: structural operator \">\" is not supported");
  EXPECT_EQ(ErrorOf("{ .a = 1 } ~ { .b = 2 }"),
            "invalid TraceQL query: col 12: structural operator \"~\" is not supported");
  EXPECT_EQ(ErrorOf("{ .a = 1 } << { .b = 2 }"),
            "invalid TraceQL query: col 12: structural operator \"<<\" is not supported");
  EXPECT_EQ(ErrorOf("{ .a = 1 } !>> { .b = 2 }"),
            "invalid TraceQL query: col 12: structural operator \"!>>\" is not supported");
  EXPECT_EQ(ErrorOf("{ .a = 1 } &>> { .b = 2 }"),
            "invalid TraceQL query: col 12: structural operator \"&>>\" is not supported");
  EXPECT_EQ(ErrorOf("count() > 1"),
            "invalid TraceQL query: col 1: function count() is not supported");
  EXPECT_EQ(ErrorOf("{ avg(duration) > 1s }"),
            "invalid TraceQL query: col 3: function avg() is not supported");
  EXPECT_EQ(ErrorOf("{ .a + 1 = 2 }"),
            "invalid TraceQL query: col 6: arithmetic (\"+\") is not supported");
  EXPECT_EQ(ErrorOf("{ !(.a = 1) }"),
            "invalid TraceQL query: col 3: negation (!) is not supported");
  EXPECT_EQ(ErrorOf("{ .a = nil }"), "invalid TraceQL query: col 8: nil is not supported");
  EXPECT_EQ(ErrorOf("{ .a != nil }"), "invalid TraceQL query: col 9: nil is not supported");
  EXPECT_EQ(ErrorOf("{ .a = 1 } with (most_recent=true)"),
            "invalid TraceQL query: col 12: query hints (with) are not supported");
  EXPECT_EQ(ErrorOf(R"({ event.name = "x" })"),
            "invalid TraceQL query: col 3: attribute scope \"event\" is not supported (use span., "
            "resource. or an unscoped .name)");
  EXPECT_EQ(ErrorOf(R"({ link.a = "x" })"),
            "invalid TraceQL query: col 3: attribute scope \"link\" is not supported (use span., "
            "resource. or an unscoped .name)");
  EXPECT_EQ(ErrorOf(R"({ instrumentation.a = "x" })"),
            "invalid TraceQL query: col 3: attribute scope \"instrumentation\" is not supported "
            "(use span., resource. or an unscoped .name)");
  EXPECT_EQ(ErrorOf("{ childCount > 2 }"),
            "invalid TraceQL query: col 3: intrinsic \"childCount\" is not supported (use name, "
            "status, statusMessage, kind, duration, rootServiceName, rootName or traceDuration)");
  EXPECT_EQ(ErrorOf("{ event:name = \"x\" }"),
            "invalid TraceQL query: col 3: intrinsic \"event:name\" is not supported (use name, "
            "status, statusMessage, kind, duration, rootServiceName, rootName or traceDuration)");
  EXPECT_EQ(ErrorOf("{ span.cached }"),
            "invalid TraceQL query: col 15: expected a comparison operator (a field alone is not "
            "supported), found \"}\"");
}

TEST(TraceqlParserTest, SyntaxAndTypeErrors) {
  EXPECT_EQ(ErrorOf(""),
            "invalid TraceQL query: col 1: expected \"{\" (a spanset filter), found "
            "end of query");
  EXPECT_EQ(ErrorOf("{ .a = 1"),
            "invalid TraceQL query: col 9: expected &&, || or \"}\", found end of query");
  EXPECT_EQ(ErrorOf("{ .a = \"x }"), "invalid TraceQL query: col 8: unterminated string");
  EXPECT_EQ(ErrorOf(R"({ .a = "\q" })"),
            "invalid TraceQL query: col 9: unknown escape \\q in string");
  EXPECT_EQ(ErrorOf(R"({ .a = "\u12" })"),
            "invalid TraceQL query: col 9: invalid \\u escape in string (expected 4 hex digits)");
  EXPECT_EQ(ErrorOf("{ .a = 99999999999999999999 }"),
            "invalid TraceQL query: col 8: integer 99999999999999999999 out of range");
  EXPECT_EQ(
      ErrorOf("{ duration > 5 }"),
      "invalid TraceQL query: col 14: duration compares with a duration such as 100ms, not 5");
  EXPECT_EQ(ErrorOf("{ duration > 5parsecs }"),
            "invalid TraceQL query: col 14: invalid duration \"5parsecs\"");
  EXPECT_EQ(ErrorOf("{ duration > -5s }"),
            "invalid TraceQL query: col 14: negative durations are not supported");
  EXPECT_EQ(ErrorOf("{ status = 2 }"),
            "invalid TraceQL query: col 12: status compares with error, ok or unset, not 2");
  EXPECT_EQ(ErrorOf("{ status > error }"),
            "invalid TraceQL query: col 3: status takes only = and !=");
  EXPECT_EQ(ErrorOf("{ kind = error }"),
            "invalid TraceQL query: col 10: kind compares with server, client, producer, consumer, "
            "internal or unspecified, not error");
  EXPECT_EQ(ErrorOf("{ name = 5 }"),
            "invalid TraceQL query: col 10: name compares with a string, not 5");
  EXPECT_EQ(ErrorOf("{ .a = server }"),
            "invalid TraceQL query: col 8: .a compares with a string, number, duration or boolean, "
            "not server");
  EXPECT_EQ(ErrorOf("{ .a > true }"), "invalid TraceQL query: col 3: booleans take only = and !=");
  EXPECT_EQ(ErrorOf("{ .a =~ 5 }"),
            "invalid TraceQL query: col 9: =~ and !~ take a string pattern, not 5");
  EXPECT_EQ(ErrorOf(R"({ .a =~ "(" })"),
            "invalid TraceQL query: col 9: invalid regular expression \"(\": missing ): (");
  EXPECT_EQ(ErrorOf("{ . = 1 }"),
            "invalid TraceQL query: col 5: expected an attribute name, found \"=\"");
  EXPECT_EQ(
      ErrorOf("{ .a = bogus }"),
      "invalid TraceQL query: col 8: expected a value (a string, number, duration, true, false, "
      "status or kind), found \"bogus\"");
  EXPECT_EQ(
      ErrorOf("{ .a = 1 } {"),
      "invalid TraceQL query: col 12: expected end of query or && or || between spansets, found "
      "\"{\"");
  EXPECT_EQ(ErrorOf("({ .a = 1 }"),
            "invalid TraceQL query: col 12: expected \")\", found end of query");
}

TEST(TraceqlParserTest, NestingIsBounded) {
  std::string ok =
      std::string(kMaxTraceqlDepth - 1, '(') + "{}" + std::string(kMaxTraceqlDepth - 1, ')');
  EXPECT_EQ(Parsed(ok), "{true}");
  std::string deep = std::string(100000, '(') + "{}" + std::string(100000, ')');
  EXPECT_EQ(ErrorOf(deep), "invalid TraceQL query: col 33: nesting deeper than 32 levels");
  std::string inner = "{ " + std::string(100000, '(') + ".a = 1" + std::string(100000, ')') + " }";
  EXPECT_EQ(ErrorOf(inner), "invalid TraceQL query: col 34: nesting deeper than 32 levels");
}

}  // namespace
}  // namespace teletrace::api::tempo
