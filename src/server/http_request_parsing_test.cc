#include "server/http_request_parsing.h"

#include <zlib.h>

#include "gtest/gtest.h"

namespace teletrace {
namespace {

TEST(CheckTransferEncodingTest, OnlyALoneChunkedIsAccepted) {
  EXPECT_EQ(CheckTransferEncoding("chunked", 11, false), std::nullopt);
  EXPECT_EQ(CheckTransferEncoding(" Chunked ", 11, false), std::nullopt);
  struct Case {
    std::string codings;
    unsigned version;
    bool content_length;
    int status;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"xchunked", 11, false, 501, R"(unsupported Transfer-Encoding "xchunked" (only chunked))"},
           {"gzip, chunked", 11, false, 501,
            R"(unsupported Transfer-Encoding "gzip, chunked" (only chunked))"},
           {"chunked, identity", 11, false, 400,
            R"(Transfer-Encoding "chunked, identity" does not end with chunked)"},
           {"chunked,chunked", 11, false, 501,
            R"(unsupported Transfer-Encoding "chunked, chunked" (only chunked))"},
           {"identity", 11, false, 501, R"(unsupported Transfer-Encoding "identity" (only chunked))"},
           {"chunked", 10, false, 400, "Transfer-Encoding is not allowed in HTTP/1.0 requests"},
           {"chunked", 11, true, 400, "request has both Transfer-Encoding and Content-Length"},
       }) {
    std::optional<RequestRefusal> refusal = CheckTransferEncoding(c.codings, c.version,
                                                                  c.content_length);
    ASSERT_TRUE(refusal.has_value()) << c.codings;
    EXPECT_EQ(refusal->status, c.status) << c.codings;
    EXPECT_EQ(refusal->message, c.message) << c.codings;
  }
}

TEST(SplitTargetTest, DecodesThePathAndKeepsTheQueryRaw) {
  std::string path, query;
  SplitTarget("/v1/tags/a%20b?x=%41", &path, &query);
  EXPECT_EQ(path, "/v1/tags/a b");
  EXPECT_EQ(query, "x=%41");
  SplitTarget("http://host:8080/v1/ping?q", &path, &query);
  EXPECT_EQ(path, "/v1/ping");
  EXPECT_EQ(query, "q");
  SplitTarget("/bad%zz%4", &path, &query);
  EXPECT_EQ(path, "/bad%zz%4");
  EXPECT_EQ(query, "");
}

TEST(InflateBodyTest, ZlibRawAndGzipWithExactLimits) {
  const std::string plain(1000, 'x');
  std::string zlib_body(compressBound(plain.size()), '\0');
  uLongf zlib_size = zlib_body.size();
  ASSERT_EQ(compress(reinterpret_cast<Bytef*>(zlib_body.data()), &zlib_size,
                     reinterpret_cast<const Bytef*>(plain.data()), plain.size()),
            Z_OK);
  zlib_body.resize(zlib_size);
  std::string out;
  EXPECT_EQ(InflateBody(zlib_body, BodyCoding::kDeflate, 1000, &out), std::nullopt);
  EXPECT_EQ(out, plain);
  std::optional<RequestRefusal> over = InflateBody(zlib_body, BodyCoding::kDeflate, 999, &out);
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->status, 413);
  EXPECT_EQ(over->message, "request body exceeds 999 bytes after decompression");
  EXPECT_TRUE(out.empty());
  std::optional<RequestRefusal> corrupt = InflateBody("not gzip", BodyCoding::kGzip, 1000, &out);
  ASSERT_TRUE(corrupt.has_value());
  EXPECT_EQ(corrupt->status, 400);
  EXPECT_EQ(corrupt->message, "invalid gzip body: incorrect header check");
}

TEST(AcceptsGzipTest, HonoursQZero) {
  EXPECT_TRUE(AcceptsGzip("br, gzip"));
  EXPECT_TRUE(AcceptsGzip("x-gzip;q=0.5"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("br, deflate"));
  EXPECT_FALSE(AcceptsGzip(""));
}

}  // namespace
}  // namespace teletrace
