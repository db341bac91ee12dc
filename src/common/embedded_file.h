// A file compiled into the binary by teletrace_embed_files() (cmake/embed_files.cmake): SQL
// migrations, index templates. The generated header holds a constexpr array of these.
#pragma once

#include <string_view>

namespace teletrace {

struct EmbeddedFile {
  std::string_view name;      // file name, e.g. "001_initial.sql"
  std::string_view contents;  // the file's bytes, verbatim
};

}  // namespace teletrace
