#include "loadgen/options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace teletrace::loadgen {
namespace {

absl::Status BadValue(const std::string& flag, const std::string& expected,
                      const std::string& value) {
  return absl::InvalidArgumentError(
      fmt::format("--{}: expected {}, got '{}'", flag, expected, value));
}

absl::Status ParseInt(const std::string& flag, const std::string& value, int64_t min, int64_t max,
                      int64_t* out) {
  int64_t parsed = 0;
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, parsed);
  if (value.empty() || ec != std::errc() || ptr != end || parsed < min || parsed > max) {
    return BadValue(flag, fmt::format("an integer in [{}, {}]", min, max), value);
  }
  *out = parsed;
  return absl::OkStatus();
}

absl::Status ParseDouble(const std::string& flag, const std::string& value, double min, double max,
                         double* out) {
  char* end = nullptr;
  double parsed = value.empty() ? 0 : std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(parsed) ||
      parsed < min || parsed > max) {
    std::string range = max == std::numeric_limits<double>::max()
                            ? fmt::format("a number >= {}", min)
                            : fmt::format("a number in [{}, {}]", min, max);
    return BadValue(flag, range, value);
  }
  *out = parsed;
  return absl::OkStatus();
}

absl::Status ParseBool(const std::string& flag, const std::string& value, bool* out) {
  if (value == "true" || value == "1" || value.empty()) {
    *out = true;
  } else if (value == "false" || value == "0") {
    *out = false;
  } else {
    return BadValue(flag, "true or false", value);
  }
  return absl::OkStatus();
}

using Setter = std::function<absl::Status(const std::string& flag, const std::string& value)>;

Setter IntFlag(int* target, int64_t min, int64_t max) {
  return [=](const std::string& flag, const std::string& value) {
    int64_t parsed = 0;
    absl::Status status = ParseInt(flag, value, min, max, &parsed);
    if (status.ok()) *target = static_cast<int>(parsed);
    return status;
  };
}

Setter Int64Flag(int64_t* target, int64_t min, int64_t max) {
  return [=](const std::string& flag, const std::string& value) {
    return ParseInt(flag, value, min, max, target);
  };
}

Setter Uint64Flag(uint64_t* target) {
  return [=](const std::string& flag, const std::string& value) {
    uint64_t parsed = 0;
    const char* end = value.data() + value.size();
    auto [ptr, ec] = std::from_chars(value.data(), end, parsed);
    if (value.empty() || ec != std::errc() || ptr != end) {
      return BadValue(flag, "an unsigned integer", value);
    }
    *target = parsed;
    return absl::OkStatus();
  };
}

Setter DoubleFlag(double* target, double min, double max = std::numeric_limits<double>::max()) {
  return [=](const std::string& flag, const std::string& value) {
    return ParseDouble(flag, value, min, max, target);
  };
}

Setter BoolFlag(bool* target) {
  return [=](const std::string& flag, const std::string& value) {
    return ParseBool(flag, value, target);
  };
}

Setter StringFlag(std::string* target) {
  return [=](const std::string& flag, const std::string& value) {
    if (value.empty()) return BadValue(flag, "a value", value);
    *target = value;
    return absl::OkStatus();
  };
}

}  // namespace

std::string ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kGrpc:
      return "grpc";
    case Protocol::kHttpProtobuf:
      return "http-protobuf";
    case Protocol::kHttpJson:
      return "http-json";
  }
  return "unknown";
}

int64_t TreeCapacity(int depth, int fanout) {
  const int64_t kMax = std::numeric_limits<int32_t>::max();
  int64_t total = 0;
  int64_t level = 1;
  for (int i = 0; i < depth; ++i) {
    total += level;
    if (total >= kMax) return kMax;
    level *= fanout;
    if (level >= kMax) level = kMax;
  }
  return total;
}

absl::StatusOr<LoadgenOptions> ParseLoadgenFlags(int argc, const char* const* argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return ParseLoadgenFlags(args);
}

absl::StatusOr<LoadgenOptions> ParseLoadgenFlags(const std::vector<std::string>& args) {
  LoadgenOptions o;
  bool endpoint_given = false;
  bool duration_given = false;
  std::string protocol = "grpc";
  const int64_t kBig = int64_t{1} << 40;
  std::map<std::string, Setter> flags = {
      {"endpoint", StringFlag(&o.endpoint)},
      {"protocol", StringFlag(&protocol)},
      {"gzip", BoolFlag(&o.gzip)},
      {"gzip-level", IntFlag(&o.gzip_level, 1, 9)},
      {"connections", IntFlag(&o.connections, 1, 1024)},
      {"rate", DoubleFlag(&o.rate, 0)},
      {"duration", DoubleFlag(&o.duration_s, 0)},
      {"total-spans", Int64Flag(&o.total_spans, 0, kBig)},
      {"batch", IntFlag(&o.batch, 1, 1000000)},
      {"services", IntFlag(&o.shape.services, 1, 100000)},
      {"operations", IntFlag(&o.shape.operations, 1, 100000)},
      {"depth", IntFlag(&o.shape.depth, 1, 1000)},
      {"fanout", IntFlag(&o.shape.fanout, 1, 100000)},
      {"spans-per-trace", IntFlag(&o.shape.spans_per_trace, 1, 10000000)},
      {"attributes", IntFlag(&o.shape.attributes, 0, 128)},
      {"event-ratio", DoubleFlag(&o.shape.event_ratio, 0, 1)},
      {"error-ratio", DoubleFlag(&o.shape.error_ratio, 0, 1)},
      {"seed", Uint64Flag(&o.seed)},
      {"run-id", Uint64Flag(&o.run_id)},
      {"pool", IntFlag(&o.pool, 1, 100000)},
      {"huge-trace", Int64Flag(&o.huge_trace, 0, kBig)},
      {"time-spread", DoubleFlag(&o.time_spread_s, 0)},
      {"record-acked", StringFlag(&o.record_acked)},
      {"timeout", DoubleFlag(&o.timeout_s, 0.001)},
      {"max-backoff", DoubleFlag(&o.max_backoff_s, 0)},
      {"max-retries", IntFlag(&o.max_retries, 0, 1000000)},
      {"json", BoolFlag(&o.json)},
      {"decode-baseline", BoolFlag(&o.decode_baseline)},
      {"help", BoolFlag(&o.help)},
  };
  const std::vector<std::string> kBoolFlags = {"gzip", "json", "decode-baseline", "help"};
  for (const std::string& arg : args) {
    if (arg == "-h") {
      o.help = true;
      continue;
    }
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      return absl::InvalidArgumentError(
          fmt::format("unexpected argument '{}': flags are --key=value (see --help)", arg));
    }
    size_t eq = arg.find('=');
    std::string key = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    auto it = flags.find(key);
    if (it == flags.end()) {
      return absl::InvalidArgumentError(fmt::format("unknown flag --{} (see --help)", key));
    }
    bool is_bool = std::find(kBoolFlags.begin(), kBoolFlags.end(), key) != kBoolFlags.end();
    if (eq == std::string::npos && !is_bool) {
      return absl::InvalidArgumentError(fmt::format("--{}: needs a value (--{}=...)", key, key));
    }
    std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    absl::Status status = it->second(key, value);
    if (!status.ok()) return status;
    if (key == "endpoint") endpoint_given = true;
    if (key == "duration") duration_given = true;
  }
  if (o.help) return o;

  if (protocol == "grpc") {
    o.protocol = Protocol::kGrpc;
  } else if (protocol == "http-protobuf" || protocol == "http/protobuf") {
    o.protocol = Protocol::kHttpProtobuf;
  } else if (protocol == "http-json" || protocol == "http/json") {
    o.protocol = Protocol::kHttpJson;
  } else {
    return BadValue("protocol", "grpc, http-protobuf or http-json", protocol);
  }
  if (!endpoint_given && o.protocol != Protocol::kGrpc) o.endpoint = "127.0.0.1:4318";

  const TraceShape& s = o.shape;
  int64_t capacity = TreeCapacity(s.depth, s.fanout);
  if (o.huge_trace == 0 && s.spans_per_trace > capacity) {
    return absl::InvalidArgumentError(fmt::format(
        "--spans-per-trace: {} spans do not fit a tree of depth {} and fan-out {} (at most {})",
        s.spans_per_trace, s.depth, s.fanout, capacity));
  }
  if (!duration_given && o.total_spans == 0 && o.huge_trace == 0) o.duration_s = 10;
  if (o.time_spread_s > 0) {
    // One trace has one time base, and an unbounded run has no end to spread the window over.
    if (o.huge_trace > 0) {
      return absl::InvalidArgumentError("--time-spread: cannot be combined with --huge-trace");
    }
    if (o.total_spans == 0 && o.duration_s == 0) {
      return absl::InvalidArgumentError(
          "--time-spread: needs a bounded run (--total-spans or --duration > 0)");
    }
  }
  return o;
}

std::string LoadgenHelpText() {
  LoadgenOptions d;
  return fmt::format(
      R"(teletrace-loadgen: sends generated OTLP traces to a trace backend and reports what it
acknowledged.

Usage: teletrace-loadgen [--key=value ...]

Where to send:
  --endpoint=HOST:PORT     server address (default {endpoint}; 127.0.0.1:4318 for HTTP)
  --protocol=P             grpc | http-protobuf | http-json (default grpc)
  --gzip                   gzip request bodies (gRPC: message compression)
  --gzip-level=N           zlib level 1-9 (default {gzip_level})
  --connections=N          concurrent connections, one thread each (default {connections})
  --timeout=SECONDS        per export attempt (default {timeout})

How much:
  --rate=SPANS_PER_S       offered rate over all connections; 0 (default) = as fast as acknowledged
  --duration=SECONDS       stop starting requests after this long (default 10 unless --total-spans)
  --total-spans=N          stop after offering exactly N spans
  --batch=N                spans per request (default {batch})
  --huge-trace=N           send one trace of N spans in requests of --batch spans, print its id

When:
  --time-spread=SECONDS    replay the SECONDS before the run starts instead of stamping spans with
                           their send time: the traces of request k of N (--total-spans) start at
                           run start - SECONDS + SECONDS * k / N (with --duration: elapsed /
                           duration in place of k / N), so a store filled in minutes covers e.g. the
                           last hour (3600), in time order. Default 0: send time

What the traces look like:
  --services=N             distinct service.name values (default {services})
  --operations=N           span names per service (default {operations})
  --depth=N                levels in a trace tree (default {depth})
  --fanout=N               most children per span (default {fanout})
  --spans-per-trace=N      spans in each trace, exactly (default {spt})
  --attributes=N           span attributes, typed, low- and high-cardinality (default {attributes})
  --event-ratio=R          share of spans with an exception event (default {event_ratio})
  --error-ratio=R          share of those spans with status ERROR (default {error_ratio})
  --seed=N                 generator seed: same seed, same payloads (default {seed})
  --run-id=N               salt for trace ids so runs do not overwrite each other (default random)
  --pool=N                 distinct pre-encoded requests, re-salted per send (default {pool})

Retries (gRPC UNAVAILABLE/RESOURCE_EXHAUSTED/..., HTTP 429/502/503/504, connection errors):
  --max-backoff=SECONDS    longest wait before a resend, Retry-After too (default {max_backoff})
  --max-retries=N          resends of one request before it counts as failed (default {max_retries})

Output:
  --json                   also print the report as one JSON line
  --record-acked=FILE      append "<trace id hex> <span count>" for every acknowledged trace
  --decode-baseline        do not send: parse the pre-encoded protobuf requests in-process (into an
                           arena) on --connections threads for --duration seconds; report spans/s
                           per core, the decode ceiling to compare ingest rates with
  --help                   this text
)",
      fmt::arg("endpoint", d.endpoint), fmt::arg("gzip_level", d.gzip_level),
      fmt::arg("connections", d.connections), fmt::arg("timeout", d.timeout_s),
      fmt::arg("batch", d.batch), fmt::arg("services", d.shape.services),
      fmt::arg("operations", d.shape.operations), fmt::arg("depth", d.shape.depth),
      fmt::arg("fanout", d.shape.fanout), fmt::arg("spt", d.shape.spans_per_trace),
      fmt::arg("attributes", d.shape.attributes), fmt::arg("event_ratio", d.shape.event_ratio),
      fmt::arg("error_ratio", d.shape.error_ratio), fmt::arg("seed", d.seed),
      fmt::arg("pool", d.pool), fmt::arg("max_backoff", d.max_backoff_s),
      fmt::arg("max_retries", d.max_retries));
}

}  // namespace teletrace::loadgen
