#include <string>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "query/intrinsics.h"
#include "query/parse.h"

namespace teletrace::query {
namespace {

struct AttributePrefix {
  std::string_view prefix;
  KeyLevel level;
};

// Longer prefixes first is not needed: none of these is a prefix of another.
constexpr AttributePrefix kAttributePrefixes[] = {
    {"resource.attributes.", KeyLevel::kResource},
    {"scope.attributes.", KeyLevel::kScope},
    {"span.attributes.", KeyLevel::kSpan},
    {"span.events.attributes.", KeyLevel::kEvent},
    {"span.links.attributes.", KeyLevel::kLink},
};

}  // namespace

absl::StatusOr<Key> ParseKey(std::string_view text, std::string_view field) {
  Key key;
  key.text = std::string(text);
  for (const IntrinsicInfo& info : kIntrinsics) {
    if (text == info.name) {
      key.level = KeyLevel::kIntrinsic;
      key.intrinsic = info.intrinsic;
      return key;
    }
  }
  for (const AttributePrefix& p : kAttributePrefixes) {
    if (text.size() > p.prefix.size() && text.substr(0, p.prefix.size()) == p.prefix) {
      key.level = p.level;
      key.name = std::string(text.substr(p.prefix.size()));
      return key;
    }
  }
  return absl::InvalidArgumentError(fmt::format("{}.key: unknown key \"{}\"", field, text));
}

std::string AttributeKeyName(const Key& key) {
  for (const AttributePrefix& p : kAttributePrefixes) {
    if (p.level == key.level) return std::string(p.prefix) + key.name;
  }
  return key.text;  // an intrinsic: its name is its text
}

bool IsNumericIntrinsic(const Key& key) {
  return key.level == KeyLevel::kIntrinsic &&
         InfoOf(key.intrinsic).type == IntrinsicType::kNumber;
}

}  // namespace teletrace::query
