// The web UI's built files, compiled into the binary by embed_ui_main.cc from web/dist at build
// time. Empty (kEmbeddedUiCount == 0) when the UI was not built; the server then serves a
// placeholder page.
#pragma once

#include <cstddef>
#include <string_view>

namespace teletrace::server {

struct EmbeddedFile {
  std::string_view path;  // "/index.html", "/assets/index-abc123.js"
  std::string_view data;
};

extern const EmbeddedFile kEmbeddedUi[];
extern const size_t kEmbeddedUiCount;

}  // namespace teletrace::server
