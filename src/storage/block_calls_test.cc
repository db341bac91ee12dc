#include "storage/block_calls.h"

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/golden_test_util.h"
#include "gtest/gtest.h"
#include "query/engine.h"
#include "query/test_spans.h"

namespace teletrace::storage {
namespace {

using query::testing::MakeSpan;
using query::testing::SetResource;

model::StoredSpan Call(uint8_t trace, uint8_t span, uint8_t parent, uint64_t start,
                       const std::string& service, bool error = false) {
  model::StoredSpan s = MakeSpan(trace, span, start);
  if (parent != 0) s.span.parent_span_id = query::testing::Sid(parent);
  SetResource(s, {{"service.name", service}});
  if (error) s.span.status.code = model::StatusCode::kError;
  return s;
}

std::vector<const model::StoredSpan*> Pointers(const std::vector<model::StoredSpan>& spans) {
  std::vector<const model::StoredSpan*> out;
  for (const model::StoredSpan& s : spans) out.push_back(&s);
  return out;
}

query::DependenciesResult Edges(query::DependencyCounter counter) {
  return std::move(counter).Finish("", false);
}

TEST(BlockCallsTest, CountsTheCallsWhoseParentsWereWrittenWithThem) {
  const std::vector<model::StoredSpan> spans = {
      Call(1, 1, 0, 10, "a"),        Call(1, 2, 1, 20, "b"),
      Call(1, 3, 1, 30, "b", true),  Call(1, 4, 2, 40, "c"),
      Call(2, 5, 9, 50, "c", true),  // its parent was not written with it
  };
  const std::vector<const model::StoredSpan*> pointers = Pointers(spans);
  const WrittenSpans written(pointers);
  std::optional<StoredCalls> first = CallsOfBlock(written, 0, 2);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, (StoredCalls{{"b", "a"}, {{1, 0, 1, 0}}, std::nullopt, {}}));
  std::optional<StoredCalls> second = CallsOfBlock(written, 2, 5);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(*second, (StoredCalls{{"b", "a", "c"},
                                  {{1, 0, 1, 1}, {0, 2, 1, 0}},
                                  std::pair<uint64_t, uint64_t>{10, 20},
                                  {{query::testing::Tid(2), query::testing::Sid(9), 2, true}}}));
  BlockCalls added;
  second->AddTo(added);
  EXPECT_EQ(Edges(std::move(added.counter)).edges,
            (std::vector<query::DependencyEdge>{{"a", "b", 1, 1}, {"b", "c", 1, 0}}));
  EXPECT_EQ(added.open, (std::vector<OpenCall>{
                            {{query::testing::Tid(2), query::testing::Sid(9)}, "c", true}}));
}

// Random writes cut into random blocks: each block's stored calls, with their open calls joined
// against everything stored, count what decoding the block and joining its open calls does.
TEST(BlockCallsTest, StoredCallsCountWhatTheDecodedBlocksDo) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<model::StoredSpan> spans;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 1; i <= n; ++i) {
      const auto trace = static_cast<uint8_t>(1 + rng() % 3);
      // A parent among the spans so far or later (any trace: a wrong trace never joins), or
      // absent (0), or never written (200+).
      const uint32_t pick = rng() % 10;
      const auto parent = static_cast<uint8_t>(pick < 2 ? 0 : pick < 3 ? 200 + rng() % 5
                                                                       : 1 + rng() % n);
      spans.push_back(Call(trace, static_cast<uint8_t>(i), parent, 100 + rng() % 50,
                           std::string(1, static_cast<char>('a' + rng() % 4)), rng() % 3 == 0));
    }
    const std::vector<const model::StoredSpan*> pointers = Pointers(spans);
    const WrittenSpans written(pointers);
    const query::TimeRange all{0, UINT64_MAX};
    // What the join of an open call finds: its parent among every stored span.
    auto join = [&](const std::vector<OpenCall>& open, query::DependencyCounter& counter) {
      for (const OpenCall& call : open) {
        if (std::optional<size_t> p = written.Find(call.parent.first, call.parent.second)) {
          counter.Add(model::ServiceName(spans[*p]), call.child_service, 1, call.error ? 1 : 0);
        }
      }
    };
    query::DependencyCounter decoded, stored;
    size_t first = 0;
    while (first < spans.size()) {
      const size_t last = std::min(spans.size(), first + 1 + rng() % 10);
      std::vector<model::StoredSpan> block(spans.begin() + static_cast<ptrdiff_t>(first),
                                           spans.begin() + static_cast<ptrdiff_t>(last));
      BlockCalls from_spans = CallsInBlock(block, all);
      decoded.Merge(from_spans.counter);
      join(from_spans.open, decoded);
      std::optional<StoredCalls> calls = CallsOfBlock(written, first, last);
      ASSERT_TRUE(calls.has_value());
      absl::StatusOr<StoredCalls> read = ParseBlockCalls(EncodeBlockCalls(*calls));
      ASSERT_TRUE(read.ok()) << read.status();
      EXPECT_EQ(*read, *calls);
      BlockCalls from_stored;
      read->AddTo(from_stored);
      stored.Merge(from_stored.counter);
      join(from_stored.open, stored);
      // Open calls stored are those whose parent was not written at all.
      for (const OpenCall& call : from_stored.open) {
        EXPECT_FALSE(written.Find(call.parent.first, call.parent.second).has_value());
      }
      first = last;
    }
    ASSERT_EQ(Edges(std::move(stored)), Edges(std::move(decoded))) << "round " << round;
  }
}

TEST(BlockCallsTest, KeepsNoneWithTooManyOpenCalls) {
  std::vector<model::StoredSpan> spans;
  for (size_t i = 0; i <= kMaxOpenCalls; ++i) {
    spans.push_back(Call(1, static_cast<uint8_t>(i + 1), 255, i, "a"));
  }
  const std::vector<const model::StoredSpan*> pointers = Pointers(spans);
  const WrittenSpans written(pointers);
  std::optional<StoredCalls> at_limit = CallsOfBlock(written, 0, kMaxOpenCalls);
  ASSERT_TRUE(at_limit.has_value());
  EXPECT_EQ(at_limit->open.size(), kMaxOpenCalls);
  EXPECT_FALSE(CallsOfBlock(written, 0, kMaxOpenCalls + 1).has_value());
}

TEST(BlockCallsTest, EveryTruncationIsDataLoss) {
  const StoredCalls calls{{"frontend", "cart"},
                          {{0, 1, 300, 12}, {1, 1, 1, 0}},
                          std::pair<uint64_t, uint64_t>{1700000000000000000, 1700000000500000000},
                          {{query::testing::Tid(4), query::testing::Sid(5), 1, false}}};
  const std::string bytes = EncodeBlockCalls(calls);
  absl::StatusOr<StoredCalls> read = ParseBlockCalls(bytes);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, calls);
  for (size_t n = 0; n < bytes.size(); ++n) {
    absl::StatusOr<StoredCalls> cut = ParseBlockCalls(bytes.substr(0, n));
    EXPECT_EQ(cut.status().code(), absl::StatusCode::kDataLoss) << n;
  }
}

// tests/fixtures/blocks/block_calls_v1.bin: the calls of EveryTruncationIsDataLoss, pinned so that
// calls written by released versions stay readable. It is also the fuzzer's seed.
TEST(BlockCallsTest, FixtureStillReads) {
  const std::optional<std::string> bytes = golden::ReadFixture("blocks/block_calls_v1.bin");
  if (!bytes) GTEST_SKIP() << "TELETRACE_SOURCE_DIR not set";
  absl::StatusOr<StoredCalls> read = ParseBlockCalls(*bytes);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, (StoredCalls{{"frontend", "cart"},
                                {{0, 1, 300, 12}, {1, 1, 1, 0}},
                                std::pair<uint64_t, uint64_t>{1700000000000000000,
                                                              1700000000500000000},
                                {{query::testing::Tid(4), query::testing::Sid(5), 1, false}}}));
}

TEST(BlockCallsTest, NamesEachMalformation) {
  auto error = [](std::string bytes) {
    absl::StatusOr<StoredCalls> read = ParseBlockCalls(bytes);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
    return std::string(read.status().message());
  };
  using namespace std::string_literals;
  // One service "a"; no edges; no outside parents; no open calls.
  EXPECT_TRUE(ParseBlockCalls("\x01\x01\x01" "a" "\x00\x00\x00"s).ok());
  EXPECT_EQ(error("\x02\x01\x01" "a" "\x00\x00\x00"s), "block calls: unknown version 2");
  EXPECT_EQ(error("\x01\x01\x01" "a" "\x01\x00\x01\x01\x00\x00\x00"s),
            "block calls: child service 1 out of range (1 services)");
  EXPECT_EQ(error("\x01\x01\x01" "a" "\x01\x00\x00\x00\x00\x00\x00"s),
            "block calls: an edge without calls");
  EXPECT_EQ(error("\x01\x01\x01" "a" "\x01\x00\x00\x01\x02\x00\x00"s),
            "block calls: 2 errors in 1 calls");
  EXPECT_EQ(error("\x01\x01\x01" "a" "\x00\x02\x00"s),
            "block calls: outside parents flag is 2, not 0 or 1");
  EXPECT_EQ(error("\x01\x01\x01" "a" "\x00\x01\x80\x00\x00\x00"s),
            "block calls: malformed earliest outside parent");  // not the shortest form
  EXPECT_EQ(error("\x01\x01\x01" "a" "\x00\x00\x00\x00"s), "block calls: 1 trailing bytes");
  EXPECT_EQ(error("\x01\x05\x01" "a"s), "block calls: 5 services in 2 bytes");
  std::string many = "\x01\x01\x01" "a" "\x00\x00\x41"s;  // 65 open calls
  for (int i = 0; i < 65; ++i) many += std::string(24, '\x07') + "\x00\x00"s;
  EXPECT_EQ(error(many), "block calls: 65 open calls, at most 64");
  const std::string bad_error =
      "\x01\x01\x01" "a" "\x00\x00\x01"s + std::string(24, '\x07') + "\x00\x03"s;
  EXPECT_EQ(error(bad_error), "block calls: open call's error flag is 3, not 0 or 1");
  const std::string huge = "\x01\x01\x01" "a" "\x00\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"
                           "\x01\x00"s;
  EXPECT_EQ(error(huge), "block calls: outside parents' bounds overflow");
}

}  // namespace
}  // namespace teletrace::storage
