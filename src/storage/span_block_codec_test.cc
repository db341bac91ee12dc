#include "storage/span_block_codec.h"

#include <zstd.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/golden_test_util.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/test_spans.h"

namespace teletrace::storage {
namespace {

using model::AnyValue;
using model::ArrayValue;
using model::Bytes;
using model::KeyValue;
using model::KeyValueList;
using model::StoredSpan;
using ::testing::HasSubstr;

TraceId MakeTraceId(uint8_t seed) {
  TraceId id{};
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(seed + i);
  return id;
}

SpanId MakeSpanId(uint8_t seed) {
  SpanId id{};
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(seed * 3 + i);
  return id;
}

KeyValueList EveryValueType() {
  return {
      {"empty", AnyValue()},
      {"str", AnyValue("hello")},
      {"empty.str", AnyValue("")},
      {"utf8", AnyValue("gr\xc3\xbc\xc3\x9f dich \xf0\x9f\x8c\x8d")},
      {"t", AnyValue(true)},
      {"f", AnyValue(false)},
      {"int.min", AnyValue(std::numeric_limits<int64_t>::min())},
      {"int.max", AnyValue(std::numeric_limits<int64_t>::max())},
      {"int.neg", AnyValue(int64_t{-1})},
      {"int.zero", AnyValue(int64_t{0})},
      {"double", AnyValue(3.25)},
      {"double.neg.zero", AnyValue(-0.0)},
      {"double.inf", AnyValue(std::numeric_limits<double>::infinity())},
      {"double.min", AnyValue(std::numeric_limits<double>::denorm_min())},
      {"bytes", AnyValue(Bytes{std::string("\x00\x01\xff\x80", 4)})},
      {"bytes.empty", AnyValue(Bytes{})},
      {"array.empty", AnyValue(ArrayValue{})},
      {"array", AnyValue(ArrayValue{AnyValue("a"), AnyValue(int64_t{2}), AnyValue(true),
                                    AnyValue(ArrayValue{AnyValue(1.5), AnyValue()}),
                                    AnyValue(KeyValueList{{"k", AnyValue("v")}})})},
      {"kvlist.empty", AnyValue(KeyValueList{})},
      {"kvlist", AnyValue(KeyValueList{
                     {"inner", AnyValue(KeyValueList{{"deep", AnyValue(ArrayValue{AnyValue(
                                                                  Bytes{"\x01"})})}})},
                     {"", AnyValue("empty key")},
                     {"dup", AnyValue(int64_t{1})},
                     {"dup", AnyValue(int64_t{2})}})},
  };
}

std::vector<StoredSpan> RichSpans() {
  auto resource = std::make_shared<const model::Resource>(model::Resource{
      {{"service.name", AnyValue("checkout")}, {"host.cpus", AnyValue(int64_t{8})}},
      3,
      "https://opentelemetry.io/schemas/1.21.0"});
  auto other_resource = std::make_shared<const model::Resource>(
      model::Resource{{{"service.name", AnyValue("cart")}}, 0, ""});
  auto scope = std::make_shared<const model::Scope>(
      model::Scope{"io.opentelemetry.http", "1.2.3", EveryValueType(), 7, "schema://scope"});

  model::Span full;
  full.trace_id = MakeTraceId(1);
  full.span_id = MakeSpanId(1);
  full.trace_state = "vendor=abc,other=1";
  full.parent_span_id = MakeSpanId(9);
  full.flags = 0x301;
  full.name = "GET /checkout";
  full.kind = model::SpanKind::kServer;
  full.start_time_unix_nano = 1700000000123456789ULL;
  full.end_time_unix_nano = 1700000000987654321ULL;
  full.attributes = EveryValueType();
  full.dropped_attributes_count = 4;
  full.events = {
      model::Event{1700000000200000001ULL, "exception", EveryValueType(), 2},
      model::Event{0, "", {}, 0},  // before the span start: a negative offset must survive
      model::Event{UINT64_MAX, "late", {{"k", AnyValue("v")}}, 0},
  };
  full.dropped_events_count = 5;
  full.links = {
      model::Link{MakeTraceId(7), MakeSpanId(7), "ts=1", EveryValueType(), 6, 0x101},
      model::Link{},
  };
  full.dropped_links_count = 8;
  full.status = model::Status{"boom", model::StatusCode::kError};

  model::Span minimal;  // every field at its zero value

  model::Span extreme;
  extreme.trace_id = MakeTraceId(200);
  extreme.span_id = MakeSpanId(200);
  extreme.start_time_unix_nano = UINT64_MAX;
  extreme.end_time_unix_nano = 0;  // end before start must round-trip unchanged
  extreme.flags = UINT32_MAX;
  extreme.dropped_attributes_count = UINT32_MAX;
  extreme.dropped_events_count = UINT32_MAX;
  extreme.dropped_links_count = UINT32_MAX;
  extreme.status.code = model::StatusCode::kOk;

  model::Span max_end = extreme;
  max_end.span_id = MakeSpanId(201);
  max_end.start_time_unix_nano = 0;
  max_end.end_time_unix_nano = UINT64_MAX;

  return {
      StoredSpan{resource, scope, full, 1700000001000000000ULL},
      StoredSpan{nullptr, nullptr, minimal, 0},
      StoredSpan{other_resource, scope, extreme, UINT64_MAX},
      StoredSpan{resource, scope, max_end, 5},
  };
}

void ExpectSameSpans(const std::vector<StoredSpan>& want, const std::vector<StoredSpan>& got) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].span, want[i].span);
    EXPECT_EQ(got[i].ingestion_time_unix_nano, want[i].ingestion_time_unix_nano);
    ASSERT_NE(got[i].resource, nullptr);
    ASSERT_NE(got[i].scope, nullptr);
    EXPECT_EQ(*got[i].resource, want[i].resource ? *want[i].resource : model::Resource{});
    EXPECT_EQ(*got[i].scope, want[i].scope ? *want[i].scope : model::Scope{});
  }
}

TEST(SpanBlockCodecTest, RoundTripsEveryField) {
  std::vector<StoredSpan> spans = RichSpans();
  auto block = EncodeSpanBlock(spans);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ(static_cast<uint8_t>((*block)[0]), kSpanBlockFormatV3);
  auto decoded = DecodeSpanBlock(*block);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameSpans(spans, *decoded);
}

// A thread reuses what encoding allocates (each thread keeps its own): a block encoded after
// others, large or small, with more keys or fewer, is the same bytes as one encoded first on a
// thread of its own, compressed or not.
TEST(SpanBlockCodecTest, EncodingAfterOtherBlocksGivesTheSameBytes) {
  const std::vector<StoredSpan> rich = RichSpans();
  std::vector<StoredSpan> large;
  for (int i = 0; i < 300; ++i) {
    StoredSpan s = rich[static_cast<size_t>(i) % rich.size()];
    s.span.span_id = MakeSpanId(static_cast<uint8_t>(i));
    s.span.attributes.push_back(
        {"key." + std::to_string(i % 40), AnyValue("v" + std::to_string(i))});
    large.push_back(std::move(s));
  }
  // Past what a thread keeps (4 MiB): let go, then encoding goes on from nothing.
  StoredSpan huge = rich[0];
  huge.span.attributes.push_back({"blob", AnyValue(std::string(size_t{5} << 20, 'x'))});
  std::vector<std::vector<StoredSpan>> blocks = {large, {rich[1]}, rich, {rich[0]}, {}, {huge},
                                                 large, {rich[2], rich[3]}};
  for (bool compress : {true, false}) {
    SCOPED_TRACE(compress);
    SpanBlockOptions options;
    options.compress = compress;
    for (size_t i = 0; i < blocks.size(); ++i) {
      SCOPED_TRACE(i);
      absl::StatusOr<std::string> fresh;
      std::thread([&] { fresh = EncodeSpanBlock(blocks[i], options); }).join();
      absl::StatusOr<std::string> reused = EncodeSpanBlock(blocks[i], options);
      ASSERT_TRUE(fresh.ok()) << fresh.status();
      ASSERT_TRUE(reused.ok()) << reused.status();
      EXPECT_EQ(*reused, *fresh);
      absl::StatusOr<std::vector<StoredSpan>> decoded = DecodeSpanBlock(*reused);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      ExpectSameSpans(blocks[i], *decoded);
    }
  }
}

TEST(SpanBlockCodecTest, NegativeZeroAndNanKeepTheirBits) {
  StoredSpan s;
  s.span.attributes = {{"nan", AnyValue(std::nan("0x7"))}, {"negzero", AnyValue(-0.0)}};
  auto block = EncodeSpanBlock(std::vector<StoredSpan>{s});
  ASSERT_TRUE(block.ok());
  auto decoded = DecodeSpanBlock(*block);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  double nan = std::get<double>((*decoded)[0].span.attributes[0].value.value);
  double negzero = std::get<double>((*decoded)[0].span.attributes[1].value.value);
  EXPECT_EQ(std::bit_cast<uint64_t>(nan), std::bit_cast<uint64_t>(std::nan("0x7")));
  EXPECT_TRUE(std::signbit(negzero));
}

TEST(SpanBlockCodecTest, EmptyBlockRoundTrips) {
  auto block = EncodeSpanBlock(std::vector<StoredSpan>{});
  ASSERT_TRUE(block.ok());
  auto decoded = DecodeSpanBlock(*block);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->empty());
}

TEST(SpanBlockCodecTest, SharesEqualResourcesAndScopes) {
  // Two batches carrying equal resources arrive as distinct shared_ptrs; the block stores one.
  auto r1 = std::make_shared<const model::Resource>(
      model::Resource{{{"service.name", AnyValue("a")}}, 0, ""});
  auto r2 = std::make_shared<const model::Resource>(*r1);
  auto r3 = std::make_shared<const model::Resource>(
      model::Resource{{{"service.name", AnyValue("b")}}, 0, ""});
  auto scope = std::make_shared<const model::Scope>(model::Scope{"lib", "1", {}, 0, ""});
  std::vector<StoredSpan> spans;
  for (int i = 0; i < 6; ++i) {
    StoredSpan s;
    s.resource = i % 3 == 0 ? r1 : (i % 3 == 1 ? r2 : r3);
    s.scope = std::make_shared<const model::Scope>(*scope);
    s.span.span_id = MakeSpanId(static_cast<uint8_t>(i));
    spans.push_back(s);
  }
  auto block = EncodeSpanBlock(spans);
  ASSERT_TRUE(block.ok());
  auto decoded = DecodeSpanBlock(*block);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameSpans(spans, *decoded);
  EXPECT_EQ((*decoded)[0].resource.get(), (*decoded)[1].resource.get());
  EXPECT_EQ((*decoded)[0].resource.get(), (*decoded)[3].resource.get());
  EXPECT_NE((*decoded)[0].resource.get(), (*decoded)[2].resource.get());
  for (const auto& s : *decoded) EXPECT_EQ(s.scope.get(), (*decoded)[0].scope.get());
}

TEST(SpanBlockCodecTest, ManySpansCompressWell) {
  auto resource = std::make_shared<const model::Resource>(
      model::Resource{{{"service.name", AnyValue("frontend")}}, 0, ""});
  auto scope = std::make_shared<const model::Scope>(model::Scope{"lib", "1", {}, 0, ""});
  std::vector<StoredSpan> spans;
  for (int i = 0; i < 1024; ++i) {
    StoredSpan s{resource, scope, {}, 1700000000000000000ULL};
    s.span.trace_id = MakeTraceId(static_cast<uint8_t>(i / 8));
    s.span.span_id = MakeSpanId(static_cast<uint8_t>(i));
    s.span.span_id[7] = static_cast<uint8_t>(i >> 8);
    s.span.name = i % 2 ? "GET /api/items" : "SELECT items";
    s.span.start_time_unix_nano = 1700000000000000000ULL + static_cast<uint64_t>(i) * 1000003;
    s.span.end_time_unix_nano = s.span.start_time_unix_nano + 250000 + static_cast<uint64_t>(i);
    s.span.attributes = {{"http.method", AnyValue("GET")},
                         {"http.status_code", AnyValue(int64_t{200})},
                         {"http.url", AnyValue("https://example.com/api/items?page=" +
                                               std::to_string(i))}};
    spans.push_back(s);
  }
  auto block = EncodeSpanBlock(spans);
  ASSERT_TRUE(block.ok());
  auto decoded = DecodeSpanBlock(*block);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameSpans(spans, *decoded);
  // Random 16-byte trace ids and 8-byte span ids alone would be ~24 B/span; these ids are not
  // random, so the bound only guards against a format regression.
  EXPECT_LT(block->size(), 1024u * 40);
}

TEST(SpanBlockCodecTest, RefusesToEncodeAnOversizedBody) {
  // Two different values: a repeated one is stored once.
  StoredSpan s;
  s.span.attributes = {{"big", AnyValue(std::string(kMaxSpanBlockBodyBytes / 2, 'a'))}};
  StoredSpan t;
  t.span.attributes = {{"big", AnyValue(std::string(kMaxSpanBlockBodyBytes / 2, 'b'))}};
  auto block = EncodeSpanBlock(std::vector<StoredSpan>{s, t});
  EXPECT_EQ(block.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(block.status().message(), HasSubstr("span block: 2 spans encode to "));
  // One of them fits, and decodes although it compresses far beyond 1,000:1.
  block = EncodeSpanBlock(std::vector<StoredSpan>{s});
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_LT(block->size(), 4096u);
  auto decoded = DecodeSpanBlock(*block);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameSpans({s}, *decoded);
}

TEST(SpanBlockCodecTest, RejectsAnOversizedBody) {
  // A frame inflating to one byte over the limit, as a corrupt or hostile block might.
  std::string body(kMaxSpanBlockBodyBytes + 1, '\0');
  std::string frame(ZSTD_compressBound(body.size()), '\0');
  size_t n = ZSTD_compress(frame.data(), frame.size(), body.data(), body.size(), 1);
  ASSERT_FALSE(ZSTD_isError(n));
  std::string block(1, static_cast<char>(kSpanBlockFormatV1));
  block.append(frame.data(), n);
  auto decoded = DecodeSpanBlock(block);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decoded.status().message(), "span block: body over the size limit");
}

TEST(SpanBlockCodecTest, RejectsEmptyInput) {
  auto decoded = DecodeSpanBlock("");
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decoded.status().message(), "span block: empty");
}

TEST(SpanBlockCodecTest, RejectsUnknownVersion) {
  auto block = EncodeSpanBlock(RichSpans());
  ASSERT_TRUE(block.ok());
  (*block)[0] = 9;
  auto decoded = DecodeSpanBlock(*block);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decoded.status().message(), "span block: unknown format version 9");
}

TEST(SpanBlockCodecTest, RejectsEveryTruncation) {
  auto block = EncodeSpanBlock(RichSpans());
  ASSERT_TRUE(block.ok());
  for (size_t cut = 0; cut < block->size(); ++cut) {
    auto decoded = DecodeSpanBlock(std::string_view(*block).substr(0, cut));
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss) << "cut at " << cut;
  }
}

TEST(SpanBlockCodecTest, RejectsTrailingBytes) {
  auto block = EncodeSpanBlock(RichSpans());
  ASSERT_TRUE(block.ok());
  auto decoded = DecodeSpanBlock(*block + "x");
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
}

TEST(SpanBlockCodecTest, FlippedBytesNeverCrash) {
  auto block = EncodeSpanBlock(RichSpans());
  ASSERT_TRUE(block.ok());
  for (size_t i = 1; i < block->size(); ++i) {
    std::string corrupt = *block;
    corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
    auto decoded = DecodeSpanBlock(corrupt);  // may happen to decode; must not crash
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
    }
  }
}

TEST(SpanBlockCodecTest, ReportsWhatWasMalformed) {
  // A body that claims one resource whose attribute list is cut off.
  std::string body = "\x01\x05";
  std::string block(1, static_cast<char>(kSpanBlockFormatV1));
  std::string frame(ZSTD_COMPRESSBOUND(16), '\0');
  size_t n = ZSTD_compress(frame.data(), frame.size(), body.data(), body.size(), 1);
  ASSERT_FALSE(ZSTD_isError(n));
  block.append(frame.data(), n);
  auto decoded = DecodeSpanBlock(block);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(decoded.status().message(),
              HasSubstr("span block: malformed element count at body offset 2"));
}

// The blocks in tests/fixtures/blocks are the fuzzer's seeds and pin the formats: blocks written by
// released versions must stay readable. Format 1 files are no longer written; regenerate the
// current format's files (only when it changes, as a new version) with TELETRACE_UPDATE_FIXTURES=1.
TEST(SpanBlockCodecTest, FixtureBlocksStillDecode) {
  const char* source_dir = std::getenv("TELETRACE_SOURCE_DIR");
  if (source_dir == nullptr) GTEST_SKIP() << "TELETRACE_SOURCE_DIR not set";
  std::filesystem::path dir = std::filesystem::path(source_dir) / "tests/fixtures/blocks";
  std::vector<StoredSpan> rich = RichSpans();
  std::vector<StoredSpan> first_two(rich.begin(), rich.begin() + 2);
  struct Fixture {
    std::string name;
    std::vector<StoredSpan> spans;
    uint8_t format;
  };
  const std::vector<Fixture> fixtures = {{"rich_v1.block", rich, kSpanBlockFormatV1},
                                         {"small_v1.block", first_two, kSpanBlockFormatV1},
                                         {"rich_v2.block", rich, kSpanBlockFormatV2},
                                         {"small_v2.block", first_two, kSpanBlockFormatV2},
                                         {"rich_v3.block", rich, kSpanBlockFormatV3},
                                         {"small_v3.block", first_two, kSpanBlockFormatV3}};
  for (const auto& [name, spans, format] : fixtures) {
    SCOPED_TRACE(name);
    if (std::getenv("TELETRACE_UPDATE_FIXTURES") != nullptr && format == kSpanBlockFormatV3) {
      auto block = EncodeSpanBlock(spans);
      ASSERT_TRUE(block.ok());
      std::filesystem::create_directories(dir);
      std::ofstream(dir / name, std::ios::binary) << *block;
    }
    const std::optional<std::string> bytes = golden::ReadFixture("blocks/" + name);
    ASSERT_TRUE(bytes.has_value());
    ASSERT_FALSE(bytes->empty());
    EXPECT_EQ(static_cast<uint8_t>((*bytes)[0]), format);
    auto decoded = DecodeSpanBlock(*bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    ExpectSameSpans(spans, *decoded);
  }
}

// Parents are stored as positions when the parent is in the block, as ids when it is not, and a
// span id shared by two traces in one block still resolves to the right bytes.
TEST(SpanBlockCodecTest, ParentsInsideAndOutsideTheBlock) {
  std::vector<StoredSpan> spans(4);
  spans[0].span.trace_id = MakeTraceId(1);
  spans[0].span.span_id = MakeSpanId(10);
  spans[1].span.trace_id = MakeTraceId(1);
  spans[1].span.span_id = MakeSpanId(11);
  spans[1].span.parent_span_id = MakeSpanId(10);  // earlier in the block
  spans[2].span.trace_id = MakeTraceId(1);
  spans[2].span.span_id = MakeSpanId(12);
  spans[2].span.parent_span_id = MakeSpanId(13);  // later in the block
  spans[3].span.trace_id = MakeTraceId(2);
  spans[3].span.span_id = MakeSpanId(13);
  spans[3].span.parent_span_id = MakeSpanId(99);  // not in the block
  auto block = EncodeSpanBlock(spans);
  ASSERT_TRUE(block.ok()) << block.status();
  auto decoded = DecodeSpanBlock(*block);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameSpans(spans, *decoded);
  EXPECT_EQ((*decoded)[0].span.parent_span_id, SpanId{});
  EXPECT_EQ((*decoded)[2].span.parent_span_id, MakeSpanId(13));
  EXPECT_EQ((*decoded)[3].span.parent_span_id, MakeSpanId(99));
}

// A format 2 block of stored (uncompressed) sections: the header, then the 19 streams, of which
// only the span id stream has content unless `streams` says otherwise.
std::string StoredSectionsBlock(std::string_view header, std::map<int, std::string> streams) {
  std::string block(1, static_cast<char>(kSpanBlockFormatV2));
  auto section = [&block](std::string_view bytes) {
    block += '\0';  // stored
    block += static_cast<char>(bytes.size());
    block.append(bytes);
  };
  section(header);
  for (int i = 0; i < 19; ++i) section(streams[i]);
  return block;
}

TEST(SpanBlockCodecTest, ReportsWhichStreamWasMalformed) {
  // One span (its id and start time present), no attribute keys, empty resource and scope
  // tables; the resource-and-scope stream is empty although the span needs its indexes.
  auto decoded = DecodeSpanBlock(StoredSectionsBlock(std::string("\x01\x00\x00\x00", 4),
                                                     {{3, std::string(8, '\x07')}, {11, "\x01"}}));
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decoded.status().message(),
            "span block: malformed varint at offset 0 of the resource and scope stream");
}

// What a projected decode must give: the whole decode with every field outside `fields` reset.
StoredSpan Projected(StoredSpan s, const SpanFields& fields) {
  auto wants = [&fields](uint32_t group) { return (fields.groups & group) != 0; };
  model::Span& span = s.span;
  if (!wants(SpanFields::kIds)) span.trace_id = {}, span.span_id = {}, span.parent_span_id = {};
  if (!wants(SpanFields::kResourceAndScope)) s.resource = nullptr, s.scope = nullptr;
  if (!wants(SpanFields::kName)) span.name.clear();
  if (!wants(SpanFields::kKind)) span.kind = model::SpanKind::kUnspecified;
  if (!wants(SpanFields::kStatusCode)) span.status.code = model::StatusCode::kUnset;
  if (!wants(SpanFields::kStatusMessage)) span.status.message.clear();
  if (!wants(SpanFields::kEventsAndLinks)) {
    span.events.clear();
    span.links.clear();
    span.dropped_attributes_count = span.dropped_events_count = span.dropped_links_count = 0;
  }
  if (!wants(SpanFields::kOther)) {
    span.trace_state.clear();
    span.flags = 0;
    s.ingestion_time_unix_nano = 0;
  }
  if (!wants(SpanFields::kAllAttributes)) {
    std::erase_if(span.attributes, [&fields](const KeyValue& kv) {
      return std::find(fields.span_attributes.begin(), fields.span_attributes.end(), kv.key) ==
             fields.span_attributes.end();
    });
  }
  return s;
}

TEST(SpanBlockCodecTest, AProjectionDecodesExactlyItsFields) {
  auto block = EncodeSpanBlock(RichSpans());
  ASSERT_TRUE(block.ok()) << block.status();
  auto whole = DecodeSpanBlock(*block);
  ASSERT_TRUE(whole.ok()) << whole.status();
  const std::vector<std::vector<std::string>> attribute_lists = {
      {}, {"str"}, {"kvlist", "int.min", "not.there"}};
  for (uint32_t groups = 0; groups < 512; ++groups) {
    for (const auto& attributes : attribute_lists) {
      SpanFields fields{groups, attributes};
      SCOPED_TRACE(testing::Message() << "groups " << groups << ", " << attributes.size()
                                      << " attribute keys");
      auto got = DecodeSpanBlock(*block, fields);
      ASSERT_TRUE(got.ok()) << got.status();
      ASSERT_EQ(got->size(), whole->size());
      for (size_t i = 0; i < got->size(); ++i) {
        StoredSpan want = Projected((*whole)[i], fields);
        const StoredSpan& have = (*got)[i];
        EXPECT_EQ(have.span, want.span);
        EXPECT_EQ(have.ingestion_time_unix_nano, want.ingestion_time_unix_nano);
        ASSERT_EQ(have.resource == nullptr, want.resource == nullptr);
        ASSERT_EQ(have.scope == nullptr, want.scope == nullptr);
        if (have.resource != nullptr) {
          EXPECT_EQ(*have.resource, *want.resource);
        }
        if (have.scope != nullptr) {
          EXPECT_EQ(*have.scope, *want.scope);
        }
      }
    }
  }
}

// RichSpans() as a block of every format: encoded now (format 3), and the fixtures written while
// an older format was current when TELETRACE_SOURCE_DIR, where they live, is set.
std::vector<std::pair<uint8_t, std::string>> RichBlocks() {
  std::vector<std::pair<uint8_t, std::string>> blocks;
  for (uint8_t format : {kSpanBlockFormatV1, kSpanBlockFormatV2}) {
    std::optional<std::string> block =
        golden::ReadFixture("blocks/rich_v" + std::to_string(format) + ".block");
    if (block) blocks.emplace_back(format, *std::move(block));
  }
  auto encoded = EncodeSpanBlock(RichSpans());
  EXPECT_TRUE(encoded.ok()) << encoded.status();
  if (encoded.ok()) blocks.emplace_back(kSpanBlockFormatV3, *encoded);
  return blocks;
}

// MayHoldStringAttribute against the matcher, on every format: it may say "no" only when no span
// of the block equals one of the strings, and it says "no" for the columnar formats whenever the
// key has only scalar values and none of them is one of the strings.
TEST(SpanBlockCodecTest, StringTablesRuleOutEqualities) {
  const std::vector<std::string> keys = {"str", "empty.str", "utf8", "int.zero", "bytes",
                                         "array", "kvlist", "absent", "double"};
  const std::vector<std::string> values = {"hello", "", "a", "nope", "v", "3.25", "0"};
  std::vector<StoredSpan> spans = RichSpans();
  for (const auto& [format, block] : RichBlocks()) {
    SCOPED_TRACE(format);
    for (const std::string& key : keys) {
      for (const std::string& value : values) {
        SCOPED_TRACE(key + " = " + value);
        absl::StatusOr<bool> may = MayHoldStringAttribute(block, key, {value});
        ASSERT_TRUE(may.ok()) << may.status();
        query::SpanMatcher matcher({query::testing::F("span.attributes." + key,
                                                      query::Operator::kEquals,
                                                      query::Scalar(value))});
        bool any = false;
        for (const StoredSpan& span : spans) any = any || matcher.Matches(span);
        // Arrays and maps are not ruled out; format 1 is not columnar.
        const bool decided = format != kSpanBlockFormatV1 && key != "array" && key != "kvlist";
        EXPECT_EQ(*may, any || !decided);
      }
    }
    EXPECT_EQ(*MayHoldStringAttribute(block, "str", {"nope", "hello"}), true);
    EXPECT_EQ(*MayHoldStringAttribute(block, "str", {"nope", "hello!"}),
              format == kSpanBlockFormatV1);
  }
  // A key whose values are all distinct: only its own values may match.
  std::vector<StoredSpan> many(500);
  for (size_t i = 0; i < many.size(); ++i) {
    many[i].span.attributes = {{"user.id", AnyValue("u-" + std::to_string(2 * i))}};
  }
  auto block = EncodeSpanBlock(many);
  ASSERT_TRUE(block.ok()) << block.status();
  for (size_t i = 0; i < 1000; ++i) {
    EXPECT_EQ(*MayHoldStringAttribute(*block, "user.id", {"u-" + std::to_string(i)}), i % 2 == 0)
        << i;
  }
  // A damaged section is an error; so is the whole decode.
  std::string damaged = *block;
  damaged.resize(damaged.size() - 3);
  EXPECT_EQ(MayHoldStringAttribute(damaged, "user.id", {"u-1"}).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeSpanBlock(damaged).status().code(), absl::StatusCode::kDataLoss);
}

// What CountSpanAttributeValues hands over for `key` on the spans of `block` starting in `starts`.
struct AttributeCounts {
  std::map<std::string, uint64_t> strings;
  std::vector<AnyValue> others;
};
absl::StatusOr<std::optional<AttributeCounts>> CountedFromColumn(
    std::string_view block, std::string_view key, const std::optional<StartRange>& starts,
    const std::vector<uint32_t>* positions = nullptr) {
  AttributeCounts counts;
  absl::StatusOr<bool> counted = CountSpanAttributeValues(
      block, key, starts,
      [&](const std::vector<std::pair<std::string_view, uint64_t>>& strings) {
        EXPECT_FALSE(strings.empty());
        for (const auto& [value, spans] : strings) {
          EXPECT_TRUE(counts.strings.emplace(std::string(value), spans).second)
              << "twice: " << value;
          EXPECT_GT(spans, 0u);
        }
      },
      [&](const AnyValue& value) { counts.others.push_back(value); }, positions);
  if (!counted.ok()) return counted.status();
  if (!*counted) return std::nullopt;
  return counts;
}

// The same from decoded spans: each span's last occurrence of the key (FindAttribute's).
AttributeCounts CountedFromSpans(const std::vector<StoredSpan>& spans, std::string_view key,
                                 const std::optional<StartRange>& starts,
                                 const std::vector<uint32_t>* positions = nullptr) {
  AttributeCounts counts;
  for (uint32_t i = 0; i < spans.size(); ++i) {
    const StoredSpan& s = spans[i];
    const uint64_t start = s.span.start_time_unix_nano;
    if (starts && (start < starts->first || start > starts->second)) continue;
    if (positions != nullptr &&
        std::find(positions->begin(), positions->end(), i) == positions->end()) {
      continue;
    }
    const AnyValue* v = model::FindAttribute(s.span.attributes, key);
    if (v == nullptr) continue;
    if (const auto* str = std::get_if<std::string>(&v->value)) {
      ++counts.strings[*str];
    } else {
      counts.others.push_back(*v);
    }
  }
  return counts;
}

void ExpectSameCounts(const AttributeCounts& want, const AttributeCounts& got) {
  EXPECT_EQ(got.strings, want.strings);
  ASSERT_EQ(got.others.size(), want.others.size());
  for (size_t i = 0; i < want.others.size(); ++i) {
    const auto* a = std::get_if<double>(&want.others[i].value);
    const auto* b = std::get_if<double>(&got.others[i].value);
    if (a != nullptr && b != nullptr) {
      EXPECT_EQ(std::bit_cast<uint64_t>(*a), std::bit_cast<uint64_t>(*b)) << i;  // -0.0, NaN
    } else {
      EXPECT_TRUE(want.others[i] == got.others[i]) << i;
    }
  }
}

// Tag values' fast path against a decode of the same block: every value type, keys repeated in a
// span (the last occurrence counts), spans without the key, and start-time ranges whose edges fall
// inside the block.
TEST(SpanBlockCodecTest, AttributeValuesCountAsTheirDecodeHasThem) {
  const std::vector<AnyValue> pool = {
      AnyValue("a"), AnyValue("b"), AnyValue(""), AnyValue("a longer string value, past SSO"),
      AnyValue(int64_t{7}), AnyValue(int64_t{-7}), AnyValue(0.0), AnyValue(-0.0),
      AnyValue(std::nan("")), AnyValue(2.5), AnyValue(true), AnyValue(false), AnyValue(),
      AnyValue(Bytes{"\x01"}), AnyValue(ArrayValue{AnyValue("a")}),
      AnyValue(KeyValueList{{"k", AnyValue("b")}})};
  std::vector<StoredSpan> spans(600);
  uint64_t seed = 12345;
  auto next = [&seed](uint64_t n) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (seed >> 33) % n;
  };
  for (size_t i = 0; i < spans.size(); ++i) {
    model::Span& span = spans[i].span;
    span.span_id = MakeSpanId(static_cast<uint8_t>(i));
    span.start_time_unix_nano = 1000 + 10 * i;
    for (size_t a = next(4); a > 0; --a) {
      span.attributes.push_back({next(3) == 0 ? "other" : "k", pool[next(pool.size())]});
    }
    // Spans on the ranges' edges below (starts 1000 and 4000) carry the key.
    if (i % 100 == 0) span.attributes.push_back({"k", AnyValue("edge")});
  }
  absl::StatusOr<std::string> v3 = EncodeSpanBlock(spans);
  ASSERT_TRUE(v3.ok()) << v3.status();
  std::vector<std::pair<uint8_t, std::string>> blocks = RichBlocks();
  blocks.emplace_back(kSpanBlockFormatV3, *v3);
  std::vector<std::string> keys = {"k", "other", "absent"};
  for (const KeyValue& kv : EveryValueType()) keys.push_back(kv.key);
  const std::vector<std::optional<StartRange>> ranges = {
      std::nullopt, StartRange{0, UINT64_MAX}, StartRange{2005, 4000}, StartRange{1000, 1000},
      StartRange{7000, 9000}, StartRange{1700000000123456789ULL, UINT64_MAX}};
  size_t compared = 0;
  for (const auto& [format, block] : blocks) {
    absl::StatusOr<std::vector<StoredSpan>> decoded = DecodeSpanBlock(block);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    for (const std::string& key : keys) {
      for (const std::optional<StartRange>& range : ranges) {
        SCOPED_TRACE(fmt::format("format {}, key {}, range {}", format, key,
                                 range ? fmt::format("{}-{}", range->first, range->second)
                                       : std::string("-")));
        absl::StatusOr<std::optional<AttributeCounts>> got = CountedFromColumn(block, key, range);
        ASSERT_TRUE(got.ok()) << got.status();
        if (format == kSpanBlockFormatV1) {  // not columnar: the caller decodes it
          EXPECT_FALSE(got->has_value());
          continue;
        }
        ASSERT_TRUE(got->has_value());
        ExpectSameCounts(CountedFromSpans(*decoded, key, range), **got);
        // Only the spans at some positions (every third, and the last), as a filter keeps them.
        std::vector<uint32_t> positions;
        for (uint32_t i = 1; i < decoded->size(); i += 3) positions.push_back(i);
        if (!decoded->empty()) positions.push_back(static_cast<uint32_t>(decoded->size() - 1));
        positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
        got = CountedFromColumn(block, key, range, &positions);
        ASSERT_TRUE(got.ok()) << got.status();
        ASSERT_TRUE(got->has_value());
        ExpectSameCounts(CountedFromSpans(*decoded, key, range, &positions), **got);
        ++compared;
      }
    }
  }
  const auto columnar = std::count_if(blocks.begin(), blocks.end(), [](const auto& b) {
    return b.first != kSpanBlockFormatV1;
  });
  EXPECT_EQ(compared, static_cast<size_t>(columnar) * keys.size() * ranges.size());
  // The random block's key "k" in full, pinned: a comparison of two empty answers proves nothing.
  AttributeCounts all = CountedFromSpans(spans, "k", std::nullopt);
  EXPECT_EQ(all.strings.size(), 5u);
  EXPECT_GT(all.others.size(), 200u);
  // And a third of it at every third position: the positions select.
  std::vector<uint32_t> thirds;
  for (uint32_t i = 0; i < spans.size(); i += 3) thirds.push_back(i);
  AttributeCounts some = CountedFromSpans(spans, "k", std::nullopt, &thirds);
  absl::StatusOr<std::optional<AttributeCounts>> some_got =
      CountedFromColumn(*v3, "k", std::nullopt, &thirds);
  ASSERT_TRUE(some_got.ok() && some_got->has_value());
  ExpectSameCounts(some, **some_got);
  EXPECT_GT(some.others.size(), 50u);
  EXPECT_LT(some.others.size(), all.others.size() / 2);

  // A damaged block is an error, not a partial count.
  std::string damaged = *v3;
  damaged.resize(damaged.size() - 3);
  EXPECT_EQ(CountedFromColumn(damaged, "k", std::nullopt).status().code(),
            absl::StatusCode::kDataLoss);
}

// Lists of keys repeated span after span take the remembered shapes' path: more shapes than are
// remembered, a key twice in one list (the last counts), and key indexes past 127 (two-byte
// varints, never remembered) count as their decode has them.
TEST(SpanBlockCodecTest, RepeatedKeyListsCountAsTheirDecode) {
  std::vector<StoredSpan> spans(400);
  for (size_t i = 0; i < spans.size(); ++i) {
    model::Span& span = spans[i].span;
    span.span_id = MakeSpanId(static_cast<uint8_t>(i));
    span.start_time_unix_nano = 1000 + i;
    const std::string value = "v" + std::to_string(i % 7);
    if (i == 0) {  // 200 keys, so "wide.150" has index 150
      for (int k = 0; k < 200; ++k) span.attributes.push_back({fmt::format("wide.{}", k), 1});
    }
    switch (i % 6) {
      case 0: span.attributes.push_back({"k", AnyValue(value)}); break;
      case 1: span.attributes = {{"wide.3", 1}, {"k", AnyValue(value)}}; break;
      case 2: span.attributes = {{"k", AnyValue("first")}, {"k", AnyValue(value)}}; break;
      case 3: span.attributes = {{"wide.150", 1}, {"k", AnyValue(value)}}; break;
      case 4: span.attributes = {{"wide.4", 1}, {"wide.5", 1}}; break;
      default: span.attributes = {{"wide.6", 1}, {"k", AnyValue(int64_t{5})}, {"wide.7", 1}};
    }
  }
  absl::StatusOr<std::string> block = EncodeSpanBlock(spans);
  ASSERT_TRUE(block.ok()) << block.status();
  absl::StatusOr<std::optional<AttributeCounts>> got = CountedFromColumn(*block, "k", std::nullopt);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  const AttributeCounts want = CountedFromSpans(spans, "k", std::nullopt);
  ExpectSameCounts(want, **got);
  // Every span but the fifth of each six has the key: strings v0-v6, and 66 fives.
  EXPECT_EQ(want.strings.size(), 7u);
  EXPECT_EQ(want.others.size(), 66u);
  uint64_t strings = 0;
  for (const auto& [value, n] : want.strings) strings += n;
  EXPECT_EQ(strings, 400u - 66 - 66);
}

// Format 3 tags a string's first occurrence in its key's table; format 2 gave it the next index.
// Both decode, and the tag means nothing in a format 2 block.
TEST(SpanBlockCodecTest, NewStringTagsAreFormat3s) {
  model::StoredSpan span;
  span.span.attributes = {{"user.id", AnyValue("u-1")}};
  std::vector<StoredSpan> spans = {span, span, span};
  spans[1].span.attributes[0].value = AnyValue("u-2");
  auto v3 = EncodeSpanBlock(spans, SpanBlockOptions{.compress = false});
  ASSERT_TRUE(v3.ok()) << v3.status();
  ASSERT_EQ(static_cast<uint8_t>((*v3)[0]), kSpanBlockFormatV3);
  // The last section is the key's strings, the one before it its values: two new strings, then
  // a reference to the first.
  EXPECT_NE(v3->find(std::string("\x0a\x0a\x09\x00", 4)), std::string::npos);
  auto decoded = DecodeSpanBlock(*v3);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameSpans(spans, *decoded);
  std::string v2 = *v3;
  v2[0] = static_cast<char>(kSpanBlockFormatV2);
  EXPECT_EQ(DecodeSpanBlock(v2).status().code(), absl::StatusCode::kDataLoss);
  // Nor does the string-table check take it as a new string there: it leaves the block to the
  // decode, which reports the damage.
  EXPECT_FALSE(*MayHoldStringAttribute(*v3, "user.id", {"u-3"}));
  EXPECT_TRUE(*MayHoldStringAttribute(v2, "user.id", {"u-3"}));
}

// Times alone, without spans, from every format: the same times the whole decode gives, and the
// same refusals of damaged time streams.
TEST(SpanBlockCodecTest, TimesDecodeAloneFromEveryFormat) {
  std::vector<StoredSpan> spans = RichSpans();
  for (const auto& [format, block] : RichBlocks()) {
    SCOPED_TRACE(format);
    for (bool status_codes : {false, true}) {
      auto times = DecodeSpanTimes(block, status_codes);
      ASSERT_TRUE(times.ok()) << times.status();
      ASSERT_EQ(times->size(), spans.size());
      for (size_t i = 0; i < spans.size(); ++i) {
        EXPECT_EQ((*times)[i].start_unix_nano, spans[i].span.start_time_unix_nano) << i;
        EXPECT_EQ((*times)[i].end_unix_nano, spans[i].span.end_time_unix_nano) << i;
        EXPECT_EQ((*times)[i].status_code,
                  status_codes ? static_cast<uint8_t>(spans[i].span.status.code) : 0)
            << i;
      }
    }
  }
  // Start times missing for the one span, then a duration stream with a byte too many.
  std::string no_start = StoredSectionsBlock(std::string("\x01\x00\x00\x00", 4),
                                             {{3, std::string(8, '\x07')}, {12, "\x03"}});
  EXPECT_EQ(DecodeSpanTimes(no_start).status().message(),
            "span block: span count 1 exceeds the 0 bytes of start times");
  std::string extra = StoredSectionsBlock(std::string("\x01\x00\x00\x00", 4),
                                          {{11, "\x05"}, {12, "\x03\x03"}});
  EXPECT_EQ(DecodeSpanTimes(extra).status().message(),
            "span block: unread bytes in the start time or duration stream");
  EXPECT_EQ(DecodeSpanTimes("").status().code(), absl::StatusCode::kDataLoss);
  // Status codes asked for but missing.
  std::string no_code = StoredSectionsBlock(std::string("\x01\x00\x00\x00", 4),
                                            {{11, "\x05"}, {12, "\x03"}});
  ASSERT_TRUE(DecodeSpanTimes(no_code).ok());
  EXPECT_EQ(DecodeSpanTimes(no_code, true).status().message(),
            "span block: malformed byte at offset 0 of the status code stream");
}

// A block's resource, scope, name, kind and status code columns, as table indexes, from every
// columnar format: for every projection of those fields, with or without a range, and with no
// times, start times or both, each row holds what the projected decode holds for the span it
// stands for.
TEST(SpanBlockCodecTest, RefsDecodeAsTheirProjection) {
  std::vector<StoredSpan> spans = RichSpans();
  const uint32_t refs[] = {SpanFields::kResourceAndScope, SpanFields::kName, SpanFields::kKind,
                           SpanFields::kStatusCode};
  for (const auto& [format, block] : RichBlocks()) {
    SCOPED_TRACE(format);
    for (uint32_t subset = 0; subset < 16; ++subset) {
      SpanFields fields{0, {}};
      for (int i = 0; i < 4; ++i) {
        if ((subset >> i) & 1) fields.groups |= refs[i];
      }
      const std::optional<StartRange> inner = StartRange{1, UINT64_MAX - 1};
      for (const std::optional<StartRange>& starts : {std::optional<StartRange>(), inner}) {
        for (RowTimes times : {RowTimes::kNone, RowTimes::kStarts, RowTimes::kStartsAndEnds}) {
          SCOPED_TRACE(testing::Message() << "groups " << fields.groups << ", range "
                                          << starts.has_value() << ", times "
                                          << static_cast<int>(times));
          auto got = DecodeSpanRefs(block, fields, starts, times);
          ASSERT_TRUE(got.ok()) << got.status();
          if (format == kSpanBlockFormatV1) {
            EXPECT_FALSE(got->has_value());
            continue;
          }
          ASSERT_TRUE(got->has_value());
          const SpanRefs& r = **got;
          auto want = DecodeSpanBlock(block, fields);
          ASSERT_TRUE(want.ok()) << want.status();
          std::vector<uint32_t> positions;
          for (uint32_t i = 0; i < want->size(); ++i) {
            const uint64_t start = (*want)[i].span.start_time_unix_nano;
            if (!starts || (start >= starts->first && start <= starts->second)) {
              positions.push_back(i);
            }
          }
          std::erase_if(*want, [&](const StoredSpan& s) {
            const uint64_t start = s.span.start_time_unix_nano;
            return starts && (start < starts->first || start > starts->second);
          });
          ASSERT_EQ(r.rows.size(), want->size());
          // The inner range leaves out the spans starting at 0 and at UINT64_MAX.
          ASSERT_EQ(r.rows.size(), starts ? 1 : spans.size());
          for (size_t i = 0; i < want->size(); ++i) {
            const SpanRefs::Row& row = r.rows[i];
            const StoredSpan& s = (*want)[i];
            EXPECT_EQ(row.position, positions[i]);
            // Without times, start times are read to apply the range, and when no stream read
            // bounds the span count (no field projected).
            const bool started = times != RowTimes::kNone || starts || fields.groups == 0;
            EXPECT_EQ(row.start_unix_nano, started ? s.span.start_time_unix_nano : 0);
            EXPECT_EQ(row.end_unix_nano,
                      times == RowTimes::kStartsAndEnds ? s.span.end_time_unix_nano : 0);
            ASSERT_LT(row.resource, r.resources.size());
            ASSERT_LT(row.scope, r.scopes.size());
            ASSERT_LT(row.name, r.names.size());
            ASSERT_EQ(r.resources[row.resource] == nullptr, s.resource == nullptr);
            if (s.resource != nullptr) {
              EXPECT_EQ(*r.resources[row.resource], *s.resource);
              EXPECT_EQ(*r.scopes[row.scope], *s.scope);
            }
            EXPECT_EQ(r.names[row.name], s.span.name);
            EXPECT_EQ(row.kind, static_cast<uint8_t>(s.span.kind));
            EXPECT_EQ(row.status_code, static_cast<uint8_t>(s.span.status.code));
          }
        }
      }
    }
    // Other fields are not SpanRefs'.
    for (SpanFields other : {SpanFields{SpanFields::kIds, {}}, SpanFields{0, {"str"}},
                             SpanFields::All()}) {
      auto got = DecodeSpanRefs(block, other, std::nullopt);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_FALSE(got->has_value());
    }
  }
  // A name reference past the table, and a resource past it.
  std::string bad_name = StoredSectionsBlock(std::string("\x01\x00\x00\x00", 4),
                                             {{8, "\x01"}, {11, "\x05"}, {12, "\x03"}});
  EXPECT_EQ(DecodeSpanRefs(bad_name, SpanFields{SpanFields::kName, {}}, std::nullopt)
                .status()
                .message(),
            "span block: span name 1 out of range");
  // A span count past the bytes of the stream that bounds it: the start times, or without times
  // the first stream read.
  std::string two_spans = StoredSectionsBlock(
      std::string("\x02\x00\x00\x00", 4),
      {{8, std::string("\x00", 1)}, {10, "\x01"}, {11, "\x05"}});
  EXPECT_EQ(DecodeSpanRefs(two_spans, SpanFields{SpanFields::kName, {}}, std::nullopt)
                .status()
                .message(),
            "span block: span count 2 exceeds the 1 bytes of start times");
  EXPECT_EQ(std::string(DecodeSpanRefs(two_spans,
                                       SpanFields{SpanFields::kName | SpanFields::kKind, {}},
                                       std::nullopt, RowTimes::kNone)
                            .status()
                            .message()),
            "span block: span count 2 exceeds the 1 bytes of the name reference stream");
  std::string bad_resource = StoredSectionsBlock(std::string("\x01\x00\x00\x00", 4),
                                                 {{0, std::string("\x00\x00", 2)}, {11, "\x05"}});
  EXPECT_EQ(DecodeSpanRefs(bad_resource, SpanFields{SpanFields::kResourceAndScope, {}},
                           std::nullopt)
                .status()
                .message(),
            "span block: resource 0 out of range");
}

// Every subset of a block's rows decodes to exactly the whole decode's spans at those rows, from
// every format: a span built after others that were only read (and had more attributes, events or
// a parent) carries nothing of theirs.
TEST(SpanBlockCodecTest, RowsDecodeExactlyTheirSpans) {
  std::vector<StoredSpan> spans = RichSpans();
  for (const auto& [format, block] : RichBlocks()) {
    SCOPED_TRACE(format);
    for (uint32_t subset = 0; subset < (1u << spans.size()); ++subset) {
      std::vector<uint32_t> rows;
      std::vector<StoredSpan> want;
      for (uint32_t i = 0; i < spans.size(); ++i) {
        if ((subset & (1u << i)) == 0) continue;
        rows.push_back(i);
        want.push_back(spans[i]);
      }
      SCOPED_TRACE(subset);
      auto got = DecodeSpanRows(block, rows);
      ASSERT_TRUE(got.ok()) << got.status();
      ExpectSameSpans(want, *got);
    }
    EXPECT_EQ(DecodeSpanRows(block, {1, 1}).status().message(),
              "span block: rows not strictly ascending");
    EXPECT_EQ(DecodeSpanRows(block, {2, 1}).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(DecodeSpanRows(block, {0, 4}).status().message(),
              "span block: row 4 of a block of 4 spans");
  }
  EXPECT_EQ(DecodeSpanRows("", {}).status().code(), absl::StatusCode::kDataLoss);

  // Parents named by position, before and after the row, read without building their spans.
  std::vector<StoredSpan> family(4);
  for (uint8_t i = 0; i < 4; ++i) {
    family[i].span.trace_id = MakeTraceId(1);
    family[i].span.span_id = MakeSpanId(10 + i);
  }
  family[1].span.parent_span_id = MakeSpanId(10);
  family[2].span.parent_span_id = MakeSpanId(13);
  auto block = EncodeSpanBlock(family);
  ASSERT_TRUE(block.ok()) << block.status();
  auto got = DecodeSpanRows(*block, {1, 2});
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameSpans({family[1], family[2]}, *got);
}

TEST(SpanBlockCodecTest, AProjectionDoesNotReadOtherSections) {
  // One span with its id, start time 5 and duration 3, but an empty resource-and-scope stream:
  // the whole decode refuses the block, a decode of times alone never opens that stream.
  std::string block = StoredSectionsBlock(std::string("\x01\x00\x00\x00", 4),
                                          {{3, std::string(8, '\x07')}, {11, "\x05"},
                                           {12, "\x03"}});
  EXPECT_EQ(DecodeSpanBlock(block).status().code(), absl::StatusCode::kDataLoss);
  SpanFields times{0, {}};
  auto got = DecodeSpanBlock(block, times);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].span.start_time_unix_nano, 5u);
  EXPECT_EQ((*got)[0].span.end_time_unix_nano, 8u);
  EXPECT_EQ((*got)[0].span.span_id, SpanId{});
  auto alone = DecodeSpanTimes(block);
  ASSERT_TRUE(alone.ok()) << alone.status();
  ASSERT_EQ(alone->size(), 1u);
  EXPECT_EQ((*alone)[0].start_unix_nano, 5u);
  EXPECT_EQ((*alone)[0].end_unix_nano, 8u);
  // Asking for the ids does read them.
  SpanFields ids{SpanFields::kIds, {}};
  EXPECT_EQ(DecodeSpanBlock(block, ids).status().code(), absl::StatusCode::kDataLoss);
}

TEST(SpanBlockCodecTest, RejectsASpanCountThatDisagreesWithTheSpanIds) {
  auto decoded = DecodeSpanBlock(StoredSectionsBlock(std::string("\x02\x00\x00\x00", 4),
                                                     {{3, std::string(8, '\x07')}}));
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decoded.status().message(),
            "span block: span count 2 does not match 8 bytes of span ids");
}

TEST(SpanBlockCodecTest, RejectsAnUnknownSectionStorage) {
  std::string block = StoredSectionsBlock(std::string("\x00\x00\x00\x00", 4), {});
  block[1] = 7;
  auto decoded = DecodeSpanBlock(block);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decoded.status().message(), "span block: unknown section storage 7");
}

// Repeated string values are stored once per key and block, and every span reads its own back.
TEST(SpanBlockCodecTest, StringValuesShareAPerKeyTable) {
  std::vector<StoredSpan> spans(300);
  for (size_t i = 0; i < spans.size(); ++i) {
    spans[i].span.span_id = MakeSpanId(static_cast<uint8_t>(i));
    spans[i].span.span_id[7] = static_cast<uint8_t>(i >> 8);
    spans[i].span.attributes = {{"http.method", AnyValue(i % 3 ? "GET" : "POST")},
                                {"user.id", AnyValue("user-" + std::to_string(i))},
                                {"other", AnyValue(i % 3 ? "POST" : "GET")},
                                {"n", AnyValue(int64_t{7})}};
  }
  auto block = EncodeSpanBlock(spans);
  ASSERT_TRUE(block.ok()) << block.status();
  auto decoded = DecodeSpanBlock(*block);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameSpans(spans, *decoded);
}

}  // namespace
}  // namespace teletrace::storage
