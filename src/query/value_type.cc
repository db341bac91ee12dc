#include "query/parse.h"

namespace teletrace::query {

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kStr:
      return "Str";
    case ValueType::kInt:
      return "Int";
    case ValueType::kDouble:
      return "Double";
    case ValueType::kBool:
      return "Bool";
    case ValueType::kBytes:
      return "Bytes";
    case ValueType::kSlice:
      return "Slice";
    case ValueType::kMap:
      return "Map";
  }
  return "Str";
}

}  // namespace teletrace::query
