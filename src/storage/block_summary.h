// A span block's summary: a Bloom filter over the exact "terms" its spans carry, so a scan can skip
// a block that cannot satisfy an equality filter without decompressing it
// (docs/adr/002-block-summaries.md).
//
//   BlockSummaryBuilder builder;
//   for (const StoredSpan* s : block) builder.Add(*s);
//   std::string bytes = std::move(builder).Finish();           // stored beside the block
//   ...
//   ASSIGN_OR_RETURN(BlockSummary summary, BlockSummary::Parse(bytes));
//   if (!summary.MayMatch(filter)) { /* no span of the block matches `filter` */ }
//
// A term is (key level, key name, typed value) for every resource, scope and span attribute (each
// scalar element of an array attribute too) and for the intrinsics span.name, span.kind,
// span.status.code, scope.name and scope.version. Values are typed as query/matcher.cc compares
// them: strings and bools exactly, numbers numerically (an integral double is the same term as the
// equal int64), so "200" and 200 are different terms and 200 and 200.0 the same one. Format 2 also
// has a presence term (level, key name) for every attribute key of every level, events' and links'
// included, so a filter that needs a key (any positive operator) skips blocks where no span has it;
// format 1 summaries are still read and prune by value terms only. Format 3 has no value term for
// a double that is not integral (a measurement, searched by range): a filter on such a value is
// pruned by the key's presence alone, and hashes each term from its key's hash, which the builder
// computes once per attribute. The serialized form is persisted: changing the term encoding or the
// hash needs a new format version.
//
// Thread safety: a BlockSummary is immutable and may be shared; a builder is used by one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "model/span.h"
#include "query/query.h"

namespace teletrace::storage {

// True when a summary can rule out `filter` for a block, i.e. every span matching it must carry a
// term the summary records: equals / in with non-NaN operands on resource, scope or span attributes
// or on the intrinsics above (value terms), and every positive operator on an attribute key of any
// level (presence terms, format 2). False for negative operators and other intrinsics; for those
// MayMatch is always true.
bool IsPrunable(const query::Filter& filter);

class BlockSummary {
 public:
  // The error Parse gives for `bytes`, or OK.
  static absl::Status Check(std::string_view bytes);
  // Reads a serialized summary. Errors: DataLoss naming what is wrong when `bytes` is truncated,
  // has an unknown format version or an impossible probe count. The summary copies `bytes`.
  static absl::StatusOr<BlockSummary> Parse(std::string_view bytes);

  // False only when no span of the summarised block can match `filter` (see IsPrunable); true when
  // some span may (about 1% of absent terms are false positives).
  bool MayMatch(const query::Filter& filter) const;

  // Size of the bit array, for tests and size reports.
  size_t BitCount() const { return (bytes_.size() - kHeaderBytes) * 8; }

  static constexpr size_t kHeaderBytes = 2;  // format version, probe count

 private:
  explicit BlockSummary(std::string bytes) : bytes_(std::move(bytes)) {}

  std::string bytes_;  // header, then the bit array
};

// A prunable filter's terms, hashed once: a scan checks every block's summary in place, without
// parsing (copying) it or hashing the operands again.
class SummaryFilter {
 public:
  // Requires IsPrunable(filter).
  explicit SummaryFilter(const query::Filter& filter);
  // BlockSummary::MayMatch of the summary serialized as `bytes`; true when they do not parse.
  bool MayMatch(std::string_view bytes) const;

 private:
  // Formats 1 and 2 hash a term whole, format 3 in two steps: the `3` members are its hashes.
  std::optional<uint64_t> presence_hash_;  // the key's presence term, when it needs the key
  uint64_t presence_hash3_ = 0;
  bool values_ = false;               // whether value terms decide too
  bool unsummarised_double_ = false;  // an operand format 3 has no value terms for
  std::vector<uint64_t> hashes_;  // one per operand that can equal a value; none: nothing matches
  std::vector<uint64_t> hashes3_;
};

// Collects the terms of one block's spans and serializes their filter.
class BlockSummaryBuilder {
 public:
  void Add(const model::StoredSpan& span);
  // The serialized summary, sized for about 1% false positives over the distinct terms added
  // (about 1.2 bytes per distinct term, at least 8 bytes of bits).
  std::string Finish() &&;

 private:
  void AddTerm(uint64_t hash);
  void AddPresence(char level, std::string_view name);
  void AddValueTerms(char level, std::string_view name, const model::AnyValue& value);
  // The value terms alone, of the key whose KeyHash is `key_hash`.
  void AddValueTermsOf(uint64_t key_hash, const model::AnyValue& value);
  void AddIntrinsic(query::Intrinsic intrinsic, const model::StoredSpan& span);

  // The distinct term hashes: an open-addressing set (0 marks a free slot, so a hash of 0 is kept
  // in has_zero_), because sorting every term of a block to deduplicate cost more than the rest of
  // the build.
  std::vector<uint64_t> table_ = std::vector<uint64_t>(1024);
  size_t distinct_ = 0;
  bool has_zero_ = false;
  std::string scratch_;
  // Spans of one block mostly share a few resources and scopes (and kinds and status codes): their
  // terms are added once. Hashed: a batch may as well give every span its own resource.
  std::unordered_set<const void*> seen_;
  // The span attribute key at each position of the last span that had one there, with its
  // KeyHash: spans of a block mostly list the same keys in the same order, so one comparison
  // usually replaces hashing the name and adding its presence term (both done when it was cached).
  struct CachedKey {
    bool set = false;
    std::string name;
    uint64_t hash = 0;
  };
  std::vector<CachedKey> span_keys_;
  uint64_t seen_kinds_[4] = {};     // bit set by SpanKind value
  uint64_t seen_statuses_[4] = {};  // bit set by StatusCode value
};

}  // namespace teletrace::storage
