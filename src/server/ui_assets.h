// Serves the web UI: built assets from a directory (server.ui_dir) or, without one, the copy
// embedded at build time; a build made without Node embeds a placeholder page that says how to
// build the UI. Unknown paths that look like pages get index.html so deep links survive a reload.
#pragma once

#include <string>

#include "common/http.h"

namespace teletrace::server {

class UiAssets {
 public:
  explicit UiAssets(std::string ui_dir);
  HttpResponse Serve(const HttpRequest& request) const;

 private:
  HttpResponse ServeEmbedded(const std::string& path) const;
  std::string ui_dir_;
};

}  // namespace teletrace::server
