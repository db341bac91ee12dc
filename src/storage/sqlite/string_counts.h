// Counts of distinct strings, for a high-cardinality key's tag values (user ids: ~300k distinct
// values over 10M spans): each block's (string, spans) pairs are added in one batch.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace teletrace::storage::sqlite {

// An open-addressing table of (string, count): 16-byte slots (the count; where the string's bytes
// are, with 16 bits of its hash) and the strings' bytes in one arena. Against
// absl::flat_hash_map<std::string, uint64_t> (40-byte slots plus control bytes, each string hashed
// twice to prefetch) it hashes each string once and its working set is half as large: in a table
// of ~300k strings each lookup is a cache miss or two (the slot, the string), so a batch fetches
// the slots of the strings a few places ahead, and the stored strings of those a little less far
// ahead whose slot's hash bits match. The hash is Abseil's, seeded per process as
// flat_hash_map's is, which keeps crafted values from colliding.
class StringCounts {
 public:
  struct Item {
    std::string_view string;
    uint64_t count = 0;  // 0 adds nothing
    uint64_t hash = 0;   // Hash(string)
  };
  static uint64_t Hash(std::string_view s);

  // Adds each item's count to its string's.
  void Add(const Item* items, size_t n);
  // Each distinct string with its count, in no particular order.
  template <typename F>
  void ForEach(F&& f) const {
    for (const Slot& slot : slots_) {
      if (slot.count != 0) f(StringAt(slot.place & kOffsetMask), slot.count);
    }
  }
  size_t size() const { return size_; }

 private:
  // The offset of a string's length and bytes in arena_ (low 48 bits) and the top 16 bits of its
  // hash.
  static constexpr uint64_t kOffsetMask = (uint64_t{1} << 48) - 1;
  struct Slot {
    uint64_t count = 0;  // 0: empty
    uint64_t place = 0;
  };
  static uint64_t Tag(uint64_t hash) { return hash & ~kOffsetMask; }
  std::string_view StringAt(uint64_t offset) const;
  // Makes room for `more` new strings without passing the load factor.
  void Reserve(size_t more);
  void Insert(std::string_view s, uint64_t hash, uint64_t count);

  std::vector<Slot> slots_;  // a power of two in size, or empty
  size_t size_ = 0;
  std::string arena_;  // each string as an 8-byte length, then its bytes
};

// StringCounts split by hash into shards, each behind its own lock, that block workers add to
// concurrently: one set of tables for all workers (a table per worker held every distinct value
// once per worker, twice the memory for the caches to miss in, and merging them took ~0.1 s on
// one thread at the end), and a worker waits only when another holds the same shard.
class SharedStringCounts {
 public:
  // Adds `spans` to each string's count; counts of 0 are skipped. Safe from any thread.
  void Add(const std::vector<std::pair<std::string_view, uint64_t>>& counted);
  // Each distinct string with its count, in no particular order; not while adding.
  template <typename F>
  void ForEach(F&& f) const {
    for (const Shard& shard : shards_) shard.counts.ForEach(f);
  }
  size_t size() const;

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    std::mutex mu;
    StringCounts counts;
  };
  std::array<Shard, kShards> shards_;
};

}  // namespace teletrace::storage::sqlite
