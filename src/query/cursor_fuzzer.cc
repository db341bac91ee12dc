// Fuzzes DecodeCursor: any bytes must give a cursor or InvalidArgument, never a crash, and a token
// that decodes must be the one canonical encoding of what it decodes to.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "query/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view token(reinterpret_cast<const char*>(data), size);
  for (teletrace::query::SortField field :
       {teletrace::query::SortField::kStartTime, teletrace::query::SortField::kDuration}) {
    for (bool ascending : {false, true}) {
      teletrace::query::Sort sort{field, ascending};
      absl::StatusOr<teletrace::query::Cursor> cursor =
          teletrace::query::DecodeCursor(sort, token, "fuzz");
      if (!cursor.ok()) {
        if (cursor.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
        continue;
      }
      if (teletrace::query::EncodeCursor(sort, *cursor) != token) std::abort();
    }
  }
  return 0;
}
