#include "storage/key_catalog.h"

#include <tuple>

#include "common/encoding.h"
#include "fmt/format.h"
#include "query/engine.h"
#include "query/parse.h"

namespace teletrace::storage {
namespace {

// A resource, scope, span, event or link attribute's key, as the query API names it.
bool IsAttributeKey(std::string_view name) {
  absl::StatusOr<query::Key> key = query::ParseKey(name, "key");
  return key.ok() && key->level != query::KeyLevel::kIntrinsic;
}

absl::Status Corrupt(std::string_view detail) {
  return absl::DataLossError(fmt::format("key catalog: {}", detail));
}

}  // namespace

using encoding::ReadShortestVarint;  // one encoding per catalog

bool KeyOrder(const query::TagInfo& a, const query::TagInfo& b) {
  return std::tie(a.name, a.type) < std::tie(b.name, b.type);
}

std::string KeyCatalogOf(const std::vector<const model::StoredSpan*>& spans) {
  query::TagKeysCollector collector;
  for (const model::StoredSpan* s : spans) collector.Add(*s);
  std::vector<query::TagInfo> keys = std::move(collector).Finish();
  std::erase_if(keys, [](const query::TagInfo& k) { return !IsAttributeKey(k.name); });
  return EncodeKeyCatalog(keys);
}

std::string EncodeKeyCatalog(const std::vector<query::TagInfo>& keys) {
  std::string out(1, static_cast<char>(kKeyCatalogVersion));
  encoding::AppendVarint(&out, keys.size());
  for (const query::TagInfo& k : keys) {
    out.push_back(static_cast<char>(k.type));
    encoding::AppendVarint(&out, k.name.size());
    out.append(k.name);
  }
  return out;
}

absl::StatusOr<std::vector<query::TagInfo>> ParseKeyCatalog(std::string_view bytes) {
  if (bytes.empty()) return Corrupt("empty");
  if (static_cast<uint8_t>(bytes[0]) != kKeyCatalogVersion) {
    return Corrupt(fmt::format("unknown version {}", static_cast<uint8_t>(bytes[0])));
  }
  const char* p = bytes.data() + 1;
  const char* const end = bytes.data() + bytes.size();
  uint64_t count;
  if (!ReadShortestVarint(&p, end, &count)) return Corrupt("malformed key count");
  // Each key takes at least a type byte, a length byte and one byte of name.
  if (count > static_cast<uint64_t>(end - p) / 3) {
    return Corrupt(fmt::format("{} keys in {} bytes", count, end - p));
  }
  std::vector<query::TagInfo> keys;
  keys.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (p == end) return Corrupt(fmt::format("truncated at key {}", i));
    const auto type = static_cast<uint8_t>(*p++);
    if (type > static_cast<uint8_t>(query::ValueType::kMap)) {
      return Corrupt(fmt::format("unknown value type {} of key {}", type, i));
    }
    uint64_t size;
    if (!ReadShortestVarint(&p, end, &size) || size > static_cast<uint64_t>(end - p)) {
      return Corrupt(fmt::format("malformed name of key {}", i));
    }
    query::TagInfo key{std::string(p, size), static_cast<query::ValueType>(type)};
    p += size;
    if (!IsAttributeKey(key.name)) {
      return Corrupt(fmt::format("key {} is not an attribute key: \"{}\"", i, key.name));
    }
    if (!keys.empty() && !KeyOrder(keys.back(), key)) {
      return Corrupt(fmt::format("key {} out of order or repeated: \"{}\"", i, key.name));
    }
    keys.push_back(std::move(key));
  }
  if (p != end) return Corrupt(fmt::format("{} trailing bytes", end - p));
  return keys;
}

}  // namespace teletrace::storage
