// Golden files for tests (header-only, test code only): a JSON response body compared byte for
// byte with tests/fixtures/<path>, which holds it indented for review; other fixtures read whole.
// IndentJson adds whitespace between tokens and nothing else (no number or string is
// re-rendered), so the file is the server's bytes. TELETRACE_UPDATE_GOLDEN=1 rewrites the files;
// TELETRACE_SOURCE_DIR locates them.
#pragma once

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace teletrace::golden {

// One space of indent per level, a line per member, ": " after keys; empty objects and arrays
// stay `{}` and `[]`.
inline std::string IndentJson(std::string_view in) {
  std::string out;
  int depth = 0;
  bool in_string = false;
  auto newline = [&] {
    out.push_back('\n');
    out.append(static_cast<size_t>(depth), ' ');
  };
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < in.size()) {
        out.push_back(in[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        out.push_back(c);
        break;
      case '{':
      case '[':
        out.push_back(c);
        if (i + 1 < in.size() && (in[i + 1] == '}' || in[i + 1] == ']')) {
          out.push_back(in[++i]);
        } else {
          ++depth;
          newline();
        }
        break;
      case '}':
      case ']':
        --depth;
        newline();
        out.push_back(c);
        break;
      case ',':
        out.push_back(c);
        newline();
        break;
      case ':':
        out.append(": ");
        break;
      default:
        out.push_back(c);
    }
  }
  out.push_back('\n');
  return out;
}

// The bytes of tests/fixtures/`fixture` (a file pinned in the repository, such as a block of an
// older format); nullopt when TELETRACE_SOURCE_DIR, which locates it, is not set (the caller then
// skips). A file that cannot be read fails the test and reads as empty.
inline std::optional<std::string> ReadFixture(const std::string& fixture) {
  const char* source_dir = std::getenv("TELETRACE_SOURCE_DIR");
  if (source_dir == nullptr) return std::nullopt;
  const std::string path = std::string(source_dir) + "/tests/fixtures/" + fixture;
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) {
    ADD_FAILURE() << "cannot read " << path;
    return std::string();
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// `body` (compact JSON, as the server writes it) equals tests/fixtures/`fixture` once indented.
inline void ExpectJson(const std::string& fixture, std::string_view body) {
  const char* source_dir = std::getenv("TELETRACE_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr) << "TELETRACE_SOURCE_DIR is not set";
  const std::string path = std::string(source_dir) + "/tests/fixtures/" + fixture;
  const std::string indented = IndentJson(body);
  if (std::getenv("TELETRACE_UPDATE_GOLDEN") != nullptr) std::ofstream(path) << indented;
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  std::stringstream golden;
  golden << in.rdbuf();
  EXPECT_EQ(golden.str(), indented) << fixture;
}

}  // namespace teletrace::golden
