#include <utility>  // before Boost (Beast 1.74 with g++ 12 in C++20)

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <set>
#include <thread>

#include "common/ids.h"
#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "loadgen/exporter.h"
#include "loadgen/options.h"
#include "loadgen/payload.h"
#include "loadgen/request_pool.h"
#include "loadgen/runner.h"
#include "loadgen/trace_generator.h"
#include "loadgen/wire.h"
#include "nlohmann/json.hpp"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

namespace teletrace::loadgen {
namespace {

using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::trace::v1::Span;
using ::testing::ElementsAre;

constexpr uint64_t kBaseTime = 1700000000000000000ULL;

std::vector<const Span*> AllSpans(const ExportRequest& request) {
  std::vector<const Span*> spans;
  for (const auto& rs : request.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& span : ss.spans()) spans.push_back(&span);
    }
  }
  return spans;
}

TraceShape SmallShape() {
  TraceShape shape;
  shape.depth = 3;
  shape.fanout = 3;
  shape.spans_per_trace = 13;  // a full tree: 1 + 3 + 9
  return shape;
}

// Checks that `spans` form one tree: one root, every parent present, depth and fan-out bounded.
void ExpectOneTree(const std::vector<const Span*>& spans, int max_depth, int max_fanout) {
  std::map<std::string, const Span*> by_id;
  for (const Span* span : spans) {
    EXPECT_TRUE(by_id.emplace(span->span_id(), span).second) << "duplicate span id";
  }
  int roots = 0;
  std::map<std::string, int> children;
  for (const Span* span : spans) {
    if (span->parent_span_id().empty()) {
      ++roots;
      continue;
    }
    ASSERT_EQ(by_id.count(span->parent_span_id()), 1u) << "parent not in trace";
    ++children[span->parent_span_id()];
  }
  EXPECT_EQ(roots, 1);
  for (const auto& [id, count] : children) EXPECT_LE(count, max_fanout);
  for (const Span* span : spans) {
    int depth = 1;
    for (const Span* s = span; !s->parent_span_id().empty(); s = by_id[s->parent_span_id()]) {
      ++depth;
      ASSERT_LE(depth, max_depth);
    }
  }
}

std::map<std::string, std::vector<const Span*>> ByTrace(const ExportRequest& request) {
  std::map<std::string, std::vector<const Span*>> traces;
  for (const Span* span : AllSpans(request)) traces[span->trace_id()].push_back(span);
  return traces;
}

// ---------------------------------------------------------------------------------------------
// Flags

TEST(OptionsTest, DefaultsWithoutFlags) {
  auto options = ParseLoadgenFlags(std::vector<std::string>{});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->endpoint, "127.0.0.1:4317");
  EXPECT_EQ(options->protocol, Protocol::kGrpc);
  EXPECT_EQ(options->batch, 1000);
  EXPECT_EQ(options->duration_s, 10);
  EXPECT_EQ(options->shape.attributes, 10);
  EXPECT_DOUBLE_EQ(options->shape.event_ratio, 0.1);
}

TEST(OptionsTest, ParsesEveryKindOfValue) {
  auto options = ParseLoadgenFlags(std::vector<std::string>{
      "--protocol=http-json", "--gzip", "--connections=8", "--rate=25000.5", "--total-spans=20000",
      "--spans-per-trace=7", "--event-ratio=0.25", "--seed=42", "--json"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->protocol, Protocol::kHttpJson);
  EXPECT_EQ(options->endpoint, "127.0.0.1:4318");  // the HTTP default
  EXPECT_TRUE(options->gzip);
  EXPECT_EQ(options->connections, 8);
  EXPECT_DOUBLE_EQ(options->rate, 25000.5);
  EXPECT_EQ(options->total_spans, 20000);
  EXPECT_EQ(options->duration_s, 0);  // --total-spans bounds the run
  EXPECT_EQ(options->shape.spans_per_trace, 7);
  EXPECT_DOUBLE_EQ(options->shape.event_ratio, 0.25);
  EXPECT_EQ(options->seed, 42u);
  EXPECT_TRUE(options->json);
}

TEST(OptionsTest, ErrorsNameTheFlagAndValue) {
  auto error = [](std::vector<std::string> args) {
    return std::string(ParseLoadgenFlags(args).status().message());
  };
  EXPECT_EQ(error({"--rate=fast"}), "--rate: expected a number >= 0, got 'fast'");
  EXPECT_EQ(error({"--connections=0"}), "--connections: expected an integer in [1, 1024], got '0'");
  EXPECT_EQ(error({"--event-ratio=1.5"}), "--event-ratio: expected a number in [0, 1], got '1.5'");
  EXPECT_EQ(error({"--foo=1"}), "unknown flag --foo (see --help)");
  EXPECT_EQ(error({"--batch"}), "--batch: needs a value (--batch=...)");
  EXPECT_EQ(error({"--protocol=udp"}),
            "--protocol: expected grpc, http-protobuf or http-json, got 'udp'");
  EXPECT_EQ(error({"batch=3"}),
            "unexpected argument 'batch=3': flags are --key=value (see --help)");
  EXPECT_EQ(error({"--depth=2", "--fanout=3", "--spans-per-trace=5"}),
            "--spans-per-trace: 5 spans do not fit a tree of depth 2 and fan-out 3 (at most 4)");
  EXPECT_EQ(ParseLoadgenFlags(std::vector<std::string>{"--rate=x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(OptionsTest, HelpListsEveryFlag) {
  std::string help = LoadgenHelpText();
  for (const char* flag :
       {"--endpoint", "--protocol", "--gzip", "--connections", "--rate", "--duration",
        "--total-spans", "--batch", "--services", "--operations", "--depth", "--fanout",
        "--spans-per-trace", "--attributes", "--event-ratio", "--error-ratio", "--seed",
        "--huge-trace", "--record-acked", "--json", "--decode-baseline", "--pool", "--run-id",
        "--time-spread"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

TEST(OptionsTest, TimeSpreadNeedsABoundedRunWithoutAHugeTrace) {
  auto options = ParseLoadgenFlags(std::vector<std::string>{"--time-spread=3600",
                                                            "--total-spans=1000"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->time_spread_s, 3600);
  auto by_default = ParseLoadgenFlags(std::vector<std::string>{});
  ASSERT_TRUE(by_default.ok());
  EXPECT_EQ(by_default->time_spread_s, 0);
  auto with_default_duration = ParseLoadgenFlags(std::vector<std::string>{"--time-spread=60"});
  ASSERT_TRUE(with_default_duration.ok());
  EXPECT_EQ(with_default_duration->duration_s, 10);
  auto error = [](std::vector<std::string> args) {
    return std::string(ParseLoadgenFlags(args).status().message());
  };
  EXPECT_EQ(error({"--time-spread=3600", "--huge-trace=1000"}),
            "--time-spread: cannot be combined with --huge-trace");
  EXPECT_EQ(error({"--time-spread=3600", "--duration=0"}),
            "--time-spread: needs a bounded run (--total-spans or --duration > 0)");
  EXPECT_EQ(error({"--time-spread=-1"}), "--time-spread: expected a number >= 0, got '-1'");
}

TEST(OptionsTest, TreeCapacity) {
  EXPECT_EQ(TreeCapacity(1, 5), 1);
  EXPECT_EQ(TreeCapacity(3, 3), 13);
  EXPECT_EQ(TreeCapacity(5, 4), 341);
  EXPECT_EQ(TreeCapacity(100, 100), 2147483647);
}

// ---------------------------------------------------------------------------------------------
// Trace shape

TEST(TraceGeneratorTest, WholeTracesOfExactSizeEachOneTree) {
  TraceGenerator generator(SmallShape(), 7, kBaseTime);
  ExportRequest request;
  std::vector<GeneratedTrace> traces;
  generator.NextRequest(130, &request, &traces);
  EXPECT_EQ(AllSpans(request).size(), 130u);
  ASSERT_EQ(traces.size(), 10u);
  for (const GeneratedTrace& trace : traces) EXPECT_EQ(trace.span_count, 13);
  auto by_trace = ByTrace(request);
  ASSERT_EQ(by_trace.size(), 10u);
  for (const auto& [id, spans] : by_trace) {
    EXPECT_EQ(spans.size(), 13u);
    ExpectOneTree(spans, 3, 3);
  }
}

TEST(TraceGeneratorTest, DefaultShapeTreesRespectDepthAndFanout) {
  TraceShape shape;  // depth 5, fan-out 4, 20 spans
  TraceGenerator generator(shape, 3, kBaseTime);
  ExportRequest request;
  std::vector<GeneratedTrace> traces;
  generator.NextRequest(1000, &request, &traces);
  auto by_trace = ByTrace(request);
  ASSERT_EQ(by_trace.size(), 50u);
  for (const auto& [id, spans] : by_trace) {
    EXPECT_EQ(spans.size(), 20u);
    ExpectOneTree(spans, 5, 4);
  }
}

TEST(TraceGeneratorTest, LastTraceIsCutShortButStillATree) {
  TraceShape shape;
  shape.spans_per_trace = 10;
  TraceGenerator generator(shape, 7, kBaseTime);
  ExportRequest request;
  std::vector<GeneratedTrace> traces;
  generator.NextRequest(25, &request, &traces);
  ASSERT_EQ(traces.size(), 3u);
  EXPECT_EQ(traces[0].span_count, 10);
  EXPECT_EQ(traces[1].span_count, 10);
  EXPECT_EQ(traces[2].span_count, 5);
  for (const auto& [id, spans] : ByTrace(request)) ExpectOneTree(spans, shape.depth, shape.fanout);
}

TEST(TraceGeneratorTest, AttributesAreTypedAndCounted) {
  TraceGenerator generator(TraceShape{}, 1, kBaseTime);
  ExportRequest request;
  std::vector<GeneratedTrace> traces;
  generator.NextRequest(200, &request, &traces);
  std::set<AnyValue::ValueCase> kinds;
  for (const Span* span : AllSpans(request)) {
    ASSERT_EQ(span->attributes_size(), 10);
    EXPECT_EQ(span->attributes(0).key(), "http.method");
    EXPECT_EQ(span->attributes(2).key(), "http.status_code");
    EXPECT_EQ(span->attributes(4).key(), "user.id");
    for (const auto& kv : span->attributes()) kinds.insert(kv.value().value_case());
    EXPECT_GT(span->end_time_unix_nano(), span->start_time_unix_nano());
    EXPECT_GE(span->start_time_unix_nano(), kBaseTime);
  }
  EXPECT_THAT(kinds, ElementsAre(AnyValue::kStringValue, AnyValue::kBoolValue,
                                 AnyValue::kIntValue, AnyValue::kDoubleValue));
  for (const auto& rs : request.resource_spans()) {
    std::vector<std::string> keys;
    for (const auto& kv : rs.resource().attributes()) keys.push_back(kv.key());
    EXPECT_THAT(keys, ElementsAre("service.name", "service.version", "host.name",
                                  "deployment.environment", "telemetry.sdk.language",
                                  "process.pid"));
  }

  TraceShape wide;
  wide.attributes = 14;
  TraceGenerator wide_generator(wide, 1, kBaseTime);
  wide_generator.NextRequest(40, &request, &traces);
  for (const Span* span : AllSpans(request)) {
    ASSERT_EQ(span->attributes_size(), 14);
    EXPECT_EQ(span->attributes(13).key(), "app.attr_13");
  }
}

TEST(TraceGeneratorTest, EventAndErrorCountsAreExact) {
  TraceGenerator generator(TraceShape{}, 11, kBaseTime);
  ExportRequest request;
  std::vector<GeneratedTrace> traces;
  generator.NextRequest(1000, &request, &traces);
  int events = 0;
  int errors = 0;
  for (const Span* span : AllSpans(request)) {
    if (span->events_size() > 0) {
      ++events;
      EXPECT_EQ(span->events(0).name(), "exception");
      EXPECT_EQ(span->events(0).attributes(0).key(), "exception.type");
    }
    if (span->status().code() == opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR) {
      ++errors;
      EXPECT_EQ(span->events_size(), 1) << "an error span carries its exception";
      EXPECT_EQ(span->attributes(2).value().int_value(), 500);
    }
  }
  EXPECT_EQ(events, 100);  // floor(1000 * 0.1)
  EXPECT_EQ(errors, 50);   // floor(100 * 0.5)

  // The count carries over between requests: floor(1333 * 0.1) - 100 = 33.
  generator.NextRequest(333, &request, &traces);
  events = 0;
  for (const Span* span : AllSpans(request)) events += span->events_size() > 0 ? 1 : 0;
  EXPECT_EQ(events, 33);

  TraceShape none;
  none.event_ratio = 0;
  TraceGenerator quiet(none, 11, kBaseTime);
  quiet.NextRequest(500, &request, &traces);
  for (const Span* span : AllSpans(request)) EXPECT_EQ(span->events_size(), 0);
}

TEST(TraceGeneratorTest, SameSeedSameBytesOtherSeedOtherBytes) {
  auto encode = [](uint64_t seed) {
    TraceGenerator generator(TraceShape{}, seed, kBaseTime);
    ExportRequest request;
    std::vector<GeneratedTrace> traces;
    generator.NextRequest(300, &request, &traces);
    return request.SerializeAsString();
  };
  EXPECT_EQ(encode(5), encode(5));
  EXPECT_NE(encode(5), encode(6));
}

TEST(TraceGeneratorTest, DefaultSpansAreAbout400BytesSerialized) {
  TraceGenerator generator(TraceShape{}, 1, kBaseTime);
  ExportRequest request;
  std::vector<GeneratedTrace> traces;
  generator.NextRequest(1000, &request, &traces);
  double per_span = static_cast<double>(request.ByteSizeLong()) / 1000.0;
  EXPECT_GE(per_span, 300);
  EXPECT_LE(per_span, 500);
}

TEST(TraceGeneratorTest, HugeTraceSpansRequestsAsOneTree) {
  TraceGenerator generator(TraceShape{}, 9, kBaseTime);
  TraceId id = generator.BeginHugeTrace(5000);  // more than depth 5 x fan-out 4 holds
  std::vector<ExportRequest> requests;
  while (generator.HugeTraceRemaining() > 0) {
    std::vector<GeneratedTrace> traces;
    requests.emplace_back();
    generator.NextRequest(1000, &requests.back(), &traces);
    ASSERT_EQ(traces.size(), 1u);
    EXPECT_EQ(traces[0].trace_id, id);
    EXPECT_EQ(traces[0].span_count, 1000);
  }
  ASSERT_EQ(requests.size(), 5u);
  std::vector<const Span*> spans;
  for (const ExportRequest& request : requests) {
    for (const Span* span : AllSpans(request)) {
      EXPECT_EQ(span->trace_id(), std::string(IdBytes(id)));
      spans.push_back(span);
    }
  }
  ASSERT_EQ(spans.size(), 5000u);
  ExpectOneTree(spans, 5, 1 << 20);
}

// ---------------------------------------------------------------------------------------------
// Encoding and per-send patching

EncodedRequest Encoded(Encoding encoding, int64_t spans = 200, uint64_t seed = 1) {
  TraceGenerator generator(TraceShape{}, seed, kBaseTime);
  ExportRequest request;
  std::vector<GeneratedTrace> traces;
  generator.NextRequest(spans, &request, &traces);
  auto encoded = EncodeRequest(request, traces, encoding);
  EXPECT_TRUE(encoded.ok()) << encoded.status();
  return *std::move(encoded);
}

TEST(PayloadTest, ProtobufPatchSaltsTraceIdsAndShiftsTimes) {
  EncodedRequest encoded = Encoded(Encoding::kProtobuf);
  EXPECT_EQ(encoded.span_count, 200);
  EXPECT_EQ(encoded.salt_offsets.size(), 200u);
  ExportRequest original;
  ASSERT_TRUE(original.ParseFromString(encoded.bytes));

  std::string patched;
  uint64_t salt = SaltForSend(77, 3);
  PatchRequest(encoded, salt, 5000, &patched);
  ExportRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(patched));
  auto before = AllSpans(original);
  auto after = AllSpans(parsed);
  ASSERT_EQ(before.size(), after.size());
  std::set<std::string> traces_after;
  for (size_t i = 0; i < before.size(); ++i) {
    TraceId original_id{};
    ASSERT_TRUE(IdFromBytes(before[i]->trace_id(), &original_id));
    EXPECT_EQ(after[i]->trace_id(), std::string(IdBytes(SaltTraceId(original_id, salt))));
    EXPECT_EQ(after[i]->span_id(), before[i]->span_id());
    EXPECT_EQ(after[i]->parent_span_id(), before[i]->parent_span_id());
    EXPECT_EQ(after[i]->start_time_unix_nano(), before[i]->start_time_unix_nano() + 5000);
    EXPECT_EQ(after[i]->end_time_unix_nano(), before[i]->end_time_unix_nano() + 5000);
    if (before[i]->events_size() > 0) {
      EXPECT_EQ(after[i]->events(0).time_unix_nano(), before[i]->events(0).time_unix_nano() + 5000);
    }
    traces_after.insert(after[i]->trace_id());
  }
  EXPECT_EQ(traces_after.size(), 10u);  // 200 spans / 20 per trace, still distinct
}

TEST(PayloadTest, RepeatedSendsNeverRepeatATraceId) {
  // A pool of 4 requests sent 400 times round-robin, as the runner does.
  std::vector<EncodedRequest> pool;
  TraceGenerator generator(TraceShape{}, 1, kBaseTime);
  for (int i = 0; i < 4; ++i) {
    ExportRequest request;
    std::vector<GeneratedTrace> traces;
    generator.NextRequest(100, &request, &traces);
    pool.push_back(*EncodeRequest(request, traces, Encoding::kProtobuf));
  }
  std::set<std::string> ids;
  std::string patched;
  for (uint64_t send = 0; send < 400; ++send) {
    PatchRequest(pool[send % 4], SaltForSend(12345, send), 0, &patched);
    ExportRequest parsed;
    ASSERT_TRUE(parsed.ParseFromString(patched));
    for (const auto& [id, spans] : ByTrace(parsed)) {
      EXPECT_EQ(spans.size(), 20u);
      ids.insert(id);
    }
  }
  EXPECT_EQ(ids.size(), 400u * 5);
}

TEST(PayloadTest, JsonHasHexIdsStringIntegersAndPatchesLikeProtobuf) {
  EncodedRequest proto = Encoded(Encoding::kProtobuf);
  EncodedRequest json = Encoded(Encoding::kJson);
  EXPECT_EQ(json.salt_offsets.size(), 200u);
  ExportRequest original;
  ASSERT_TRUE(original.ParseFromString(proto.bytes));
  auto spans = AllSpans(original);

  uint64_t salt = SaltForSend(1, 99);
  std::string patched;
  PatchRequest(json, salt, 1234567, &patched);
  nlohmann::json doc = nlohmann::json::parse(patched);
  size_t i = 0;
  for (const auto& rs : doc["resourceSpans"]) {
    EXPECT_EQ(rs["resource"]["attributes"].size(), 6u);
    for (const auto& ss : rs["scopeSpans"]) {
      for (const auto& span : ss["spans"]) {
        ASSERT_LT(i, spans.size());
        const Span& expected = *spans[i++];
        TraceId trace_id{};
        ASSERT_TRUE(IdFromBytes(expected.trace_id(), &trace_id));
        EXPECT_EQ(span["traceId"], ToHex(SaltTraceId(trace_id, salt)));
        EXPECT_EQ(span["spanId"], ToHex(expected.span_id()));
        EXPECT_EQ(span["spanId"].get<std::string>().size(), 16u);
        if (expected.parent_span_id().empty()) {
          EXPECT_FALSE(span.contains("parentSpanId"));
        } else {
          EXPECT_EQ(span["parentSpanId"], ToHex(expected.parent_span_id()));
        }
        EXPECT_EQ(span["kind"], static_cast<int>(expected.kind()));
        EXPECT_EQ(span["startTimeUnixNano"],
                  std::to_string(expected.start_time_unix_nano() + 1234567));
        EXPECT_EQ(span["name"], expected.name());
        EXPECT_EQ(span["attributes"][2]["key"], "http.status_code");
        EXPECT_EQ(span["attributes"][2]["value"]["intValue"],
                  std::to_string(expected.attributes(2).value().int_value()));
        EXPECT_EQ(span["attributes"][7]["value"]["doubleValue"].get<double>(),
                  expected.attributes(7).value().double_value());
        EXPECT_EQ(span["attributes"][8]["value"]["boolValue"].get<bool>(),
                  expected.attributes(8).value().bool_value());
        EXPECT_EQ(span.contains("events"), expected.events_size() > 0);
      }
    }
  }
  EXPECT_EQ(i, 200u);
}

TEST(PayloadTest, SpreadTimeShiftPlacesRequestKOfNExactly) {
  const int64_t kHour = int64_t{3600} * 1000000000;
  const uint64_t kWindowEnd = kBaseTime + 10000000000ULL;  // the run starts 10 s after generation
  // k = 0: the window's start; k = n (and beyond): its end.
  EXPECT_EQ(SpreadTimeShift(kBaseTime, kWindowEnd, kHour, 0, 8), 10000000000 - kHour);
  EXPECT_EQ(SpreadTimeShift(kBaseTime, kWindowEnd, kHour, 3, 8), 10000000000 - kHour * 5 / 8);
  EXPECT_EQ(SpreadTimeShift(kBaseTime, kWindowEnd, kHour, 8, 8), 10000000000);
  EXPECT_EQ(SpreadTimeShift(kBaseTime, kWindowEnd, kHour, 9, 8), 10000000000);
  // Rounded down: 1 s * 1 / 3.
  EXPECT_EQ(SpreadTimeShift(kBaseTime, kBaseTime, 1000000000, 1, 3), -1000000000 + 333333333);
  // 10M requests over an hour: spread * k overflows 64 bits, the result must not.
  EXPECT_EQ(SpreadTimeShift(kBaseTime, kBaseTime, kHour, 9999999, 10000000),
            -kHour + kHour / 10000000 * 9999999);
}

// Request k of n of a --time-spread run, decoded: every span, and event, is moved by exactly
// SpreadTimeShift, so durations are unchanged.
TEST(PayloadTest, SpreadShiftMovesEveryTimestampOfAProtobufAndJsonRequest) {
  const int64_t kHour = int64_t{3600} * 1000000000;
  const uint64_t kWindowEnd = kBaseTime + 2500000000ULL;
  int64_t shift = SpreadTimeShift(kBaseTime, kWindowEnd, kHour, 7, 16);
  ASSERT_EQ(shift, 2500000000 - kHour * 9 / 16);
  EncodedRequest proto = Encoded(Encoding::kProtobuf);
  ExportRequest original;
  ASSERT_TRUE(original.ParseFromString(proto.bytes));
  auto before = AllSpans(original);

  std::string patched;
  PatchRequest(proto, SaltForSend(5, 7), shift, &patched);
  ExportRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(patched));
  auto after = AllSpans(parsed);
  ASSERT_EQ(after.size(), 200u);
  int events = 0;
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(static_cast<int64_t>(after[i]->start_time_unix_nano() -
                                   before[i]->start_time_unix_nano()),
              shift);
    EXPECT_EQ(
        static_cast<int64_t>(after[i]->end_time_unix_nano() - before[i]->end_time_unix_nano()),
        shift);
    EXPECT_EQ(after[i]->end_time_unix_nano() - after[i]->start_time_unix_nano(),
              before[i]->end_time_unix_nano() - before[i]->start_time_unix_nano());
    ASSERT_EQ(after[i]->events_size(), before[i]->events_size());
    for (int e = 0; e < after[i]->events_size(); ++e) {
      EXPECT_EQ(static_cast<int64_t>(after[i]->events(e).time_unix_nano() -
                                     before[i]->events(e).time_unix_nano()),
                shift);
      ++events;
    }
  }
  EXPECT_EQ(events, 20);  // 10% of 200 spans

  EncodedRequest json = Encoded(Encoding::kJson);
  PatchRequest(json, SaltForSend(5, 7), shift, &patched);
  nlohmann::json doc = nlohmann::json::parse(patched);
  size_t i = 0;
  for (const auto& rs : doc["resourceSpans"]) {
    for (const auto& ss : rs["scopeSpans"]) {
      for (const auto& span : ss["spans"]) {
        ASSERT_LT(i, before.size());
        const Span& expected = *before[i++];
        EXPECT_EQ(span["startTimeUnixNano"],
                  std::to_string(expected.start_time_unix_nano() + static_cast<uint64_t>(shift)));
        EXPECT_EQ(span["endTimeUnixNano"],
                  std::to_string(expected.end_time_unix_nano() + static_cast<uint64_t>(shift)));
      }
    }
  }
  EXPECT_EQ(i, 200u);
}

TEST(PayloadTest, GzipRoundTrip) {
  EncodedRequest encoded = Encoded(Encoding::kProtobuf, 1000);
  std::string compressed;
  ASSERT_TRUE(GzipCompress(encoded.bytes, 1, &compressed).ok());
  EXPECT_LT(compressed.size(), encoded.bytes.size() / 2);
  EXPECT_EQ(static_cast<uint8_t>(compressed[0]), 0x1f);
  EXPECT_EQ(static_cast<uint8_t>(compressed[1]), 0x8b);
  auto inflated = GzipDecompress(compressed);
  ASSERT_TRUE(inflated.ok()) << inflated.status();
  EXPECT_EQ(*inflated, encoded.bytes);
  EXPECT_EQ(GzipDecompress("not gzip").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(WireReaderTest, ReadsFieldsAndRejectsTruncation) {
  std::string bytes = {0x08, 0x2a, 0x12, 0x02, 'h', 'i', 0x19, 1, 0, 0, 0, 0, 0, 0, 0};
  WireReader reader(bytes, 100);
  ASSERT_TRUE(reader.Next());
  EXPECT_EQ(reader.field(), 1);
  EXPECT_EQ(reader.number(), 42u);
  ASSERT_TRUE(reader.Next());
  EXPECT_EQ(reader.field(), 2);
  EXPECT_EQ(reader.bytes(), "hi");
  EXPECT_EQ(reader.value_offset(), 104u);
  ASSERT_TRUE(reader.Next());
  EXPECT_EQ(reader.field(), 3);
  EXPECT_EQ(reader.number(), 1u);
  EXPECT_FALSE(reader.Next());
  EXPECT_TRUE(reader.ok());

  WireReader truncated(std::string_view("\x12\x05hi", 4));
  EXPECT_FALSE(truncated.Next());
  EXPECT_FALSE(truncated.ok());
}

// ---------------------------------------------------------------------------------------------
// Pool

TEST(RequestPoolTest, TotalSpansAreExactWithAShorterLastRequest) {
  auto options = ParseLoadgenFlags(std::vector<std::string>{"--total-spans=2500", "--pool=8"});
  ASSERT_TRUE(options.ok());
  auto pool = BuildRequestPool(*options, Encoding::kProtobuf, kBaseTime);
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ(pool->requests.size(), 2u);  // no more distinct requests than the run sends
  ASSERT_NE(pool->ForSend(0), nullptr);
  EXPECT_EQ(pool->ForSend(0)->span_count, 1000);
  EXPECT_EQ(pool->ForSend(1)->span_count, 1000);
  ASSERT_NE(pool->ForSend(2), nullptr);
  EXPECT_EQ(pool->ForSend(2)->span_count, 500);
  EXPECT_EQ(pool->ForSend(3), nullptr);
}

TEST(RequestPoolTest, UnboundedRunsCycleThePool) {
  auto options = ParseLoadgenFlags(std::vector<std::string>{"--pool=3", "--batch=100"});
  ASSERT_TRUE(options.ok());
  auto pool = BuildRequestPool(*options, Encoding::kJson, kBaseTime);
  ASSERT_TRUE(pool.ok()) << pool.status();
  ASSERT_EQ(pool->requests.size(), 3u);
  EXPECT_EQ(pool->ForSend(4), &pool->requests[1]);
  EXPECT_EQ(pool->ForSend(1000000), &pool->requests[1]);
}

TEST(RequestPoolTest, HugeTraceIsSentOnceInBatches) {
  auto options =
      ParseLoadgenFlags(std::vector<std::string>{"--huge-trace=2500", "--batch=1000"});
  ASSERT_TRUE(options.ok());
  auto pool = BuildRequestPool(*options, Encoding::kProtobuf, kBaseTime);
  ASSERT_TRUE(pool.ok()) << pool.status();
  ASSERT_EQ(pool->requests.size(), 3u);
  EXPECT_EQ(pool->requests[2].span_count, 500);
  EXPECT_EQ(pool->requests[0].traces[0].trace_id, pool->requests[2].traces[0].trace_id);
  EXPECT_EQ(pool->ForSend(3), nullptr);
}

// ---------------------------------------------------------------------------------------------
// Refusal handling

TEST(ExporterTest, HttpStatusClassesAndRetryAfter) {
  EXPECT_EQ(ClassifyHttpStatus(200), ExportResult::Kind::kAccepted);
  EXPECT_EQ(ClassifyHttpStatus(429), ExportResult::Kind::kRetryable);
  EXPECT_EQ(ClassifyHttpStatus(502), ExportResult::Kind::kRetryable);
  EXPECT_EQ(ClassifyHttpStatus(503), ExportResult::Kind::kRetryable);
  EXPECT_EQ(ClassifyHttpStatus(504), ExportResult::Kind::kRetryable);
  EXPECT_EQ(ClassifyHttpStatus(400), ExportResult::Kind::kFailed);
  EXPECT_EQ(ClassifyHttpStatus(500), ExportResult::Kind::kFailed);
  EXPECT_EQ(ParseRetryAfter("3"), 3);
  EXPECT_EQ(ParseRetryAfter(" 12 "), 12);
  EXPECT_EQ(ParseRetryAfter(""), -1);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), -1);
}

TEST(ExporterTest, RetryInfoFromGrpcStatusDetails) {
  google::rpc::Status status;
  status.set_code(8);
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(2);
  retry.mutable_retry_delay()->set_nanos(500000000);
  status.add_details()->PackFrom(retry);
  EXPECT_DOUBLE_EQ(RetryDelayFromStatusDetails(status.SerializeAsString()), 2.5);
  EXPECT_EQ(RetryDelayFromStatusDetails(""), -1);
  google::rpc::Status bare;
  bare.set_code(14);
  EXPECT_EQ(RetryDelayFromStatusDetails(bare.SerializeAsString()), -1);
}

TEST(ExporterTest, SplitEndpoint) {
  std::string host;
  std::string port;
  ASSERT_TRUE(SplitEndpoint("http://localhost:4318/", &host, &port).ok());
  EXPECT_EQ(host, "localhost");
  EXPECT_EQ(port, "4318");
  ASSERT_TRUE(SplitEndpoint("[::1]:4317", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(SplitEndpoint("localhost", &host, &port).message(),
            "endpoint 'localhost' must be host:port");
}

TEST(RunnerTest, PercentileByNearestRank) {
  std::vector<float> values;
  for (int i = 100; i >= 1; --i) values.push_back(static_cast<float>(i));
  EXPECT_EQ(Percentile(&values, 0.5), 50);
  EXPECT_EQ(Percentile(&values, 0.99), 99);
  EXPECT_EQ(Percentile(&values, 1.0), 100);
  std::vector<float> empty;
  EXPECT_EQ(Percentile(&empty, 0.5), 0);
}

// A gRPC TraceService that refuses the first `refusals` exports with UNAVAILABLE and counts spans.
namespace collector = opentelemetry::proto::collector::trace::v1;

class FakeTraceService final : public collector::TraceService::Service {
 public:
  explicit FakeTraceService(int refusals) : refusals_(refusals) {}
  grpc::Status Export(grpc::ServerContext*, const collector::ExportTraceServiceRequest* request,
                      collector::ExportTraceServiceResponse*) override {
    if (refusals_.fetch_sub(1) > 0) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "busy");
    for (const Span* span : AllSpans(*request)) {
      std::lock_guard<std::mutex> lock(mutex_);
      ids_.insert(span->trace_id() + span->span_id());
    }
    return grpc::Status::OK;
  }
  size_t distinct_spans() {
    std::lock_guard<std::mutex> lock(mutex_);
    return ids_.size();
  }

 private:
  std::atomic<int> refusals_;
  std::mutex mutex_;
  std::set<std::string> ids_;
};

TEST(RunnerTest, GrpcRunRetriesRefusalsAndAcknowledgesEverySpan) {
  FakeTraceService service(/*refusals=*/2);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(-1);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(port, 0);

  auto options = ParseLoadgenFlags(std::vector<std::string>{
      "--endpoint=127.0.0.1:" + std::to_string(port), "--total-spans=5500", "--connections=2",
      "--pool=2", "--max-backoff=0.01"});
  ASSERT_TRUE(options.ok());
  auto report = RunLoad(*options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->offered_spans, 5500);
  EXPECT_EQ(report->acknowledged_spans, 5500);
  EXPECT_EQ(report->failed_spans, 0);
  EXPECT_EQ(report->requests, 6);
  EXPECT_EQ(report->retryable_refusals, 2);
  EXPECT_GE(report->retried_spans, 1000);  // two resends of 1000 or 500 spans
  EXPECT_LE(report->retried_spans, 2000);
  EXPECT_EQ(service.distinct_spans(), 5500u);  // pool reuse still gives distinct ids
  nlohmann::json json = nlohmann::json::parse(FormatRunReportJson(*report));
  EXPECT_EQ(json["acknowledged_spans"], 5500);
  EXPECT_EQ(json["protocol"], "grpc");
  server->Shutdown();
}

// A one-connection-at-a-time HTTP server answering from a script of statuses, then 200. Serves a
// second connection only after the first closes: use it with --connections=1.
class FakeHttpServer {
 public:
  explicit FakeHttpServer(std::vector<int> statuses)
      : statuses_(std::move(statuses)),
        acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeHttpServer() {
    stop_ = true;
    boost::system::error_code ec;
    // Wake the blocking accept.
    boost::asio::ip::tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mutex_);
    return bodies_;
  }
  std::vector<std::string> encodings() {
    std::lock_guard<std::mutex> lock(mutex_);
    return encodings_;
  }

 private:
  void Serve() {
    namespace http = boost::beast::http;
    size_t served = 0;
    while (!stop_) {
      boost::asio::ip::tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      boost::beast::flat_buffer buffer;
      for (;;) {
        http::request<http::string_body> request;
        http::read(socket, buffer, request, ec);
        if (ec) break;
        int status = served < statuses_.size() ? statuses_[served] : 200;
        ++served;
        http::response<http::string_body> response{static_cast<http::status>(status), 11};
        if (status == 200) {
          std::lock_guard<std::mutex> lock(mutex_);
          bodies_.push_back(request.body());
          encodings_.push_back(std::string(request[http::field::content_encoding]));
          response.set(http::field::content_type, "application/json");
          response.body() = "{}";
        } else {
          response.set(http::field::retry_after, "0");
          response.body() = "{\"code\":14,\"message\":\"busy\"}";
        }
        response.keep_alive(request.keep_alive());
        response.prepare_payload();
        http::write(socket, response, ec);
        if (ec) break;
      }
    }
  }

  std::vector<int> statuses_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::string> bodies_;
  std::vector<std::string> encodings_;
  std::thread thread_;
};

TEST(RunnerTest, HttpJsonGzipRunHonoursRetryAfterAndRecordsAcks) {
  FakeHttpServer server({503, 429});
  std::string record = ::testing::TempDir() + "/acked.txt";
  std::remove(record.c_str());
  auto options = ParseLoadgenFlags(std::vector<std::string>{
      "--protocol=http-json", "--gzip", "--endpoint=127.0.0.1:" + std::to_string(server.port()),
      "--total-spans=2000", "--connections=1", "--batch=500", "--record-acked=" + record});
  ASSERT_TRUE(options.ok());
  auto report = RunLoad(*options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->acknowledged_spans, 2000);
  EXPECT_EQ(report->retryable_refusals, 2);
  EXPECT_EQ(report->retried_spans, 1000);
  EXPECT_EQ(report->failed_spans, 0);

  std::set<std::string> sent_trace_ids;
  ASSERT_EQ(server.bodies().size(), 4u);
  for (size_t i = 0; i < server.bodies().size(); ++i) {
    EXPECT_EQ(server.encodings()[i], "gzip");
    auto json = GzipDecompress(server.bodies()[i]);
    ASSERT_TRUE(json.ok()) << json.status();
    nlohmann::json doc = nlohmann::json::parse(*json);
    for (const auto& rs : doc["resourceSpans"]) {
      for (const auto& ss : rs["scopeSpans"]) {
        for (const auto& span : ss["spans"]) sent_trace_ids.insert(span["traceId"]);
      }
    }
  }
  EXPECT_EQ(sent_trace_ids.size(), 100u);

  std::FILE* file = std::fopen(record.c_str(), "r");
  ASSERT_NE(file, nullptr);
  char id[64];
  int spans = 0;
  std::set<std::string> recorded;
  int total = 0;
  while (std::fscanf(file, "%63s %d", id, &spans) == 2) {
    recorded.insert(id);
    total += spans;
  }
  std::fclose(file);
  EXPECT_EQ(recorded, sent_trace_ids);
  EXPECT_EQ(total, 2000);
}

TEST(RunnerTest, OpenEndedGzipRunCompressesEachSendWithFreshIds) {
  FakeHttpServer server({});
  auto options = ParseLoadgenFlags(std::vector<std::string>{
      "--protocol=http-protobuf", "--gzip", "--endpoint=127.0.0.1:" + std::to_string(server.port()),
      "--duration=0.3", "--connections=1", "--batch=100", "--pool=2"});
  ASSERT_TRUE(options.ok());
  auto report = RunLoad(*options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GT(report->acknowledged_spans, 200);  // more sends than the pool holds
  EXPECT_EQ(report->acknowledged_spans, report->offered_spans);
  std::set<std::string> trace_ids;
  for (const std::string& body : server.bodies()) {
    auto bytes = GzipDecompress(body);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    ExportRequest request;
    ASSERT_TRUE(request.ParseFromString(*bytes));
    for (const auto& [id, spans] : ByTrace(request)) trace_ids.insert(id);
  }
  EXPECT_EQ(static_cast<int64_t>(trace_ids.size()), report->acknowledged_spans / 20);
}

TEST(RunnerTest, RateLimitedRunIsPaced) {
  FakeHttpServer server({});
  auto options = ParseLoadgenFlags(std::vector<std::string>{
      "--protocol=http-protobuf", "--endpoint=127.0.0.1:" + std::to_string(server.port()),
      "--rate=2000", "--total-spans=600", "--batch=100", "--connections=1"});
  ASSERT_TRUE(options.ok());
  auto report = RunLoad(*options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->acknowledged_spans, 600);
  // Sends are due at 0, 50, ..., 250 ms.
  EXPECT_GE(report->elapsed_s, 0.25);
  EXPECT_LT(report->elapsed_s, 2.0);
}

uint64_t WallNanos() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Root spans start within 1 s of their request's time base (TraceGenerator's contract).
std::vector<uint64_t> RootStarts(const ExportRequest& request) {
  std::vector<uint64_t> starts;
  for (const Span* span : AllSpans(request)) {
    if (span->parent_span_id().empty()) starts.push_back(span->start_time_unix_nano());
  }
  return starts;
}

TEST(RunnerTest, TimeSpreadReplaysTheHourBeforeTheRunInRequestOrder) {
  FakeHttpServer server({});
  auto options = ParseLoadgenFlags(std::vector<std::string>{
      "--protocol=http-protobuf", "--endpoint=127.0.0.1:" + std::to_string(server.port()),
      "--total-spans=2000", "--batch=500", "--pool=2", "--connections=1", "--time-spread=3600"});
  ASSERT_TRUE(options.ok());
  uint64_t before = WallNanos();
  auto report = RunLoad(*options);
  uint64_t after = WallNanos();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->acknowledged_spans, 2000);
  std::vector<std::string> bodies = server.bodies();
  ASSERT_EQ(bodies.size(), 4u);  // one connection: in send order
  std::vector<ExportRequest> requests(4);
  for (size_t k = 0; k < 4; ++k) ASSERT_TRUE(requests[k].ParseFromString(bodies[k]));

  const uint64_t kHour = uint64_t{3600} * 1000000000;
  // Request k's roots start at window end - 1 h + k/4 h + [0, 1 s); the window ends between
  // `before` and `after`.
  for (size_t k = 0; k < 4; ++k) {
    for (uint64_t start : RootStarts(requests[k])) {
      uint64_t base = start + kHour - k * kHour / 4;
      EXPECT_GE(base, before) << "request " << k;
      EXPECT_LT(base, after + 1000000000) << "request " << k;
    }
  }
  // Requests 0 and 2 (and 1 and 3) are the same pooled request: every timestamp is exactly
  // half an hour apart.
  for (size_t k = 0; k < 2; ++k) {
    auto first = AllSpans(requests[k]);
    auto second = AllSpans(requests[k + 2]);
    ASSERT_EQ(first.size(), 500u);
    ASSERT_EQ(second.size(), 500u);
    for (size_t i = 0; i < first.size(); ++i) {
      EXPECT_EQ(second[i]->start_time_unix_nano() - first[i]->start_time_unix_nano(), kHour / 2);
      EXPECT_EQ(second[i]->end_time_unix_nano() - first[i]->end_time_unix_nano(), kHour / 2);
    }
  }
}

TEST(RunnerTest, TimeSpreadWithADurationPlacesSendsByElapsedTime) {
  FakeHttpServer server({});
  auto options = ParseLoadgenFlags(std::vector<std::string>{
      "--protocol=http-protobuf", "--endpoint=127.0.0.1:" + std::to_string(server.port()),
      "--duration=0.3", "--batch=100", "--pool=2", "--connections=1", "--time-spread=600"});
  ASSERT_TRUE(options.ok());
  uint64_t before = WallNanos();
  auto report = RunLoad(*options);
  uint64_t after = WallNanos();
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_GT(report->acknowledged_spans, 0);
  // Every root starts in [window start, window end + 1 s): 600 s before the run at the earliest.
  const uint64_t kSpread = uint64_t{600} * 1000000000;
  int roots = 0;
  for (const std::string& body : server.bodies()) {
    ExportRequest request;
    ASSERT_TRUE(request.ParseFromString(body));
    for (uint64_t start : RootStarts(request)) {
      EXPECT_GE(start, before - kSpread);
      EXPECT_LT(start, after + 1000000000);
      ++roots;
    }
  }
  EXPECT_EQ(roots, report->acknowledged_spans / 20);
}

TEST(RunnerTest, NonRetryableStatusFailsTheRequest) {
  FakeHttpServer server({400});
  auto options = ParseLoadgenFlags(std::vector<std::string>{
      "--protocol=http-protobuf", "--endpoint=127.0.0.1:" + std::to_string(server.port()),
      "--total-spans=1000", "--connections=1", "--batch=500"});
  ASSERT_TRUE(options.ok());
  auto report = RunLoad(*options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->offered_spans, 1000);
  EXPECT_EQ(report->acknowledged_spans, 500);
  EXPECT_EQ(report->failed_spans, 500);
  EXPECT_EQ(report->failed_requests, 1);
  EXPECT_EQ(report->retried_spans, 0);
  EXPECT_EQ(report->first_error, "http status 400: {\"code\":14,\"message\":\"busy\"}");
}

TEST(RunnerTest, ConnectionRefusedIsRetriedThenFails) {
  // Find a free port, then close it so nothing listens there.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  int port = acceptor.local_endpoint().port();
  acceptor.close();
  auto options = ParseLoadgenFlags(std::vector<std::string>{
      "--protocol=http-protobuf", "--endpoint=127.0.0.1:" + std::to_string(port),
      "--total-spans=100", "--batch=100", "--connections=1", "--max-retries=2",
      "--max-backoff=0.01"});
  ASSERT_TRUE(options.ok());
  auto report = RunLoad(*options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->acknowledged_spans, 0);
  EXPECT_EQ(report->failed_spans, 100);
  EXPECT_EQ(report->retried_spans, 200);
  EXPECT_EQ(report->retryable_refusals, 3);
  EXPECT_THAT(report->first_error, ::testing::StartsWith("transport: connect 127.0.0.1:"));
}

}  // namespace
}  // namespace teletrace::loadgen
