#include "loadgen/payload.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "loadgen/wire.h"

namespace teletrace::loadgen {
namespace {

using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::trace::v1::Span;
using KeyValues = google::protobuf::RepeatedPtrField<KeyValue>;

constexpr char kHexDigits[] = "0123456789abcdef";

uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

int HexValue(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

// Walks a serialized ExportTraceServiceRequest and records where trace ids and timestamps sit.
absl::Status FindProtobufOffsets(EncodedRequest* encoded) {
  const std::string_view all(encoded->bytes);
  WireReader request(all);
  while (request.Next()) {
    if (request.field() != 1 || request.wire_type() != WireReader::kLen) continue;
    WireReader resource_spans(request.bytes(), request.value_offset());
    while (resource_spans.Next()) {
      if (resource_spans.field() != 2 || resource_spans.wire_type() != WireReader::kLen) continue;
      WireReader scope_spans(resource_spans.bytes(), resource_spans.value_offset());
      while (scope_spans.Next()) {
        if (scope_spans.field() != 2 || scope_spans.wire_type() != WireReader::kLen) continue;
        WireReader span(scope_spans.bytes(), scope_spans.value_offset());
        while (span.Next()) {
          if (span.field() == 1 && span.wire_type() == WireReader::kLen &&
              span.bytes().size() == 16) {
            encoded->salt_offsets.push_back(static_cast<uint32_t>(span.value_offset() + 8));
          } else if ((span.field() == 7 || span.field() == 8) &&
                     span.wire_type() == WireReader::kFixed64) {
            encoded->time_offsets.push_back(static_cast<uint32_t>(span.value_offset()));
          } else if (span.field() == 11 && span.wire_type() == WireReader::kLen) {
            WireReader event(span.bytes(), span.value_offset());
            while (event.Next()) {
              if (event.field() == 1 && event.wire_type() == WireReader::kFixed64) {
                encoded->time_offsets.push_back(static_cast<uint32_t>(event.value_offset()));
              }
            }
          }
        }
        if (!span.ok()) return absl::InternalError("loadgen: cannot re-read an encoded span");
      }
    }
  }
  return absl::OkStatus();
}

// Writes OTLP/JSON and records the patch offsets as it goes.
class JsonWriter {
 public:
  explicit JsonWriter(EncodedRequest* encoded) : encoded_(encoded), out_(encoded->bytes) {}

  absl::Status WriteRequest(const ExportRequest& request) {
    out_ += "{\"resourceSpans\":[";
    for (int r = 0; r < request.resource_spans_size(); ++r) {
      const auto& resource_spans = request.resource_spans(r);
      if (r > 0) out_ += ',';
      out_ += "{\"resource\":{\"attributes\":";
      WriteAttributes(resource_spans.resource().attributes());
      out_ += "},\"scopeSpans\":[";
      for (int s = 0; s < resource_spans.scope_spans_size(); ++s) {
        const auto& scope_spans = resource_spans.scope_spans(s);
        if (s > 0) out_ += ',';
        out_ += "{\"scope\":{\"name\":";
        WriteString(scope_spans.scope().name());
        out_ += ",\"version\":";
        WriteString(scope_spans.scope().version());
        out_ += "},\"spans\":[";
        for (int i = 0; i < scope_spans.spans_size(); ++i) {
          if (i > 0) out_ += ',';
          RETURN_IF_ERROR(WriteSpan(scope_spans.spans(i)));
        }
        out_ += "]}";
      }
      out_ += "]}";
    }
    out_ += "]}";
    return absl::OkStatus();
  }

 private:
  absl::Status WriteSpan(const Span& span) {
    out_ += "{\"traceId\":";
    size_t at = out_.size() + 1;
    WriteHex(span.trace_id());
    if (span.trace_id().size() == 16) {
      encoded_->salt_offsets.push_back(static_cast<uint32_t>(at + 16));
    }
    out_ += ",\"spanId\":";
    WriteHex(span.span_id());
    if (!span.parent_span_id().empty()) {
      out_ += ",\"parentSpanId\":";
      WriteHex(span.parent_span_id());
    }
    if (span.flags() != 0) out_ += fmt::format(",\"flags\":{}", span.flags());
    out_ += ",\"name\":";
    WriteString(span.name());
    out_ += fmt::format(",\"kind\":{}", static_cast<int>(span.kind()));
    out_ += ",\"startTimeUnixNano\":";
    absl::Status status = WriteTime(span.start_time_unix_nano());
    if (!status.ok()) return status;
    out_ += ",\"endTimeUnixNano\":";
    status = WriteTime(span.end_time_unix_nano());
    if (!status.ok()) return status;
    out_ += ",\"attributes\":";
    WriteAttributes(span.attributes());
    if (span.events_size() > 0) {
      out_ += ",\"events\":[";
      for (int e = 0; e < span.events_size(); ++e) {
        const auto& event = span.events(e);
        if (e > 0) out_ += ',';
        out_ += "{\"timeUnixNano\":";
        status = WriteTime(event.time_unix_nano());
        if (!status.ok()) return status;
        out_ += ",\"name\":";
        WriteString(event.name());
        out_ += ",\"attributes\":";
        WriteAttributes(event.attributes());
        out_ += '}';
      }
      out_ += ']';
    }
    if (span.has_status()) {
      out_ += fmt::format(",\"status\":{{\"code\":{}", static_cast<int>(span.status().code()));
      if (!span.status().message().empty()) {
        out_ += ",\"message\":";
        WriteString(span.status().message());
      }
      out_ += '}';
    }
    out_ += '}';
    return absl::OkStatus();
  }

  absl::Status WriteTime(uint64_t time_unix_nano) {
    if (time_unix_nano < 1000000000000000000ULL || time_unix_nano > 9999999999999999999ULL) {
      return absl::InvalidArgumentError(
          fmt::format("loadgen: timestamp {} does not have 19 digits; cannot patch it in JSON",
                      time_unix_nano));
    }
    out_ += '"';
    encoded_->time_offsets.push_back(static_cast<uint32_t>(out_.size()));
    out_ += fmt::format("{}", time_unix_nano);
    out_ += '"';
    return absl::OkStatus();
  }

  void WriteHex(const std::string& bytes) {
    out_ += '"';
    for (unsigned char c : bytes) {
      out_ += kHexDigits[c >> 4];
      out_ += kHexDigits[c & 15];
    }
    out_ += '"';
  }

  void WriteString(const std::string& value) {
    out_ += '"';
    for (unsigned char c : value) {
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += static_cast<char>(c);
      } else if (c < 0x20) {
        out_ += fmt::format("\\u{:04x}", c);
      } else {
        out_ += static_cast<char>(c);
      }
    }
    out_ += '"';
  }

  void WriteValue(const AnyValue& value) {
    switch (value.value_case()) {
      case AnyValue::kStringValue:
        out_ += "{\"stringValue\":";
        WriteString(value.string_value());
        out_ += '}';
        break;
      case AnyValue::kBoolValue:
        out_ += value.bool_value() ? "{\"boolValue\":true}" : "{\"boolValue\":false}";
        break;
      case AnyValue::kIntValue:
        out_ += fmt::format("{{\"intValue\":\"{}\"}}", value.int_value());
        break;
      case AnyValue::kDoubleValue:
        out_ += fmt::format("{{\"doubleValue\":{}}}", value.double_value());
        break;
      case AnyValue::kArrayValue:
        out_ += "{\"arrayValue\":{\"values\":[";
        for (int i = 0; i < value.array_value().values_size(); ++i) {
          if (i > 0) out_ += ',';
          WriteValue(value.array_value().values(i));
        }
        out_ += "]}}";
        break;
      case AnyValue::kKvlistValue:
        out_ += "{\"kvlistValue\":{\"values\":";
        WriteAttributes(value.kvlist_value().values());
        out_ += "}}";
        break;
      default:  // bytes and unset: the generator produces neither
        out_ += "{}";
    }
  }

  void WriteAttributes(const KeyValues& attributes) {
    out_ += '[';
    for (int i = 0; i < attributes.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += "{\"key\":";
      WriteString(attributes[i].key());
      out_ += ",\"value\":";
      WriteValue(attributes[i].value());
      out_ += '}';
    }
    out_ += ']';
  }

  EncodedRequest* encoded_;
  std::string& out_;
};

}  // namespace

absl::StatusOr<EncodedRequest> EncodeRequest(const ExportRequest& request,
                                             std::vector<GeneratedTrace> traces,
                                             Encoding encoding) {
  EncodedRequest encoded;
  encoded.encoding = encoding;
  encoded.traces = std::move(traces);
  for (const GeneratedTrace& trace : encoded.traces) encoded.span_count += trace.span_count;
  if (encoding == Encoding::kProtobuf) {
    if (!request.SerializeToString(&encoded.bytes)) {
      return absl::InternalError("loadgen: cannot serialize an ExportTraceServiceRequest");
    }
    absl::Status status = FindProtobufOffsets(&encoded);
    if (!status.ok()) return status;
  } else {
    encoded.bytes.reserve(static_cast<size_t>(request.ByteSizeLong()) * 2);
    JsonWriter writer(&encoded);
    absl::Status status = writer.WriteRequest(request);
    if (!status.ok()) return status;
  }
  return encoded;
}

uint64_t SaltForSend(uint64_t run_id, uint64_t send_index) {
  return Mix64(Mix64(run_id) + send_index);
}

TraceId SaltTraceId(const TraceId& trace_id, uint64_t salt) {
  TraceId out = trace_id;
  for (int i = 0; i < 8; ++i) out[8 + i] ^= static_cast<uint8_t>(salt >> (56 - 8 * i));
  return out;
}

int64_t SpreadTimeShift(uint64_t generated_at_unix_nano, uint64_t window_end_unix_nano,
                        int64_t spread_nanos, uint64_t k, uint64_t n) {
  k = std::min(k, n);
  // 128 bits: an hour in nanoseconds times a request count overflows 64.
  auto offset = static_cast<int64_t>(static_cast<unsigned __int128>(spread_nanos) * k / n);
  return static_cast<int64_t>(window_end_unix_nano - generated_at_unix_nano) - spread_nanos +
         offset;
}

void PatchRequest(const EncodedRequest& encoded, uint64_t salt, int64_t time_shift_nanos,
                  std::string* out) {
  out->assign(encoded.bytes);
  char* data = out->data();
  uint8_t salt_bytes[8];
  for (int i = 0; i < 8; ++i) salt_bytes[i] = static_cast<uint8_t>(salt >> (56 - 8 * i));
  if (encoded.encoding == Encoding::kProtobuf) {
    for (uint32_t offset : encoded.salt_offsets) {
      for (int i = 0; i < 8; ++i) {
        data[offset + i] = static_cast<char>(data[offset + i] ^ salt_bytes[i]);
      }
    }
    if (time_shift_nanos == 0) return;
    for (uint32_t offset : encoded.time_offsets) {
      uint64_t value = 0;
      std::memcpy(&value, data + offset, 8);  // fixed64 is little-endian, as is this machine
      value += static_cast<uint64_t>(time_shift_nanos);
      std::memcpy(data + offset, &value, 8);
    }
    return;
  }
  for (uint32_t offset : encoded.salt_offsets) {
    for (int i = 0; i < 8; ++i) {
      char* digits = data + offset + 2 * i;
      int byte = (HexValue(digits[0]) << 4 | HexValue(digits[1])) ^ salt_bytes[i];
      digits[0] = kHexDigits[byte >> 4];
      digits[1] = kHexDigits[byte & 15];
    }
  }
  if (time_shift_nanos == 0) return;
  for (uint32_t offset : encoded.time_offsets) {
    char* digits = data + offset;
    uint64_t value = 0;
    for (int i = 0; i < 19; ++i) value = value * 10 + static_cast<uint64_t>(digits[i] - '0');
    value += static_cast<uint64_t>(time_shift_nanos);
    for (int i = 18; i >= 0; --i) {
      digits[i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  }
}

absl::Status GzipCompress(std::string_view data, int level, std::string* out) {
  z_stream stream{};
  // 15 window bits + 16 selects the gzip wrapper.
  if (deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError("loadgen: gzip: deflateInit2 failed");
  }
  out->resize(deflateBound(&stream, static_cast<uLong>(data.size())) + 32);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out->data());
  stream.avail_out = static_cast<uInt>(out->size());
  int result = deflate(&stream, Z_FINISH);
  size_t written = stream.total_out;
  deflateEnd(&stream);
  if (result != Z_STREAM_END) {
    return absl::InternalError(fmt::format("loadgen: gzip: deflate returned {}", result));
  }
  out->resize(written);
  return absl::OkStatus();
}

absl::StatusOr<std::string> GzipDecompress(std::string_view data) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) {
    return absl::InternalError("loadgen: gunzip: inflateInit2 failed");
  }
  std::string out;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  char buffer[65536];
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - stream.avail_out);
    if (result == Z_BUF_ERROR && stream.avail_in == 0) break;
  }
  inflateEnd(&stream);
  if (result != Z_STREAM_END) {
    return absl::InvalidArgumentError(fmt::format("loadgen: gunzip: inflate returned {}", result));
  }
  return out;
}

}  // namespace teletrace::loadgen
