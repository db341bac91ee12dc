#include "storage/clickhouse/sql_literal.h"

#include <cstring>

#include "common/ids.h"
#include "fmt/format.h"

namespace teletrace::storage::clickhouse {

std::string SqlString(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out.push_back('\'');
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '\'':
        out += "\\'";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\0':
        out += "\\0";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          out += fmt::format("\\x{:02X}", byte);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('\'');
  return out;
}

std::string SqlBytes(std::string_view bytes) { return fmt::format("unhex('{}')", ToHex(bytes)); }

std::string SqlInt(int64_t value) {
  // "-9223372036854775808" would be read as -(9223372036854775808), a UInt64 negated.
  if (value == INT64_MIN) return "toInt64('-9223372036854775808')";
  return fmt::format("{}", value);
}

std::string SqlUInt(uint64_t value) { return fmt::format("{}", value); }

std::string SqlDouble(double value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(bits));
  // reinterpretAsFloat64 reads the string's bytes little-endian.
  std::string le(8, '\0');
  for (int i = 0; i < 8; ++i) le[i] = static_cast<char>(bits >> (8 * i) & 0xff);
  return fmt::format("reinterpretAsFloat64({})", SqlBytes(le));
}

}  // namespace teletrace::storage::clickhouse
