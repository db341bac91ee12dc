// Test support: reads the shared fixture files under tests/fixtures.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace teletrace::ingest::testing {

inline std::filesystem::path FixturePath(const std::string& relative) {
  // CTest sets TELETRACE_SOURCE_DIR; a binary run by hand finds the tree from this file.
  const char* root = std::getenv("TELETRACE_SOURCE_DIR");
  std::filesystem::path base = root != nullptr
                                   ? std::filesystem::path(root)
                                   : std::filesystem::path(__FILE__).parent_path() / ".." / "..";
  return base / "tests" / "fixtures" / relative;
}

// The file's bytes, or "" when it cannot be read.
inline std::string ReadFixture(const std::string& relative) {
  std::ifstream in(FixturePath(relative), std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace teletrace::ingest::testing
