// Fuzzes the URL query-string parser and PercentDecode, which see every byte of a request target:
// they must never crash, never grow the input, decode every escape they are given, and parse back
// exactly the pairs a strict encoder wrote.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/teletrace_v1/teletrace_v1_api.h"

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Every byte as "%XX": the one encoding that PercentDecode must undo whatever the bytes are.
std::string EncodeAll(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto b = static_cast<uint8_t>(c);
    out.push_back('%');
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using teletrace::api::v1::ParseQueryString;
  using teletrace::api::v1::PercentDecode;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  // Arbitrary bytes: decoding only ever shrinks, and text without '%' is left as it is.
  std::string decoded = PercentDecode(input);
  if (decoded.size() > input.size()) std::abort();
  if (input.find('%') == std::string_view::npos && decoded != input) std::abort();
  if (PercentDecode(EncodeAll(input)) != input) std::abort();

  Pairs pairs = ParseQueryString(input);
  size_t parts = 0;
  for (size_t start = 0; start <= input.size();) {
    size_t amp = input.find('&', start);
    if (amp == std::string_view::npos) amp = input.size();
    if (amp > start) ++parts;
    start = amp + 1;
  }
  if (pairs.size() != parts) std::abort();
  for (const auto& [key, value] : pairs) {
    if (key.size() + value.size() > input.size()) std::abort();
  }

  // The input cut into pairs at '\n' (key) and '\t' (value), strictly encoded, parses back.
  Pairs expected;
  std::string query;
  for (size_t start = 0; start < input.size();) {
    size_t nl = input.find('\n', start);
    if (nl == std::string_view::npos) nl = input.size();
    std::string_view line = input.substr(start, nl - start);
    start = nl + 1;
    size_t tab = line.find('\t');
    std::string_view key = line.substr(0, tab);
    std::string_view value = tab == std::string_view::npos ? "" : line.substr(tab + 1);
    if (key.empty()) continue;  // "=v" and "" are not pairs a client sends
    expected.emplace_back(key, value);
    if (!query.empty()) query.push_back('&');
    query += EncodeAll(key) + "=" + EncodeAll(value);
  }
  if (ParseQueryString(query) != expected) std::abort();
  return 0;
}
