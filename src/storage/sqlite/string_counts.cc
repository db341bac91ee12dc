#include "storage/sqlite/string_counts.h"

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

void StringCounts::Add(const std::vector<std::pair<std::string_view, uint64_t>>& counted) {
  Reserve(counted.size());  // before the batch: slots do not move while fetched ahead
  const size_t n = counted.size(), mask = slots_.size() - 1;
  hashes_.resize(n);
  for (size_t i = 0; i < n; ++i) hashes_[i] = Hash(counted[i].first);
  for (size_t i = 0; i < n + kSlotsAhead; ++i) {
    if (i < n) __builtin_prefetch(&slots_[hashes_[i] & mask]);
    if (i >= kStringsAhead && i - kStringsAhead < n) {
      const uint64_t hash = hashes_[i - kStringsAhead];
      const Slot& home = slots_[hash & mask];
      if (home.count != 0 && Tag(home.place) == Tag(hash)) {
        __builtin_prefetch(arena_.data() + (home.place & kOffsetMask));
      }
    }
    if (i >= kSlotsAhead) {
      const size_t j = i - kSlotsAhead;
      if (counted[j].second != 0) Insert(counted[j].first, hashes_[j], counted[j].second);
    }
  }
}

void StringCounts::AddAll(const StringCounts& other) {
  // In batches, so that each is fetched ahead as a block's strings are.
  constexpr size_t kBatch = 1024;
  Reserve(other.size());
  std::vector<std::pair<std::string_view, uint64_t>> batch;
  batch.reserve(kBatch);
  other.ForEach([this, &batch](std::string_view s, uint64_t count) {
    batch.emplace_back(s, count);
    if (batch.size() == kBatch) {
      Add(batch);
      batch.clear();
    }
  });
  Add(batch);
}

}  // namespace teletrace::storage::sqlite
