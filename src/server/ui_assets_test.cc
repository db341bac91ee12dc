#include "server/ui_assets.h"

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "gtest/gtest.h"

namespace teletrace::server {
namespace {

HttpRequest Get(std::string path) {
  HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  return r;
}

class UiAssetsDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("teletrace-ui-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "assets");
    std::ofstream(dir_ / "index.html") << "<html>app</html>";
    std::ofstream(dir_ / "assets" / "main.js") << "console.log(1)";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(UiAssetsDirTest, ServesFilesAndFallsBackToIndexForRoutes) {
  UiAssets ui(dir_.string());
  HttpResponse js = ui.Serve(Get("/assets/main.js"));
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "console.log(1)");
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");

  HttpResponse route = ui.Serve(Get("/trace/0123456789abcdef0123456789abcdef"));
  EXPECT_EQ(route.status, 200);
  EXPECT_EQ(route.body, "<html>app</html>");

  EXPECT_EQ(ui.Serve(Get("/assets/missing.js")).status, 404);
  EXPECT_EQ(ui.Serve(Get("/../etc/passwd")).body.find("root:"), std::string::npos);
  HttpRequest post = Get("/");
  post.method = "POST";
  EXPECT_EQ(ui.Serve(post).status, 405);
}

// Issue 9 point 4: with --server.ui_dir, "GET //etc/passwd" and "GET /%2Fetc/passwd" (decoded to
// "//etc/passwd" by the server) returned any file the process could read.
TEST_F(UiAssetsDirTest, NeverReadsOutsideTheUiDirectory) {
  std::ofstream(dir_.parent_path() / ("teletrace-secret-" + std::to_string(::getpid())))
      << "secret";
  const std::string secret_name = "teletrace-secret-" + std::to_string(::getpid());
  UiAssets ui(dir_.string());
  for (const std::string& path :
       {std::string("//etc/passwd"), std::string("/../etc/passwd"), std::string("/./../" + secret_name),
        std::string("/assets/../../" + secret_name), std::string("/..") , std::string("/.%2e/x"),
        "/" + (dir_.parent_path() / secret_name).string(), std::string("/assets\\..\\x"),
        std::string("/assets/main.js\0", 16)}) {
    HttpResponse r = ui.Serve(Get(path));
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << path;
    EXPECT_EQ(r.body.find("secret"), std::string::npos) << path;
    // Anything that is not an asset gets the app (a client-side route) or a 404 under /assets/.
    if (path.rfind("/assets/", 0) == 0) {
      EXPECT_EQ(r.status, 404) << path;
    } else {
      EXPECT_EQ(r.body, "<html>app</html>") << path;
    }
  }
  std::filesystem::remove(dir_.parent_path() / secret_name);
  EXPECT_EQ(ui.FileUnderUiDir("//etc/passwd"), std::nullopt);
  EXPECT_EQ(ui.FileUnderUiDir("/assets/main.js"), dir_ / "assets" / "main.js");
  EXPECT_EQ(ui.FileUnderUiDir("/"), std::nullopt);
}

TEST_F(UiAssetsDirTest, EveryResponseCarriesTheSecurityHeaders) {
  UiAssets ui(dir_.string());
  for (const char* path : {"/", "/assets/main.js", "/assets/missing.js", "/trace/ab"}) {
    HttpResponse r = ui.Serve(Get(path));
    auto header = [&](std::string_view name) -> std::string {
      for (auto& [k, v] : r.headers) {
        if (k == name) return v;
      }
      return "";
    };
    EXPECT_EQ(header("X-Content-Type-Options"), "nosniff") << path;
    EXPECT_EQ(header("X-Frame-Options"), "DENY") << path;
    EXPECT_NE(header("Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos)
        << path;
  }
}

TEST(UiAssetsTest, PlaceholderWithoutAUiDirectoryOrEmbeddedBuildSaysHowToBuild) {
  UiAssets ui("/nonexistent/teletrace-ui");
  HttpResponse r = ui.Serve(Get("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("make build"), std::string::npos);
}

}  // namespace
}  // namespace teletrace::server
