// TraceQL evaluation over one trace (matching and non-matching cases for every construct) and the
// filters pushed down to the backend.
#include "api/tempo/traceql_evaluator.h"

#include "gtest/gtest.h"
#include "query/parse.h"

namespace teletrace::api::tempo {
namespace {

// Trace: 0 root "GET /cart" (frontend, server, 100 ms, http.status_code=200, ratio=0.25,
// cached=false); 1 "SELECT" (backend, client, 30 ms, error "timeout", db.system="pg",
// service.name="override"); 2 "publish" (backend, producer, 5 ms, latency=20000000).
std::vector<model::StoredSpan> Sample() {
  model::SpanBatch batch;
  auto& front = batch.resource_spans.emplace_back();
  front.resource.attributes = {{"service.name", "frontend"}, {"env", "prod"}};
  model::Span root;
  root.trace_id.fill(0x11);
  root.span_id.fill(1);
  root.name = "GET /cart";
  root.kind = model::SpanKind::kServer;
  root.start_time_unix_nano = 1'000'000'000;
  root.end_time_unix_nano = 1'100'000'000;
  root.attributes = {{"http.status_code", 200}, {"ratio", 0.25}, {"cached", false}};
  front.scope_spans.emplace_back().spans.push_back(root);
  auto& back = batch.resource_spans.emplace_back();
  back.resource.attributes = {{"service.name", "backend"}, {"env", "prod"}};
  auto& ss = back.scope_spans.emplace_back();
  model::Span db = root;
  db.span_id.fill(2);
  db.parent_span_id.fill(1);
  db.name = "SELECT";
  db.kind = model::SpanKind::kClient;
  db.start_time_unix_nano = 1'010'000'000;
  db.end_time_unix_nano = 1'040'000'000;
  db.attributes = {{"db.system", "pg"}, {"service.name", "override"}};
  db.status = {"timeout", model::StatusCode::kError};
  ss.spans.push_back(db);
  model::Span pub = db;
  pub.span_id.fill(3);
  pub.name = "publish";
  pub.kind = model::SpanKind::kProducer;
  pub.start_time_unix_nano = 1'050'000'000;
  pub.end_time_unix_nano = 1'055'000'000;
  pub.attributes = {{"latency", 20'000'000}};
  pub.status = {};
  ss.spans.push_back(pub);
  return model::Flatten(std::move(batch), 1);
}

std::vector<size_t> Match(std::string_view q) {
  absl::StatusOr<SpansetExpr> e = ParseTraceql(q);
  EXPECT_TRUE(e.ok()) << e.status();
  if (!e.ok()) return {999};
  return MatchTrace(*e, Sample());
}

using V = std::vector<size_t>;

TEST(TraceqlEvaluatorTest, EmptyFilterSelectsEverySpan) { EXPECT_EQ(Match("{}"), (V{0, 1, 2})); }

TEST(TraceqlEvaluatorTest, Intrinsics) {
  EXPECT_EQ(Match(R"({ name = "SELECT" })"), (V{1}));
  EXPECT_EQ(Match(R"({ name = "nope" })"), V{});
  EXPECT_EQ(Match(R"({ name != "SELECT" })"), (V{0, 2}));
  EXPECT_EQ(Match(R"({ name =~ "GET.*" })"), (V{0}));
  EXPECT_EQ(Match(R"({ name =~ "GET" })"), V{});  // fully anchored
  EXPECT_EQ(Match(R"({ name !~ ".*E.*" })"), (V{2}));
  EXPECT_EQ(Match(R"({ name > "P" })"), (V{1, 2}));
  EXPECT_EQ(Match("{ status = error }"), (V{1}));
  EXPECT_EQ(Match("{ status != error }"), (V{0, 2}));
  EXPECT_EQ(Match("{ status = ok }"), V{});
  EXPECT_EQ(Match("{ status = unset }"), (V{0, 2}));
  EXPECT_EQ(Match(R"({ statusMessage = "timeout" })"), (V{1}));
  EXPECT_EQ(Match("{ kind = server }"), (V{0}));
  EXPECT_EQ(Match("{ kind != server }"), (V{1, 2}));
  EXPECT_EQ(Match("{ kind = consumer }"), V{});
  EXPECT_EQ(Match("{ duration > 30ms }"), (V{0}));
  EXPECT_EQ(Match("{ duration >= 30ms }"), (V{0, 1}));
  EXPECT_EQ(Match("{ duration < 30ms }"), (V{2}));
  EXPECT_EQ(Match("{ duration <= 0.03s }"), (V{1, 2}));
  EXPECT_EQ(Match("{ duration = 5ms }"), (V{2}));
  EXPECT_EQ(Match("{ duration > 1s }"), V{});
}

TEST(TraceqlEvaluatorTest, TraceIntrinsicsHoldForEverySpan) {
  EXPECT_EQ(Match(R"({ rootServiceName = "frontend" })"), (V{0, 1, 2}));
  EXPECT_EQ(Match(R"({ rootServiceName = "backend" })"), V{});
  EXPECT_EQ(Match(R"({ rootName = "GET /cart" && kind = client })"), (V{1}));
  EXPECT_EQ(Match("{ traceDuration = 100ms }"), (V{0, 1, 2}));
  EXPECT_EQ(Match("{ traceDuration > 100ms }"), V{});
}

TEST(TraceqlEvaluatorTest, Attributes) {
  EXPECT_EQ(Match(R"({ resource.service.name = "backend" })"), (V{1, 2}));
  EXPECT_EQ(Match(R"({ span.service.name = "override" })"), (V{1}));
  // Unscoped: the span's own attribute first, then the resource's.
  EXPECT_EQ(Match(R"({ .service.name = "backend" })"), (V{2}));
  EXPECT_EQ(Match(R"({ .service.name = "override" })"), (V{1}));
  EXPECT_EQ(Match(R"({ .env = "prod" })"), (V{0, 1, 2}));
  EXPECT_EQ(Match("{ span.http.status_code = 200 }"), (V{0}));
  EXPECT_EQ(Match("{ span.http.status_code >= 200.0 }"), (V{0}));
  EXPECT_EQ(Match("{ span.http.status_code > 200 }"), V{});
  EXPECT_EQ(Match(R"({ span.http.status_code = "200" })"), V{});  // typed: int is not a string
  EXPECT_EQ(Match("{ span.ratio < 0.5 }"), (V{0}));
  EXPECT_EQ(Match("{ span.ratio > 0 }"), (V{0}));
  EXPECT_EQ(Match("{ span.cached = false }"), (V{0}));
  EXPECT_EQ(Match("{ span.cached != true }"), (V{0}));
  EXPECT_EQ(Match("{ span.latency = 20ms }"), (V{2}));
  EXPECT_EQ(Match(R"({ span.db.system =~ "p." })"), (V{1}));
  // A missing attribute fails every operator, != included.
  EXPECT_EQ(Match(R"({ span.db.system != "mysql" })"), (V{1}));
  EXPECT_EQ(Match(R"({ span.missing != "x" })"), V{});
}

TEST(TraceqlEvaluatorTest, BooleanStructure) {
  EXPECT_EQ(Match(R"({ kind = server || status = error })"), (V{0, 1}));
  EXPECT_EQ(
      Match(R"({ resource.service.name = "backend" && (status = error || duration < 10ms) })"),
      (V{1, 2}));
  EXPECT_EQ(Match(R"({ resource.service.name = "backend" && kind = server })"), V{});
}

TEST(TraceqlEvaluatorTest, SpansetOperators) {
  EXPECT_EQ(Match(R"({ kind = server } && { status = error })"), (V{0, 1}));
  EXPECT_EQ(Match(R"({ kind = server } && { kind = consumer })"), V{});
  EXPECT_EQ(Match(R"({ kind = consumer } || { status = error })"), (V{1}));
  EXPECT_EQ(Match(R"({ kind = consumer } || { name = "nope" })"), V{});
  EXPECT_EQ(Match(R"(({ kind = consumer } || { kind = producer }) && { kind = server })"),
            (V{0, 2}));
}

TEST(TraceqlEvaluatorTest, TraceFactsWithoutRoot) {
  std::vector<model::StoredSpan> spans = Sample();
  spans.erase(spans.begin());
  TraceFacts facts = ComputeTraceFacts(spans);
  EXPECT_EQ(facts.root, nullptr);
  EXPECT_EQ(facts.start_unix_nano, 1'010'000'000u);
  EXPECT_EQ(facts.end_unix_nano, 1'055'000'000u);
  absl::StatusOr<SpansetExpr> e = ParseTraceql(R"({ rootServiceName != "x" })");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(MatchTrace(*e, spans), V{});
}

std::string Pushdown(std::string_view q) {
  absl::StatusOr<SpansetExpr> e = ParseTraceql(q);
  EXPECT_TRUE(e.ok()) << e.status();
  std::string out;
  for (const query::Filter& f : TraceqlPushdown(*e)) {
    if (!out.empty()) out += "; ";
    out += f.key.text + " " + std::string(query::OperatorName(f.op)) + " ";
    std::visit(
        [&](const auto& v) {
          if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
            out += v;
          } else {
            out += std::to_string(v);
          }
        },
        *f.value);
  }
  return out;
}

TEST(TraceqlEvaluatorTest, Pushdown) {
  EXPECT_EQ(
      Pushdown(R"({ resource.service.name = "cart" && span.http.method = "GET" && name = "x" })"),
      "resource.attributes.service.name equals cart; span.attributes.http.method equals GET; "
      "span.name equals x");
  EXPECT_EQ(Pushdown("{ status = error && kind = server && duration >= 10ms && duration < 1s }"),
            "span.status.code equals Error; span.kind equals Server; externalFields.durationNano "
            "gte 10000000; "
            "externalFields.durationNano lt 1000000000");
  EXPECT_EQ(Pushdown(R"({ name != "x" && status != ok })"),
            "span.name not_equals x; span.status.code not_equals Ok");
  // Not expressible exactly: unscoped, regex, non-string attribute values, trace intrinsics, ||.
  EXPECT_EQ(
      Pushdown(R"({ .a = "x" && span.b =~ "y" && span.c = 5 && rootName = "r" && span.d != "z" })"),
      "");
  EXPECT_EQ(Pushdown(R"({ name = "a" || name = "b" })"), "");
  EXPECT_EQ(Pushdown(R"({ name = "a" } || { name = "b" })"), "");
  // The first spanset of a && is required of every match.
  EXPECT_EQ(Pushdown(R"({ name = "a" } && { name = "b" })"), "span.name equals a");
  EXPECT_EQ(Pushdown("{}"), "");
}

TEST(TraceqlEvaluatorTest, ReferencedFields) {
  absl::StatusOr<SpansetExpr> e = ParseTraceql(
      R"({ span.a = 1 && name = "x" } && { span.a = 2 || resource.b = "y" || status = error })");
  ASSERT_TRUE(e.ok());
  std::vector<TraceqlField> fields = ReferencedFields(*e);
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[0].text, "span.a");
  EXPECT_EQ(fields[1].text, "name");
  EXPECT_EQ(fields[2].text, "resource.b");
  EXPECT_EQ(fields[3].text, "status");
}

}  // namespace
}  // namespace teletrace::api::tempo
