// Trace and span identifiers: binary inside Teletrace, lowercase hex at the edges.
//
//   ASSIGN_OR_RETURN(TraceId id, ParseTraceIdHex("4bf92f3577b34da6a3ce929d0e0e4736"));
//   std::string hex = ToHex(id);
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace teletrace {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

template <size_t N>
bool IsZeroId(const std::array<uint8_t, N>& id) {
  for (uint8_t b : id) {
    if (b != 0) return false;
  }
  return true;
}

// Lowercase hex of raw bytes.
std::string ToHex(std::string_view bytes);
template <size_t N>
std::string ToHex(const std::array<uint8_t, N>& id) {
  return ToHex(std::string_view(reinterpret_cast<const char*>(id.data()), N));
}

// Decodes hex (either case) into exactly N bytes. Errors (InvalidArgument) name `what` and say
// whether the length or a character was wrong.
absl::StatusOr<TraceId> ParseTraceIdHex(std::string_view hex, std::string_view what = "trace id");
absl::StatusOr<SpanId> ParseSpanIdHex(std::string_view hex, std::string_view what = "span id");

// Copies raw bytes into an id; false when the length is not N.
template <size_t N>
bool IdFromBytes(std::string_view bytes, std::array<uint8_t, N>* id) {
  if (bytes.size() != N) return false;
  for (size_t i = 0; i < N; ++i) (*id)[i] = static_cast<uint8_t>(bytes[i]);
  return true;
}

template <size_t N>
std::string_view IdBytes(const std::array<uint8_t, N>& id) {
  return std::string_view(reinterpret_cast<const char*>(id.data()), N);
}

}  // namespace teletrace
