// Writing JSON string literals without a JSON library: the hot paths that emit JSON (API
// responses, Elasticsearch bulk bodies) append text straight into one buffer.
#pragma once

#include <string>
#include <string_view>

namespace teletrace {

// Appends `s` as a JSON string literal (quoted, escaped; invalid UTF-8 bytes become U+FFFD).
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace teletrace
