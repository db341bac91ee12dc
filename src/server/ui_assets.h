// Serves the web UI: built assets from a directory (server.ui_dir) or, without one, the copy
// embedded at build time; a build made without Node embeds a placeholder page that says how to
// build the UI. Unknown paths that look like pages get index.html so deep links survive a reload.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/http.h"

namespace teletrace::server {

class UiAssets {
 public:
  explicit UiAssets(std::string ui_dir);
  // The asset, index.html for a client-side route, or 404/405; always with the security headers
  // of AddSecurityHeaders. Never reads a file outside ui_dir. Thread safe.
  HttpResponse Serve(const HttpRequest& request) const;

  // The file under ui_dir that a decoded URL path names, or nullopt when the path is not plain
  // segments ("..", ".", empty segments, backslashes and NULs are refused).
  std::optional<std::filesystem::path> FileUnderUiDir(std::string_view url_path) const;

 private:
  HttpResponse ServeUnsecured(const HttpRequest& request) const;
  HttpResponse ServeEmbedded(const std::string& path) const;
  std::string ui_dir_;
};

// Headers every UI response carries: nosniff, no framing, no referrer, and a Content-Security-Policy
// that allows only the UI's own scripts and API.
void AddSecurityHeaders(HttpResponse* response);

}  // namespace teletrace::server
