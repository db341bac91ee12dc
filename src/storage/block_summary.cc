#include "storage/block_summary.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>
#include <variant>

#include "fmt/format.h"
#include "query/engine.h"

namespace teletrace::storage {
namespace {

// Format 1: value terms. Format 2 (written since issue 12) adds a presence term for every attribute
// key at every level, events' and links' included; a format 1 summary never prunes by presence.
// Format 3 leaves out the value terms of doubles that are not integral (see IntegralDouble): a
// filter on such a value prunes by presence only there. It also hashes a term in two steps (see
// KeyHash), so that building a summary hashes each attribute's key once rather than once per term,
// and copies no key into a buffer.
constexpr uint8_t kFormatVersion = 3;
constexpr uint8_t kWithPresence = 2;
constexpr uint8_t kValueTermsOnly = 1;
// 7 probes and 9.6 bits per distinct term give the ~1% false positive rate of a classic Bloom
// filter (-ln(0.01) / ln(2)^2 = 9.59). A blocked filter would save cache misses we do not have:
// a pruning check probes one or two terms per block, against a block decode it replaces.
constexpr uint8_t kProbes = 7;
constexpr double kBitsPerTerm = 9.6;
constexpr size_t kMinBits = 64;
constexpr uint8_t kMaxProbes = 16;

// Term levels and value types, as they appear in the hashed bytes.
constexpr char kResourceLevel = 'R';
constexpr char kScopeLevel = 'C';
constexpr char kSpanLevel = 'S';
constexpr char kIntrinsicLevel = 'I';
constexpr char kEventLevel = 'E';
constexpr char kLinkLevel = 'L';
constexpr char kStringType = 's';
constexpr char kBoolType = 'b';
constexpr char kIntegralType = 'n';  // int64, or a double with an exact int64 value
constexpr char kDoubleType = 'd';    // any other double (bit pattern)
constexpr char kPresent = 'k';       // the key, whatever its value

constexpr query::Intrinsic kSummarisedIntrinsics[] = {
    query::Intrinsic::kName, query::Intrinsic::kKind, query::Intrinsic::kStatusCode,
    query::Intrinsic::kScopeName, query::Intrinsic::kScopeVersion};

uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// The 8 bytes at p as a little-endian number: one load on little-endian machines.
uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}
uint64_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

// The n (1-7) bytes at p as a little-endian number, in at most two loads (overlapping ones set the
// same bits). A byte loop here was most of HashBytes' time.
uint64_t LoadTail(const char* p, size_t n) {
  if (n >= 4) return Load32(p) | (Load32(p + n - 4) << (8 * (n - 4)));
  const auto byte = [p](size_t i) { return uint64_t{static_cast<uint8_t>(p[i])} << (8 * i); };
  return byte(0) | byte(n / 2) | byte(n - 1);
}

// A fixed 64-bit hash (persisted in summaries, so it must never depend on the platform or the
// library version, which rules out std::hash and absl::Hash). Murmur-style word mixing with the
// MurmurHash3 finaliser.
uint64_t HashBytes(std::string_view bytes, uint64_t seed = 0) {
  constexpr uint64_t kMul1 = 0x9E3779B97F4A7C15ULL;
  constexpr uint64_t kMul2 = 0xC2B2AE3D27D4EB4FULL;
  uint64_t h = 0x27D4EB2F165667C5ULL ^ seed ^ (bytes.size() * kMul1);
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w = Load64(bytes.data() + i);
    h ^= Rotl(w * kMul2, 31) * kMul1;
    h = Rotl(h, 27) * kMul1 + 0x52DCE729;
  }
  if (i < bytes.size()) {
    uint64_t w = LoadTail(bytes.data() + i, bytes.size() - i);
    h ^= Rotl(w * kMul2, 31) * kMul1;
  }
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ULL;
  h ^= h >> 33;
  return h;
}

// Format 3 term hashes. A term is (key, value part): the key (level, name) is hashed alone, and the
// value part (type byte, value bytes, as the Append functions below write it) is hashed seeded with
// the key's hash. A presence term is the value part "k".
uint64_t KeyHash(char level, std::string_view name) {
  return HashBytes(name, uint64_t{static_cast<uint8_t>(level)} * 0xC2B2AE3D27D4EB4FULL);
}
uint64_t TermHash(uint64_t key_hash, std::string_view value_part) {
  return HashBytes(value_part, key_hash);
}
uint64_t PresenceHash(uint64_t key_hash) { return TermHash(key_hash, "k"); }

void AppendFixed64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

// The key part of a term: level, then the name with its length so no name/value split is
// ambiguous.
void AppendKey(std::string& out, char level, std::string_view name) {
  out.push_back(level);
  uint32_t size = static_cast<uint32_t>(name.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(size >> (8 * i)));
  out.append(name);
}

void AppendIntegral(std::string& out, int64_t v) {
  out.push_back(kIntegralType);
  AppendFixed64(out, static_cast<uint64_t>(v));
}

// Whether `d` has an exact int64 value, which it then equals (as a term too); -0.0 is 0.
bool IntegralDouble(double d) {
  return d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == std::trunc(d);
}

// Whether `operand` is a double that format 3 summaries have no value term for: one that is not
// integral. Those are measurements (ratios, scores, seconds), nearly all distinct, searched by
// range rather than equality: at 10M spans of the load generator their terms were a quarter of
// every summary, and without them a summary fits one SQLite page (no overflow pages to walk).
bool UnsummarisedDouble(const query::Scalar& operand) {
  const double* d = std::get_if<double>(&operand);
  return d != nullptr && !std::isnan(*d) && !IntegralDouble(*d);
}

// False for NaN, which equals nothing (query::CompareNumbers is unordered for it).
bool AppendDouble(std::string& out, double d) {
  if (std::isnan(d)) return false;
  if (IntegralDouble(d)) {
    AppendIntegral(out, static_cast<int64_t>(d));
    return true;
  }
  uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof bits);
  out.push_back(kDoubleType);
  AppendFixed64(out, bits);
  return true;
}

void AppendString(std::string& out, std::string_view s) {
  out.push_back(kStringType);
  out.append(s);
}

void AppendBool(std::string& out, bool b) {
  out.push_back(kBoolType);
  out.push_back(b ? '1' : '0');
}

// Appends the value part of the term a scalar attribute value forms; false when the value can equal
// no filter operand (empty, bytes, map, nested array, NaN) or is a double without a term.
bool AppendAttributeValue(std::string& out, const model::AnyValue& v) {
  if (const auto* s = std::get_if<std::string>(&v.value)) {
    AppendString(out, *s);
    return true;
  }
  if (const bool* b = std::get_if<bool>(&v.value)) {
    AppendBool(out, *b);
    return true;
  }
  if (const int64_t* i = std::get_if<int64_t>(&v.value)) {
    AppendIntegral(out, *i);
    return true;
  }
  if (const double* d = std::get_if<double>(&v.value)) {
    return IntegralDouble(*d) && AppendDouble(out, *d);
  }
  return false;
}

// The same for a filter operand (every double but NaN: format 2 summaries have terms for them).
bool AppendOperand(std::string& out, const query::Scalar& operand) {
  if (const auto* s = std::get_if<std::string>(&operand)) {
    AppendString(out, *s);
    return true;
  }
  if (const bool* b = std::get_if<bool>(&operand)) {
    AppendBool(out, *b);
    return true;
  }
  if (const int64_t* i = std::get_if<int64_t>(&operand)) {
    AppendIntegral(out, *i);
    return true;
  }
  return AppendDouble(out, std::get<double>(operand));
}

bool IsSummarisedIntrinsic(query::Intrinsic intrinsic) {
  return std::find(std::begin(kSummarisedIntrinsics), std::end(kSummarisedIntrinsics),
                   intrinsic) != std::end(kSummarisedIntrinsics);
}

// The term level of an attribute key's level; 0 for intrinsics.
char AttributeLevel(query::KeyLevel level) {
  switch (level) {
    case query::KeyLevel::kResource:
      return kResourceLevel;
    case query::KeyLevel::kScope:
      return kScopeLevel;
    case query::KeyLevel::kSpan:
      return kSpanLevel;
    case query::KeyLevel::kEvent:
      return kEventLevel;
    case query::KeyLevel::kLink:
      return kLinkLevel;
    case query::KeyLevel::kIntrinsic:
      return 0;
  }
  return 0;
}

// The (term level, name) of `key`'s value terms; none when they are not summarised (event and link
// attributes, most intrinsics). An intrinsic's name is its one-byte id, kept in `id`.
std::optional<std::pair<char, std::string_view>> ValueTermKey(const query::Key& key, char& id) {
  if (key.level == query::KeyLevel::kIntrinsic) {
    if (!IsSummarisedIntrinsic(key.intrinsic)) return std::nullopt;
    id = static_cast<char>(key.intrinsic);
    return std::pair(kIntrinsicLevel, std::string_view(&id, 1));
  }
  if (key.level == query::KeyLevel::kEvent || key.level == query::KeyLevel::kLink) {
    return std::nullopt;
  }
  return std::pair(AttributeLevel(key.level), std::string_view(key.name));
}

// Appends the key part of `key`'s value terms (formats 1 and 2); false when they are not
// summarised.
bool AppendQueryKey(std::string& out, const query::Key& key) {
  char id;
  const auto term_key = ValueTermKey(key, id);
  if (term_key) AppendKey(out, term_key->first, term_key->second);
  return term_key.has_value();
}

// The format 3 hash of `key`'s value terms' key part; none when they are not summarised.
std::optional<uint64_t> QueryKeyHash(const query::Key& key) {
  char id;
  const auto term_key = ValueTermKey(key, id);
  if (!term_key) return std::nullopt;
  return KeyHash(term_key->first, term_key->second);
}

// Appends the presence term of attribute `name` at term level `level`.
void AppendPresence(std::string& out, char level, std::string_view name) {
  AppendKey(out, level, name);
  out.push_back(kPresent);
}

// Calls fn(bit) for each of the `probes` bit positions of a term in an array of `bits` bits: double
// hashing, h + i * delta (Kirsch and Mitzenmacher), from the one 64-bit term hash.
template <typename Fn>
bool AllProbes(uint64_t term_hash, uint64_t bits, uint8_t probes, Fn&& fn) {
  uint64_t position = term_hash;
  const uint64_t delta = Rotl(term_hash, 32) | 1;
  for (uint8_t i = 0; i < probes; ++i) {
    if (!fn(position % bits)) return false;
    position += delta;
  }
  return true;
}

bool IsNaN(const query::Scalar& operand) {
  const double* d = std::get_if<double>(&operand);
  return d != nullptr && std::isnan(*d);
}

}  // namespace

namespace {

// Whether a summary's value terms can rule out `filter`.
bool ValuePrunable(const query::Filter& filter) {
  std::string scratch;
  if (!AppendQueryKey(scratch, filter.key)) return false;
  switch (filter.op) {
    case query::Operator::kEquals:
      // A NaN operand equals nothing; not pruning keeps the rule simple and is still correct.
      return filter.value.has_value() && !IsNaN(*filter.value);
    case query::Operator::kIn:
      return !filter.values.empty() &&
             std::none_of(filter.values.begin(), filter.values.end(), IsNaN);
    default:
      return false;
  }
}

// No span lacking the key satisfies a positive operator; the negative ones match keyless spans.
bool PresencePrunable(const query::Filter& filter) {
  return filter.key.level != query::KeyLevel::kIntrinsic && !query::IsNegative(filter.op);
}

}  // namespace

bool IsPrunable(const query::Filter& filter) {
  return ValuePrunable(filter) || PresencePrunable(filter);
}

absl::Status BlockSummary::Check(std::string_view bytes) {
  if (bytes.size() < kHeaderBytes + 1) {
    return absl::DataLossError(
        fmt::format("block summary: {} bytes, want at least {}", bytes.size(), kHeaderBytes + 1));
  }
  const auto version = static_cast<uint8_t>(bytes[0]);
  if (version < kValueTermsOnly || version > kFormatVersion) {
    return absl::DataLossError(fmt::format(
        "block summary: unknown format version {} (want {} to {})", version, kValueTermsOnly,
        kFormatVersion));
  }
  const auto probes = static_cast<uint8_t>(bytes[1]);
  if (probes == 0 || probes > kMaxProbes) {
    return absl::DataLossError(
        fmt::format("block summary: {} probes per term, want 1 to {}", probes, kMaxProbes));
  }
  return absl::OkStatus();
}

absl::StatusOr<BlockSummary> BlockSummary::Parse(std::string_view bytes) {
  if (absl::Status status = Check(bytes); !status.ok()) return status;
  return BlockSummary(std::string(bytes));
}

namespace {

// Whether the checked summary `bytes` may contain the term hashed to `term_hash`.
bool MayContain(std::string_view bytes, uint64_t term_hash) {
  const auto probes = static_cast<uint8_t>(bytes[1]);
  const uint64_t bits = (bytes.size() - BlockSummary::kHeaderBytes) * 8;
  const char* array = bytes.data() + BlockSummary::kHeaderBytes;
  return AllProbes(term_hash, bits, probes, [array](uint64_t bit) {
    return (static_cast<uint8_t>(array[bit / 8]) & (1u << (bit % 8))) != 0;
  });
}

}  // namespace

bool BlockSummary::MayMatch(const query::Filter& filter) const {
  return !IsPrunable(filter) || SummaryFilter(filter).MayMatch(bytes_);
}

SummaryFilter::SummaryFilter(const query::Filter& filter) {
  std::string term;
  if (PresencePrunable(filter)) {
    const char level = AttributeLevel(filter.key.level);
    AppendPresence(term, level, filter.key.name);
    presence_hash_ = HashBytes(term);
    presence_hash3_ = PresenceHash(KeyHash(level, filter.key.name));
  }
  if (!ValuePrunable(filter)) return;
  values_ = true;
  term.clear();
  AppendQueryKey(term, filter.key);
  const size_t key_size = term.size();
  const uint64_t key_hash = *QueryKeyHash(filter.key);
  auto add = [&](const query::Scalar& operand) {
    term.resize(key_size);
    if (AppendOperand(term, operand)) {
      hashes_.push_back(HashBytes(term));
      hashes3_.push_back(TermHash(key_hash, std::string_view(term).substr(key_size)));
    }
    unsummarised_double_ = unsummarised_double_ || UnsummarisedDouble(operand);
  };
  if (filter.op == query::Operator::kEquals) {
    add(*filter.value);
  } else {
    for (const query::Scalar& operand : filter.values) add(operand);
  }
}

bool SummaryFilter::MayMatch(std::string_view bytes) const {
  if (!BlockSummary::Check(bytes).ok()) return true;
  const auto version = static_cast<uint8_t>(bytes[0]);
  const bool v3 = version >= kFormatVersion;
  if (presence_hash_.has_value() && version >= kWithPresence &&
      !MayContain(bytes, v3 ? presence_hash3_ : *presence_hash_)) {
    return false;
  }
  if (!values_ || (unsummarised_double_ && v3)) return true;
  const std::vector<uint64_t>& hashes = v3 ? hashes3_ : hashes_;
  return std::any_of(hashes.begin(), hashes.end(),
                     [bytes](uint64_t hash) { return MayContain(bytes, hash); });
}

void BlockSummaryBuilder::AddTerm(uint64_t hash) {
  if (hash == 0) {
    has_zero_ = true;
    return;
  }
  if ((distinct_ + 1) * 2 > table_.size()) {
    std::vector<uint64_t> old(table_.size() * 2);
    old.swap(table_);
    const size_t mask = table_.size() - 1;
    for (uint64_t h : old) {
      if (h == 0) continue;
      size_t i = h & mask;
      while (table_[i] != 0) i = (i + 1) & mask;
      table_[i] = h;
    }
  }
  const size_t mask = table_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    if (table_[i] == hash) return;
    if (table_[i] == 0) {
      table_[i] = hash;
      ++distinct_;
      return;
    }
  }
}

void BlockSummaryBuilder::AddPresence(char level, std::string_view name) {
  AddTerm(PresenceHash(KeyHash(level, name)));
}

void BlockSummaryBuilder::AddValueTerms(char level, std::string_view name,
                                        const model::AnyValue& value) {
  const uint64_t key_hash = KeyHash(level, name);
  AddTerm(PresenceHash(key_hash));
  AddValueTermsOf(key_hash, value);
}

void BlockSummaryBuilder::AddValueTermsOf(uint64_t key_hash, const model::AnyValue& value) {
  // An array matches when any element does (query/matcher.cc), so each element is a term.
  if (const auto* array = std::get_if<model::ArrayValue>(&value.value)) {
    for (const model::AnyValue& element : *array) {
      scratch_.clear();
      if (AppendAttributeValue(scratch_, element)) AddTerm(TermHash(key_hash, scratch_));
    }
  } else {
    scratch_.clear();
    if (AppendAttributeValue(scratch_, value)) AddTerm(TermHash(key_hash, scratch_));
  }
}

// Intrinsic values come from the query engine itself, so they are the API form the matcher compares
// (kind and status as names, "" for a missing scope).
void BlockSummaryBuilder::AddIntrinsic(query::Intrinsic intrinsic, const model::StoredSpan& span) {
  query::Key key;
  key.level = query::KeyLevel::kIntrinsic;
  key.intrinsic = intrinsic;
  const uint64_t key_hash = *QueryKeyHash(key);
  query::ForEachValue(key, span, [&](const model::AnyValue& v) {
    scratch_.clear();
    if (AppendAttributeValue(scratch_, v)) AddTerm(TermHash(key_hash, scratch_));
  });
}

void BlockSummaryBuilder::Add(const model::StoredSpan& span) {
  auto first_time = [this](const void* p) { return seen_.insert(p).second; };
  auto first_bit = [](uint64_t (&bits)[4], uint8_t value) {
    uint64_t& word = bits[value / 64];
    const uint64_t bit = uint64_t{1} << (value % 64);
    if ((word & bit) != 0) return false;
    word |= bit;
    return true;
  };
  if (span.resource != nullptr && first_time(span.resource.get())) {
    for (const model::KeyValue& kv : span.resource->attributes) {
      AddValueTerms(kResourceLevel, kv.key, kv.value);
    }
  }
  // A missing scope is recorded once too (as nullptr): its name and version are "".
  if (first_time(span.scope.get())) {
    if (span.scope != nullptr) {
      for (const model::KeyValue& kv : span.scope->attributes) {
        AddValueTerms(kScopeLevel, kv.key, kv.value);
      }
    }
    AddIntrinsic(query::Intrinsic::kScopeName, span);
    AddIntrinsic(query::Intrinsic::kScopeVersion, span);
  }
  const model::KeyValueList& attributes = span.span.attributes;
  if (span_keys_.size() < attributes.size()) span_keys_.resize(attributes.size());
  for (size_t i = 0; i < attributes.size(); ++i) {
    const model::KeyValue& kv = attributes[i];
    CachedKey& key = span_keys_[i];
    if (!key.set || key.name != kv.key) {
      key = {true, kv.key, KeyHash(kSpanLevel, kv.key)};
      AddTerm(PresenceHash(key.hash));
    }
    AddValueTermsOf(key.hash, kv.value);
  }
  for (const model::Event& event : span.span.events) {
    for (const model::KeyValue& kv : event.attributes) AddPresence(kEventLevel, kv.key);
  }
  for (const model::Link& link : span.span.links) {
    for (const model::KeyValue& kv : link.attributes) AddPresence(kLinkLevel, kv.key);
  }
  if (first_bit(seen_kinds_, static_cast<uint8_t>(span.span.kind))) {
    AddIntrinsic(query::Intrinsic::kKind, span);
  }
  if (first_bit(seen_statuses_, static_cast<uint8_t>(span.span.status.code))) {
    AddIntrinsic(query::Intrinsic::kStatusCode, span);
  }
  // span.name is the span's name as is (query::SpanIntrinsicValue); built here without the engine's
  // std::function because it is one term per span.
  static const uint64_t kNameKeyHash = [] {
    const char name_id = static_cast<char>(query::Intrinsic::kName);
    return KeyHash(kIntrinsicLevel, std::string_view(&name_id, 1));
  }();
  scratch_.clear();
  AppendString(scratch_, span.span.name);
  AddTerm(TermHash(kNameKeyHash, scratch_));
}

std::string BlockSummaryBuilder::Finish() && {
  const size_t terms = distinct_ + (has_zero_ ? 1 : 0);
  size_t bits = std::max(
      kMinBits, static_cast<size_t>(std::ceil(static_cast<double>(terms) * kBitsPerTerm)));
  bits = (bits + 7) / 8 * 8;
  std::string out(BlockSummary::kHeaderBytes + bits / 8, '\0');
  out[0] = static_cast<char>(kFormatVersion);
  out[1] = static_cast<char>(kProbes);
  char* array = out.data() + BlockSummary::kHeaderBytes;
  auto set = [array](uint64_t bit) {
    array[bit / 8] = static_cast<char>(static_cast<uint8_t>(array[bit / 8]) | (1u << (bit % 8)));
    return true;
  };
  for (uint64_t hash : table_) {
    if (hash != 0) AllProbes(hash, bits, kProbes, set);
  }
  if (has_zero_) AllProbes(0, bits, kProbes, set);
  return out;
}

}  // namespace teletrace::storage
