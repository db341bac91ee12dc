#include "ingest/bounded_inflater.h"

#include <zlib.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace teletrace::ingest {
namespace {

std::string Deflate(const std::string& bytes, bool gzip) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, gzip ? 16 + MAX_WBITS : MAX_WBITS, 8,
                         Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&zs, bytes.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Join(const std::vector<std::string>& chunks) {
  std::string out;
  for (const std::string& chunk : chunks) out += chunk;
  return out;
}

struct Reservations {
  uint64_t total = 0;
  uint64_t limit = UINT64_MAX;
  bool operator()(uint64_t n) {
    if (total + n > limit) return false;
    total += n;
    return true;
  }
};

std::string Text(size_t n) {
  std::string text;
  for (size_t i = 0; text.size() < n; ++i) text += std::to_string(i * 7919 % 1000) + ",";
  text.resize(n);
  return text;
}

TEST(BoundedInflaterTest, RoundTripsAcrossInputPiecesAndChunks) {
  std::string original = Text(3 << 20);  // several output chunks
  std::string compressed = Deflate(original, /*gzip=*/true);
  // Split the input into uneven pieces, as gRPC slices arrive.
  std::vector<std::string_view> pieces = {std::string_view(compressed).substr(0, 1),
                                          std::string_view(compressed).substr(1, 1000),
                                          std::string_view(compressed).substr(1001)};
  std::vector<std::string> out;
  Reservations reserved;
  ASSERT_TRUE(InflateBounded(Compression::kGzip, pieces, original.size(), std::ref(reserved), &out)
                  .ok());
  EXPECT_EQ(Join(out), original);
  EXPECT_GT(out.size(), 3u);
  // Reservations stay within about twice the output.
  EXPECT_GE(reserved.total, original.size());
  EXPECT_LE(reserved.total, 2 * original.size());
}

TEST(BoundedInflaterTest, ZlibAndMultiMemberGzip) {
  std::vector<std::string> out;
  std::string zlib = Deflate("hello", /*gzip=*/false);
  ASSERT_TRUE(
      InflateBounded(Compression::kZlib, {zlib}, 100, [](uint64_t) { return true; }, &out).ok());
  EXPECT_EQ(Join(out), "hello");

  out.clear();
  std::string two = Deflate("hello ", true) + Deflate("world", true);
  ASSERT_TRUE(
      InflateBounded(Compression::kGzip, {two}, 100, [](uint64_t) { return true; }, &out).ok());
  EXPECT_EQ(Join(out), "hello world");
}

TEST(BoundedInflaterTest, LimitIsExact) {
  std::string original(1000, 'a');
  std::string compressed = Deflate(original, true);
  std::vector<std::string> out;
  EXPECT_TRUE(
      InflateBounded(Compression::kGzip, {compressed}, 1000, [](uint64_t) { return true; }, &out)
          .ok());
  out.clear();
  absl::Status over =
      InflateBounded(Compression::kGzip, {compressed}, 999, [](uint64_t) { return true; }, &out);
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(over.message(), "gzip: message inflates to more than 999 bytes");
  EXPECT_EQ(Join(out).size(), 1000u);  // stopped one byte past the limit
}

// 1 GiB of zeros compresses to about 1 MB; inflating stops at the limit, reserving only that.
TEST(BoundedInflaterTest, BombStopsAtTheLimit) {
  z_stream zs{};
  ASSERT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, MAX_WBITS, 9, Z_RLE), Z_OK);
  std::string zeros(1 << 20, '\0');
  std::string bomb;
  char buffer[1 << 16];
  for (int i = 0; i < 64; ++i) {  // 64 MiB is enough to prove the point quickly
    zs.next_in = reinterpret_cast<Bytef*>(zeros.data());
    zs.avail_in = static_cast<uInt>(zeros.size());
    do {
      zs.next_out = reinterpret_cast<Bytef*>(buffer);
      zs.avail_out = sizeof(buffer);
      deflate(&zs, i == 63 ? Z_FINISH : Z_NO_FLUSH);
      bomb.append(buffer, sizeof(buffer) - zs.avail_out);
    } while (zs.avail_out == 0);
  }
  deflateEnd(&zs);
  std::vector<std::string> out;
  Reservations reserved;
  absl::Status status =
      InflateBounded(Compression::kZlib, {bomb}, 1 << 20, std::ref(reserved), &out);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "deflate: message inflates to more than 1048576 bytes");
  EXPECT_LE(reserved.total, (1u << 20) + 1);
}

TEST(BoundedInflaterTest, RefusedReservationStops) {
  std::string compressed = Deflate(Text(100000), true);
  std::vector<std::string> out;
  Reservations reserved{.limit = 50000};
  absl::Status status =
      InflateBounded(Compression::kGzip, {compressed}, 1 << 20, std::ref(reserved), &out);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_LE(reserved.total, 50000u);
}

TEST(BoundedInflaterTest, CorruptInputIsInvalidArgument) {
  auto inflate = [](Compression compression, const std::string& input) {
    std::vector<std::string> out;
    return InflateBounded(compression, {input}, 1 << 20, [](uint64_t) { return true; }, &out);
  };
  std::string gzip = Deflate("hello world", true);
  EXPECT_EQ(inflate(Compression::kGzip, gzip.substr(0, gzip.size() - 3)).message(),
            "gzip: corrupt compressed message: truncated");
  EXPECT_EQ(inflate(Compression::kGzip, "not gzip at all").message(),
            "gzip: corrupt compressed message: incorrect header check");
  EXPECT_EQ(inflate(Compression::kZlib, Deflate("x", false) + "tail").message(),
            "deflate: corrupt compressed message: bytes after the end of the stream");
  EXPECT_EQ(inflate(Compression::kZlib, "").message(),
            "deflate: corrupt compressed message: truncated");
}

}  // namespace
}  // namespace teletrace::ingest
