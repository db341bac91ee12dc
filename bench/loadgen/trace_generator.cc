#include "loadgen/trace_generator.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "fmt/format.h"

namespace teletrace::loadgen {
namespace {

using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::trace::v1::ScopeSpans;
using opentelemetry::proto::trace::v1::Span;
using opentelemetry::proto::trace::v1::Status;
using KeyValues = google::protobuf::RepeatedPtrField<KeyValue>;

constexpr int kHostsPerService = 3;

constexpr const char* kServiceNames[] = {
    "frontend",  "checkout", "cart",      "payment",   "shipping",  "email",   "currency",
    "recommend", "ads",      "catalog",   "quote",     "fraud",     "ledger",  "inventory",
    "auth",      "search",   "user",      "notify",    "gateway",   "billing"};
constexpr int kServiceNameCount = sizeof(kServiceNames) / sizeof(kServiceNames[0]);
constexpr const char* kLanguages[] = {"go", "java", "cpp", "python", "nodejs", "dotnet"};
constexpr const char* kMethods[] = {"GET", "POST", "GET", "PUT", "GET", "DELETE"};
constexpr const char* kResources[] = {"users",    "orders",  "items",    "carts",   "payments",
                                      "sessions", "products", "invoices", "reviews", "addresses"};
constexpr const char* kRegions[] = {"us-east-1", "us-west-2", "eu-west-1", "ap-south-1"};
constexpr const char* kExceptionTypes[] = {"TimeoutError", "ConnectionResetError",
                                           "InvalidStateError", "NotFoundError",
                                           "PermissionDeniedError"};

// A bijection on 64-bit integers (splitmix64's finalizer): distinct inputs give distinct,
// random-looking outputs.
uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void PutBigEndian(uint64_t value, uint8_t* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(value);
    value >>= 8;
  }
}

std::string ServiceName(int service) {
  std::string name = kServiceNames[service % kServiceNameCount];
  if (service >= kServiceNameCount) name += fmt::format("-{}", service / kServiceNameCount);
  return name;
}

std::string OperationMethod(int operation) { return kMethods[operation % 6]; }

std::string OperationRoute(int service, int operation) {
  std::string route = fmt::format("/api/v{}/{}{}", 1 + (operation / 10) % 3,
                                  kResources[(operation + service) % 10],
                                  operation % 2 == 1 ? "/{id}" : "");
  if (operation >= 30) route += fmt::format("/op{}", operation);
  return route;
}

void AddString(KeyValues* attributes, const char* key, std::string value) {
  KeyValue* kv = attributes->Add();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(std::move(value));
}

void AddInt(KeyValues* attributes, const char* key, int64_t value) {
  KeyValue* kv = attributes->Add();
  kv->set_key(key);
  kv->mutable_value()->set_int_value(value);
}

void AddDouble(KeyValues* attributes, const char* key, double value) {
  KeyValue* kv = attributes->Add();
  kv->set_key(key);
  kv->mutable_value()->set_double_value(value);
}

void AddBool(KeyValues* attributes, const char* key, bool value) {
  KeyValue* kv = attributes->Add();
  kv->set_key(key);
  kv->mutable_value()->set_bool_value(value);
}

}  // namespace

TraceGenerator::TraceGenerator(const TraceShape& shape, uint64_t seed,
                               uint64_t base_time_unix_nano)
    : shape_(shape), rng_(seed), seed_(seed), base_time_unix_nano_(base_time_unix_nano) {}

void TraceGenerator::StartTrace(int64_t spans, int max_depth, int max_fanout) {
  trace_.nodes.clear();
  trace_.eligible.clear();
  trace_.remaining = spans;
  trace_.max_depth = max_depth;
  trace_.max_fanout = max_fanout;
  // The first half is a bijection of the trace counter, so ids never repeat; the second half is
  // random, and is what the sender re-salts per send.
  PutBigEndian(Mix64(Mix64(seed_) + traces_started_), trace_.trace_id.data());
  PutBigEndian(rng_(), trace_.trace_id.data() + 8);
  ++traces_started_;
}

TraceId TraceGenerator::BeginHugeTrace(int64_t total_spans) {
  int fanout = std::max(shape_.fanout, 1);
  int depth = std::max(shape_.depth, 2);
  while (TreeCapacity(depth, fanout) < total_spans) fanout *= 2;
  huge_ = true;
  StartTrace(total_spans, depth, fanout);
  return trace_.trace_id;
}

std::vector<char> TraceGenerator::ChoosePositions(int64_t n, int64_t count) {
  std::vector<char> chosen(static_cast<size_t>(n), 0);
  if (count <= 0) return chosen;
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t j = i + static_cast<int64_t>(Uniform(static_cast<uint64_t>(n - i)));
    std::swap(order[i], order[j]);
    chosen[order[i]] = 1;
  }
  return chosen;
}

ScopeSpans* TraceGenerator::ScopeFor(ExportRequest* request, int service, int host) {
  size_t index = static_cast<size_t>(service) * kHostsPerService + host;
  if (scopes_[index] != nullptr) return scopes_[index];
  auto* resource_spans = request->add_resource_spans();
  KeyValues* attributes = resource_spans->mutable_resource()->mutable_attributes();
  std::string name = ServiceName(service);
  AddString(attributes, "service.name", name);
  AddString(attributes, "service.version", fmt::format("1.{}.{}", service % 7, service % 3));
  AddString(attributes, "host.name",
            fmt::format("{}-{:06x}", name, Mix64(seed_ + index) & 0xffffff));
  AddString(attributes, "deployment.environment", "production");
  AddString(attributes, "telemetry.sdk.language", kLanguages[service % 6]);
  AddInt(attributes, "process.pid", 1000 + service * 37 + host);
  ScopeSpans* scope = resource_spans->add_scope_spans();
  scope->mutable_scope()->set_name("teletrace-loadgen");
  scope->mutable_scope()->set_version("1.0.0");
  scopes_[index] = scope;
  return scope;
}

void TraceGenerator::NextRequest(int64_t span_count, ExportRequest* request,
                                 std::vector<GeneratedTrace>* traces) {
  request->Clear();
  scopes_.assign(static_cast<size_t>(shape_.services) * kHostsPerService, nullptr);
  if (huge_) span_count = std::min(span_count, trace_.remaining);
  if (span_count <= 0) return;

  int64_t events = static_cast<int64_t>(
      std::floor(static_cast<double>(spans_emitted_ + span_count) * shape_.event_ratio) -
      std::floor(static_cast<double>(spans_emitted_) * shape_.event_ratio));
  std::vector<char> event_at = ChoosePositions(span_count, events);
  int64_t errors = static_cast<int64_t>(
      std::floor(static_cast<double>(events_emitted_ + events) * shape_.error_ratio) -
      std::floor(static_cast<double>(events_emitted_) * shape_.error_ratio));
  std::vector<char> error_at = ChoosePositions(events, errors);
  int64_t event_index = 0;

  if (!huge_) StartTrace(shape_.spans_per_trace, shape_.depth, shape_.fanout);
  traces->push_back({trace_.trace_id, 0});
  for (int64_t i = 0; i < span_count; ++i) {
    if (trace_.remaining == 0) {
      StartTrace(shape_.spans_per_trace, shape_.depth, shape_.fanout);
      traces->push_back({trace_.trace_id, 0});
    }
    bool with_event = event_at[i] != 0;
    bool with_error = with_event && error_at[event_index] != 0;
    if (with_event) ++event_index;
    EmitSpan(request, with_event, with_error);
    ++traces->back().span_count;
  }
  spans_emitted_ += span_count;
  events_emitted_ += events;
}

void TraceGenerator::EmitSpan(ExportRequest* request, bool with_event, bool with_error) {
  Node node;
  int32_t parent = -1;
  if (!trace_.nodes.empty()) {
    size_t pick = Uniform(trace_.eligible.size());
    parent = trace_.eligible[pick];
    Node& p = trace_.nodes[parent];
    node.depth = p.depth + 1;
    if (++p.children >= trace_.max_fanout) {
      trace_.eligible[pick] = trace_.eligible.back();
      trace_.eligible.pop_back();
    }
  }
  bool cross_service = false;
  if (parent < 0) {
    node.service = static_cast<int32_t>(Uniform(shape_.services));
    node.start_time_unix_nano = base_time_unix_nano_ + Uniform(1000000000);
    // Root durations from 1 ms to 1 s, log-uniform as real request latencies roughly are.
    double duration = std::exp(std::log(1e6) + UniformDouble() * (std::log(1e9) - std::log(1e6)));
    node.end_time_unix_nano = node.start_time_unix_nano + static_cast<uint64_t>(duration);
  } else {
    const Node& p = trace_.nodes[parent];
    cross_service = shape_.services > 1 && Uniform(10) < 4;
    node.service = cross_service ? static_cast<int32_t>(Uniform(shape_.services)) : p.service;
    uint64_t parent_duration = p.end_time_unix_nano - p.start_time_unix_nano;
    node.start_time_unix_nano =
        p.start_time_unix_nano + static_cast<uint64_t>(UniformDouble() * 0.4 * parent_duration);
    uint64_t room = p.end_time_unix_nano - node.start_time_unix_nano;
    node.end_time_unix_nano =
        node.start_time_unix_nano + 1000 + static_cast<uint64_t>(UniformDouble() * 0.9 * room);
  }
  do {
    PutBigEndian(rng_(), node.span_id.data());
  } while (IsZeroId(node.span_id));
  int host = static_cast<int>(Uniform(kHostsPerService));
  int operation = static_cast<int>(Uniform(shape_.operations));

  Span* span = ScopeFor(request, node.service, host)->add_spans();
  span->set_trace_id(std::string(IdBytes(trace_.trace_id)));
  span->set_span_id(std::string(IdBytes(node.span_id)));
  if (parent >= 0) span->set_parent_span_id(std::string(IdBytes(trace_.nodes[parent].span_id)));
  span->set_flags(0x301);  // sampled, parent's remoteness known
  std::string method = OperationMethod(operation);
  std::string route = OperationRoute(node.service, operation);
  span->set_name(fmt::format("{} {}", method, route));
  if (parent < 0 || cross_service) {
    span->set_kind(Span::SPAN_KIND_SERVER);
  } else {
    span->set_kind(Uniform(2) == 0 ? Span::SPAN_KIND_INTERNAL : Span::SPAN_KIND_CLIENT);
  }
  span->set_start_time_unix_nano(node.start_time_unix_nano);
  span->set_end_time_unix_nano(node.end_time_unix_nano);

  KeyValues* attributes = span->mutable_attributes();
  uint64_t user = Mix64(seed_ ^ Uniform(1000000));
  std::string path = route;
  size_t id_at = path.find("{id}");
  if (id_at != std::string::npos) path.replace(id_at, 4, fmt::format("{}", Uniform(10000000)));
  int64_t status_code = with_error ? 500 : (method == "POST" ? 201 : 200);
  for (int i = 0; i < shape_.attributes; ++i) {
    switch (i) {
      case 0:
        AddString(attributes, "http.method", method);
        break;
      case 1:
        AddString(attributes, "http.route", route);
        break;
      case 2:
        AddInt(attributes, "http.status_code", status_code);
        break;
      case 3:
        AddString(attributes, "http.url",
                  fmt::format("https://{}.example.com{}", ServiceName(node.service), path));
        break;
      case 4:
        AddString(attributes, "user.id", fmt::format("user-{:08x}", user & 0xffffffff));
        break;
      case 5:
        AddString(attributes, "peer.service",
                  ServiceName(static_cast<int>(Uniform(shape_.services))));
        break;
      case 6:
        AddInt(attributes, "http.request_content_length", static_cast<int64_t>(Uniform(65536)));
        break;
      case 7:
        AddDouble(attributes, "app.score", UniformDouble());
        break;
      case 8:
        AddBool(attributes, "cache.hit", Uniform(3) == 0);
        break;
      case 9:
        AddString(attributes, "cloud.region", kRegions[node.service % 4]);
        break;
      default: {
        std::string key = fmt::format("app.attr_{}", i);
        switch (i % 4) {
          case 0:
            AddString(attributes, key.c_str(), fmt::format("value-{}", Uniform(1000)));
            break;
          case 1:
            AddInt(attributes, key.c_str(), static_cast<int64_t>(Uniform(1000000)));
            break;
          case 2:
            AddDouble(attributes, key.c_str(), UniformDouble() * 1000);
            break;
          default:
            AddBool(attributes, key.c_str(), Uniform(2) == 0);
            break;
        }
      }
    }
  }
  if (with_event) {
    auto* event = span->add_events();
    event->set_name("exception");
    event->set_time_unix_nano(node.start_time_unix_nano +
                              (node.end_time_unix_nano - node.start_time_unix_nano) / 2);
    const char* type = kExceptionTypes[Uniform(5)];
    AddString(event->mutable_attributes(), "exception.type", type);
    AddString(event->mutable_attributes(), "exception.message",
              fmt::format("{} failed after {} ms", path, Uniform(5000)));
    AddBool(event->mutable_attributes(), "exception.escaped", with_error);
  }
  if (with_error) {
    span->mutable_status()->set_code(Status::STATUS_CODE_ERROR);
    span->mutable_status()->set_message("request failed");
  }

  --trace_.remaining;
  trace_.nodes.push_back(node);
  if (node.depth < trace_.max_depth) {
    trace_.eligible.push_back(static_cast<int32_t>(trace_.nodes.size() - 1));
  }
}

}  // namespace teletrace::loadgen
