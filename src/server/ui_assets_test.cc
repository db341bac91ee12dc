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

TEST(UiAssetsTest, PlaceholderWithoutAUiDirectoryOrEmbeddedBuildSaysHowToBuild) {
  UiAssets ui("/nonexistent/teletrace-ui");
  HttpResponse r = ui.Serve(Get("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("make build"), std::string::npos);
}

}  // namespace
}  // namespace teletrace::server
