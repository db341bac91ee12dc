// Feeds arbitrary bytes to the block summary parser: it must return an error or a summary that
// answers every probe without crashing (value terms, and key presence on every level), and the
// in-place check (SummaryFilter) must answer as the parsed summary does, true on what does not
// parse.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "storage/block_summary.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto summary = teletrace::storage::BlockSummary::Parse(input);
  teletrace::query::Filter exists;
  exists.key.level = static_cast<teletrace::query::KeyLevel>(1 + size % 5);  // attribute levels
  exists.key.name = std::string(input.substr(0, 8));
  exists.op = teletrace::query::Operator::kExists;
  const bool in_place = teletrace::storage::SummaryFilter(exists).MayMatch(input);
  if (!summary.ok()) {
    if (!in_place) std::abort();
    return 0;
  }
  if (summary->MayMatch(exists) != in_place) std::abort();
  if (summary->BitCount() != (size - teletrace::storage::BlockSummary::kHeaderBytes) * 8) {
    std::abort();
  }
  teletrace::query::Filter filter;
  filter.key.level = teletrace::query::KeyLevel::kSpan;
  filter.key.name = "user.id";
  filter.op = teletrace::query::Operator::kIn;
  filter.values = {std::string(input.substr(0, 16)), int64_t{42}, 2.5, true};
  summary->MayMatch(filter);
  return 0;
}
