#include "server/ui_assets.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>

#include "server/embedded_ui.h"

namespace teletrace::server {
namespace {

constexpr char kPlaceholder[] = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Teletrace</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;line-height:1.5}
code,pre{background:#f3f3f3;padding:.1rem .3rem}</style></head>
<body><h1>Teletrace</h1>
<p>This binary was built without the web UI. The query API is live under <code>/v1/</code>
(try <a href="/v1/ping">/v1/ping</a>), health at <a href="/healthz">/healthz</a> and metrics at
<a href="/metrics">/metrics</a>.</p>
<p>To build the UI into the binary, install Node.js 20 and run <code>make build</code> from the
repository (it runs <code>npm ci && npm run build</code> in <code>web/</code> first).</p>
<h2>Send traces</h2>
<pre>export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318
export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
export OTEL_SERVICE_NAME=my-service</pre>
<p>OTLP/gRPC listens on port 4317, OTLP/HTTP on 4318.</p>
</body></html>
)";

std::string ContentTypeFor(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  return "application/octet-stream";
}

bool ReadFile(const std::filesystem::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

}  // namespace

UiAssets::UiAssets(std::string ui_dir) : ui_dir_(std::move(ui_dir)) {}

std::optional<std::filesystem::path> UiAssets::FileUnderUiDir(std::string_view url_path) const {
  // The path arrives percent-decoded, so "%2F" is already "/" and "%2E%2E" is "..". Build the file
  // name from plain segments only: an absolute component ("//etc/passwd" would make
  // path::operator/ discard ui_dir), "." or "..", a backslash or a NUL never reaches the
  // filesystem.
  std::filesystem::path file(ui_dir_);
  size_t segments = 0;
  while (!url_path.empty()) {
    if (url_path.front() != '/') return std::nullopt;
    url_path.remove_prefix(1);
    size_t end = url_path.find('/');
    std::string_view segment = url_path.substr(0, end);
    url_path = end == std::string_view::npos ? std::string_view() : url_path.substr(end);
    if (segment.empty() || segment == "." || segment == ".." ||
        segment.find_first_of(std::string_view("\\\0", 2)) != std::string_view::npos) {
      return std::nullopt;
    }
    file /= std::string(segment);
    ++segments;
  }
  if (segments == 0) return std::nullopt;
  return file;
}

HttpResponse UiAssets::Serve(const HttpRequest& request) const {
  HttpResponse r = ServeUnsecured(request);
  AddSecurityHeaders(&r);
  return r;
}

HttpResponse UiAssets::ServeUnsecured(const HttpRequest& request) const {
  HttpResponse r;
  if (request.method != "GET" && request.method != "HEAD") {
    r.status = 405;
    r.body = R"({"errorMessage":"only GET is allowed here"})";
    return r;
  }
  if (!ui_dir_.empty()) {
    namespace fs = std::filesystem;
    std::optional<fs::path> file = FileUnderUiDir(request.path);
    std::error_code ec;
    if (file && fs::is_regular_file(*file, ec) && ReadFile(*file, &r.body)) {
      r.content_type = ContentTypeFor(*file);
      if (request.path.rfind("/assets/", 0) == 0) {
        r.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
      }
      return r;
    }
    // Missing files under /assets/ are real 404s; anything else is a client-side route.
    if (request.path.rfind("/assets/", 0) == 0) {
      r.status = 404;
      r.body = R"({"errorMessage":"no such asset"})";
      return r;
    }
    if (ReadFile(fs::path(ui_dir_) / "index.html", &r.body)) {
      r.content_type = "text/html; charset=utf-8";
      r.headers.emplace_back("Cache-Control", "no-cache");
      return r;
    }
  }
  if (ui_dir_.empty() && kEmbeddedUiCount > 0) return ServeEmbedded(request.path);
  r.content_type = "text/html; charset=utf-8";
  r.body = kPlaceholder;
  return r;
}

void AddSecurityHeaders(HttpResponse* response) {
  // The UI is one origin that loads only its own scripts and talks only to its own API: nothing
  // inline, no framing (clickjacking), no MIME sniffing, no referrer leaking trace ids.
  response->headers.emplace_back("X-Content-Type-Options", "nosniff");
  response->headers.emplace_back("X-Frame-Options", "DENY");
  response->headers.emplace_back("Referrer-Policy", "no-referrer");
  response->headers.emplace_back(
      "Content-Security-Policy",
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
      "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
      "form-action 'self'; frame-ancestors 'none'");
}
HttpResponse UiAssets::ServeEmbedded(const std::string& path) const {
  HttpResponse r;
  const EmbeddedFile* index = nullptr;
  for (size_t i = 0; i < kEmbeddedUiCount; ++i) {
    const EmbeddedFile& f = kEmbeddedUi[i];
    if (f.path == "/index.html") index = &f;
    if (path != "/" && f.path == path) {
      r.content_type = ContentTypeFor(std::filesystem::path(path));
      r.body.assign(f.data);
      if (path.rfind("/assets/", 0) == 0) {
        r.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
      }
      return r;
    }
  }
  if (path.rfind("/assets/", 0) == 0 || index == nullptr) {
    r.status = 404;
    r.body = R"({"errorMessage":"no such asset"})";
    return r;
  }
  // Client-side routes (/trace/<id>, /search?...) all load the app.
  r.content_type = "text/html; charset=utf-8";
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.body.assign(index->data);
  return r;
}

}  // namespace teletrace::server
