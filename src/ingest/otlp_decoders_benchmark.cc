// Micro-benchmarks of the OTLP decoders: protobuf (parse into an arena + conversion to the model,
// and each half alone) and JSON, on requests shaped like the load generator's (docs/benchmarks.md):
// 1,000 spans, 10 typed span attributes, 6 resource attributes, 10% of spans with an event.
//
//   build/release/src/ingest/otlp_decoders_benchmark --benchmark_min_time=0.5
//
// items_per_second is spans per second on one thread.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>

#include "google/protobuf/arena.h"
#include "ingest/otlp_json_decoder.h"
#include "ingest/otlp_json_reference_decoder_for_test.h"
#include "ingest/otlp_protobuf_decoder.h"
#include "ingest/otlp_protobuf_reference_decoder_for_test.h"
#include "ingest/span_validator.h"
#include "nlohmann/json.hpp"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace teletrace::ingest {
namespace {

namespace otlp_common = opentelemetry::proto::common::v1;
namespace otlp_trace = opentelemetry::proto::trace::v1;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

constexpr int kSpansPerRequest = 1000;
constexpr int kSpansPerTrace = 20;
constexpr int kServices = 10;

void AddString(google::protobuf::RepeatedPtrField<otlp_common::KeyValue>* kvs, std::string key,
               std::string value) {
  otlp_common::KeyValue* kv = kvs->Add();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_string_value(std::move(value));
}

void AddInt(google::protobuf::RepeatedPtrField<otlp_common::KeyValue>* kvs, std::string key,
            int64_t value) {
  otlp_common::KeyValue* kv = kvs->Add();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_int_value(value);
}

// One request of kSpansPerRequest spans: kServices resources, traces of kSpansPerTrace spans whose
// spans are spread over the services, ~400 bytes per span serialized.
ExportTraceServiceRequest MakeRequest() {
  std::mt19937_64 rng(42);
  ExportTraceServiceRequest request;
  std::vector<otlp_trace::ScopeSpans*> scopes;
  for (int s = 0; s < kServices; ++s) {
    otlp_trace::ResourceSpans* rs = request.add_resource_spans();
    auto* attrs = rs->mutable_resource()->mutable_attributes();
    AddString(attrs, "service.name", "service-" + std::to_string(s));
    AddString(attrs, "service.version", "1.4." + std::to_string(s));
    AddString(attrs, "host.name", "host-" + std::to_string(s) + ".example.internal");
    AddString(attrs, "deployment.environment", "production");
    AddString(attrs, "telemetry.sdk.language", "cpp");
    AddInt(attrs, "process.pid", 1000 + s);
    otlp_trace::ScopeSpans* ss = rs->add_scope_spans();
    ss->mutable_scope()->set_name("teletrace.bench");
    ss->mutable_scope()->set_version("1.0.0");
    scopes.push_back(ss);
  }
  const uint64_t base = 1700000000000000000ULL;
  std::string trace_id(16, '\0');
  for (int i = 0; i < kSpansPerRequest; ++i) {
    if (i % kSpansPerTrace == 0) {
      for (char& c : trace_id) c = static_cast<char>(rng());
    }
    otlp_trace::Span* span = scopes[rng() % kServices]->add_spans();
    span->set_trace_id(trace_id);
    std::string span_id(8, '\0');
    for (char& c : span_id) c = static_cast<char>(rng());
    span->set_span_id(span_id);
    if (i % kSpansPerTrace != 0) span->set_parent_span_id(std::string(7, 'p') + char('a' + i % 20));
    span->set_name("GET /api/v1/operation-" + std::to_string(rng() % 20));
    span->set_kind(static_cast<otlp_trace::Span::SpanKind>(1 + rng() % 3));
    span->set_flags(0x301);
    uint64_t start = base + rng() % 1000000000;
    span->set_start_time_unix_nano(start);
    span->set_end_time_unix_nano(start + 1000 + rng() % 50000000);
    auto* attrs = span->mutable_attributes();
    AddString(attrs, "http.method", (rng() & 1) ? "GET" : "POST");
    AddString(attrs, "http.route", "/api/v1/items/{id}");
    AddInt(attrs, "http.status_code", 200);
    AddString(attrs, "http.url",
              "https://shop.example.com/api/v1/items/" + std::to_string(rng() % 10000000));
    AddString(attrs, "user.id", "user-" + std::to_string(rng() % 1000000));
    AddString(attrs, "peer.service", "service-" + std::to_string(rng() % kServices));
    AddInt(attrs, "http.request_content_length", static_cast<int64_t>(rng() % 100000));
    otlp_common::KeyValue* score = attrs->Add();
    score->set_key("app.score");
    score->mutable_value()->set_double_value(static_cast<double>(rng() % 1000) / 7.0);
    otlp_common::KeyValue* hit = attrs->Add();
    hit->set_key("cache.hit");
    hit->mutable_value()->set_bool_value(rng() & 1);
    AddString(attrs, "cloud.region", "eu-west-" + std::to_string(1 + rng() % 3));
    if (i % 10 == 0) {
      otlp_trace::Span::Event* event = span->add_events();
      event->set_name("exception");
      event->set_time_unix_nano(start + 500);
      AddString(event->mutable_attributes(), "exception.type", "std::runtime_error");
      AddString(event->mutable_attributes(), "exception.message", "upstream timed out after 3 s");
      span->mutable_status()->set_code(otlp_trace::Status::STATUS_CODE_ERROR);
    }
  }
  return request;
}

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

nlohmann::json AttributesJson(
    const google::protobuf::RepeatedPtrField<otlp_common::KeyValue>& attributes) {
  nlohmann::json out = nlohmann::json::array();
  for (const otlp_common::KeyValue& kv : attributes) {
    nlohmann::json value;
    switch (kv.value().value_case()) {
      case otlp_common::AnyValue::kStringValue:
        value["stringValue"] = kv.value().string_value();
        break;
      case otlp_common::AnyValue::kIntValue:
        value["intValue"] = std::to_string(kv.value().int_value());  // int64 as string, as SDKs do
        break;
      case otlp_common::AnyValue::kDoubleValue:
        value["doubleValue"] = kv.value().double_value();
        break;
      case otlp_common::AnyValue::kBoolValue:
        value["boolValue"] = kv.value().bool_value();
        break;
      default:
        break;
    }
    out.push_back({{"key", kv.key()}, {"value", value}});
  }
  return out;
}

// The OTLP/JSON form of `request` (hex ids, int64 as strings), as an OpenTelemetry SDK sends it.
std::string ToOtlpJson(const ExportTraceServiceRequest& request) {
  nlohmann::json resource_spans = nlohmann::json::array();
  for (const otlp_trace::ResourceSpans& rs : request.resource_spans()) {
    nlohmann::json scope_spans = nlohmann::json::array();
    for (const otlp_trace::ScopeSpans& ss : rs.scope_spans()) {
      nlohmann::json spans = nlohmann::json::array();
      for (const otlp_trace::Span& s : ss.spans()) {
        nlohmann::json span = {
            {"traceId", Hex(s.trace_id())},
            {"spanId", Hex(s.span_id())},
            {"parentSpanId", Hex(s.parent_span_id())},
            {"flags", s.flags()},
            {"name", s.name()},
            {"kind", static_cast<int>(s.kind())},
            {"startTimeUnixNano", std::to_string(s.start_time_unix_nano())},
            {"endTimeUnixNano", std::to_string(s.end_time_unix_nano())},
            {"attributes", AttributesJson(s.attributes())},
            {"status", {{"code", static_cast<int>(s.status().code())}}},
        };
        for (const otlp_trace::Span::Event& e : s.events()) {
          span["events"].push_back({{"timeUnixNano", std::to_string(e.time_unix_nano())},
                                    {"name", e.name()},
                                    {"attributes", AttributesJson(e.attributes())}});
        }
        spans.push_back(std::move(span));
      }
      scope_spans.push_back(
          {{"scope", {{"name", ss.scope().name()}, {"version", ss.scope().version()}}},
           {"spans", std::move(spans)}});
    }
    resource_spans.push_back({{"resource", {{"attributes", AttributesJson(rs.resource().attributes())}}},
                              {"scopeSpans", std::move(scope_spans)}});
  }
  return nlohmann::json({{"resourceSpans", std::move(resource_spans)}}).dump();
}

const std::string& ProtobufBody() {
  static const std::string* body = new std::string(MakeRequest().SerializeAsString());
  return *body;
}

const std::string& JsonBody() {
  static const std::string* body = new std::string(ToOtlpJson(MakeRequest()));
  return *body;
}

void Report(benchmark::State& state, size_t body_bytes) {
  state.SetItemsProcessed(state.iterations() * kSpansPerRequest);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body_bytes));
  state.counters["bytes_per_span"] =
      static_cast<double>(body_bytes) / static_cast<double>(kSpansPerRequest);
}

// What the HTTP receiver does per protobuf request: parse into an arena and convert.
void BM_DecodeOtlpProtobuf(benchmark::State& state) {
  const std::string& body = ProtobufBody();
  for (auto _ : state) {
    SpanProblems problems;
    absl::StatusOr<model::SpanBatch> batch = DecodeOtlpProtobuf(body, &problems);
    if (!batch.ok() || batch->SpanCount() != kSpansPerRequest) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(batch);
  }
  Report(state, body.size());
}
BENCHMARK(BM_DecodeOtlpProtobuf);

// The decoder before the wire-format one (libprotobuf's parse into an arena, then conversion), in
// the same run as its baseline.
void BM_DecodeOtlpProtobufReference(benchmark::State& state) {
  const std::string& body = ProtobufBody();
  for (auto _ : state) {
    SpanProblems problems;
    absl::StatusOr<model::SpanBatch> batch =
        reference_protobuf::DecodeOtlpProtobuf(body, &problems);
    if (!batch.ok() || batch->SpanCount() != kSpansPerRequest) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(batch);
  }
  Report(state, body.size());
}
BENCHMARK(BM_DecodeOtlpProtobufReference);

// The first half alone: protobuf parsing into a fresh arena (the decode ceiling the load generator's
// --decode-baseline measures, with the arena reused there).
void BM_ParseProtobufArena(benchmark::State& state) {
  const std::string& body = ProtobufBody();
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* request = google::protobuf::Arena::CreateMessage<ExportTraceServiceRequest>(&arena);
    if (!request->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      state.SkipWithError("parse failed");
    }
    benchmark::DoNotOptimize(request);
  }
  Report(state, body.size());
}
BENCHMARK(BM_ParseProtobufArena);

// The second half alone: protobuf message to model::SpanBatch (string copies and allocations).
void BM_ConvertProtoToModel(benchmark::State& state) {
  const std::string& body = ProtobufBody();
  google::protobuf::Arena arena;
  auto* request = google::protobuf::Arena::CreateMessage<ExportTraceServiceRequest>(&arena);
  request->ParseFromArray(body.data(), static_cast<int>(body.size()));
  for (auto _ : state) {
    model::SpanBatch batch = reference_protobuf::FromOtlpProto(*request, nullptr);
    benchmark::DoNotOptimize(batch);
  }
  Report(state, body.size());
}
BENCHMARK(BM_ConvertProtoToModel);

void BM_ValidateSpans(benchmark::State& state) {
  absl::StatusOr<model::SpanBatch> decoded = DecodeOtlpProtobuf(ProtobufBody());
  for (auto _ : state) {
    state.PauseTiming();
    model::SpanBatch batch = *decoded;
    state.ResumeTiming();
    ValidationResult result = ValidateSpans(&batch);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * kSpansPerRequest);
}
BENCHMARK(BM_ValidateSpans);

void BM_DecodeOtlpJson(benchmark::State& state) {
  const std::string& body = JsonBody();
  for (auto _ : state) {
    SpanProblems problems;
    absl::StatusOr<model::SpanBatch> batch = DecodeOtlpJson(body, &problems);
    if (!batch.ok() || batch->SpanCount() != kSpansPerRequest || !problems.empty()) {
      state.SkipWithError("decode failed");
    }
    benchmark::DoNotOptimize(batch);
  }
  Report(state, body.size());
}
BENCHMARK(BM_DecodeOtlpJson);

// The decoder before simdjson (nlohmann::json's DOM), kept as the differential tests' reference:
// the baseline of BM_DecodeOtlpJson in the same run.
void BM_DecodeOtlpJsonReference(benchmark::State& state) {
  const std::string& body = JsonBody();
  for (auto _ : state) {
    SpanProblems problems;
    absl::StatusOr<model::SpanBatch> batch = reference_json::DecodeOtlpJson(body, &problems);
    if (!batch.ok() || batch->SpanCount() != kSpansPerRequest || !problems.empty()) {
      state.SkipWithError("decode failed");
    }
    benchmark::DoNotOptimize(batch);
  }
  Report(state, body.size());
}
BENCHMARK(BM_DecodeOtlpJsonReference);

}  // namespace
}  // namespace teletrace::ingest
