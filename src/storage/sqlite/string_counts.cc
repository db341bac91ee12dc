#include "storage/sqlite/string_counts.h"

#include <algorithm>
#include <cstring>

#include "absl/hash/hash.h"

namespace teletrace::storage::sqlite {

namespace {

// How far ahead of the string being counted a batch fetches slots, and stored strings.
constexpr size_t kSlotsAhead = 32, kStringsAhead = 16;

}  // namespace

uint64_t StringCounts::Hash(std::string_view s) { return absl::Hash<std::string_view>()(s); }

std::string_view StringCounts::StringAt(uint64_t offset) const {
  uint64_t length;
  std::memcpy(&length, arena_.data() + offset, sizeof(length));
  return {arena_.data() + offset + sizeof(length), length};
}

void StringCounts::Reserve(size_t more) {
  // At most three quarters full: linear probing's runs stay short, and four slots share a line.
  size_t capacity = slots_.empty() ? 1024 : slots_.size();
  while (4 * (size_ + more) > 3 * capacity) capacity *= 2;
  if (capacity == slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  const size_t mask = capacity - 1;
  for (const Slot& slot : old) {
    if (slot.count == 0) continue;
    size_t i = Hash(StringAt(slot.place & kOffsetMask)) & mask;
    while (slots_[i].count != 0) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

void StringCounts::Insert(std::string_view s, uint64_t hash, uint64_t count) {
  const size_t mask = slots_.size() - 1;
  const uint64_t tag = Tag(hash);
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.count == 0) {
      slot.count = count;
      slot.place = tag | arena_.size();
      const uint64_t length = s.size();
      arena_.append(reinterpret_cast<const char*>(&length), sizeof(length));
      arena_.append(s);
      ++size_;
      return;
    }
    if (Tag(slot.place) == tag && StringAt(slot.place & kOffsetMask) == s) {
      slot.count += count;
      return;
    }
  }
}

void StringCounts::Add(const Item* items, size_t n) {
  Reserve(n);  // before the batch: slots do not move while fetched ahead
  const size_t mask = slots_.size() - 1;
  for (size_t i = 0; i < n + kSlotsAhead; ++i) {
    if (i < n) __builtin_prefetch(&slots_[items[i].hash & mask]);
    if (i >= kStringsAhead && i - kStringsAhead < n) {
      const uint64_t hash = items[i - kStringsAhead].hash;
      const Slot& home = slots_[hash & mask];
      if (home.count != 0 && Tag(home.place) == Tag(hash)) {
        __builtin_prefetch(arena_.data() + (home.place & kOffsetMask));
      }
    }
    if (i >= kSlotsAhead) {
      const Item& item = items[i - kSlotsAhead];
      if (item.count != 0) Insert(item.string, item.hash, item.count);
    }
  }
}

void SharedStringCounts::Add(const std::vector<std::pair<std::string_view, uint64_t>>& counted) {
  // The batch's items ordered by shard (bits of the hash that neither a table's slot index, the
  // low bits, nor its tag, the top 16, use), then each shard's added under its lock.
  auto shard_of = [](uint64_t hash) { return (hash >> 40) % kShards; };
  thread_local std::vector<StringCounts::Item> hashed, ordered;
  hashed.clear();
  std::array<size_t, kShards + 1> begin{};
  for (const auto& [string, count] : counted) {
    const uint64_t hash = StringCounts::Hash(string);
    hashed.push_back({string, count, hash});
    ++begin[shard_of(hash) + 1];
  }
  for (size_t s = 0; s < kShards; ++s) begin[s + 1] += begin[s];
  ordered.resize(hashed.size());
  std::array<size_t, kShards> next;
  std::copy(begin.begin(), begin.end() - 1, next.begin());
  for (const StringCounts::Item& item : hashed) ordered[next[shard_of(item.hash)]++] = item;
  for (size_t s = 0; s < kShards; ++s) {
    if (begin[s] == begin[s + 1]) continue;
    std::lock_guard<std::mutex> lock(shards_[s].mu);
    shards_[s].counts.Add(ordered.data() + begin[s], begin[s + 1] - begin[s]);
  }
}

size_t SharedStringCounts::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) n += shard.counts.size();
  return n;
}

}  // namespace teletrace::storage::sqlite
