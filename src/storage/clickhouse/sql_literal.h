// SQL literals for ClickHouse queries. Every value that goes into a statement goes through one of
// these; nothing is concatenated raw. Values that are not text (ids, doubles) are written in forms
// that need no escaping at all, so SqlString is the single escaping function.
//
//   fmt::format("SELECT count() FROM spans WHERE name = {}", SqlString(name));
//
// The forms are chosen to parse identically on ClickHouse 18.16 and on current releases.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace teletrace::storage::clickhouse {

// A quoted string literal holding exactly the bytes of `value` (any bytes, UTF-8 or not): quote,
// backslash and every control byte (0x00-0x1f, 0x7f) are backslash-escaped (\' \\ \n \t \r \0 \b
// \f, else \xHH); other bytes pass through unchanged.
std::string SqlString(std::string_view value);

// `unhex('<hex>')`: a String holding exactly `bytes` (ids, blobs).
std::string SqlBytes(std::string_view bytes);

// Integer literals. Int64 min is spelled so that it parses as an Int64, not as a UInt64 negated.
std::string SqlInt(int64_t value);
std::string SqlUInt(uint64_t value);

// A Float64 with exactly the bits of `value` (including NaN, infinities and -0.0), independent of
// how the server parses decimal float literals.
std::string SqlDouble(double value);

}  // namespace teletrace::storage::clickhouse
