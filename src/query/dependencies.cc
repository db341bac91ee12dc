#include "query/dependencies.h"

#include <algorithm>
#include <cstring>
#include <tuple>
#include <utility>

namespace teletrace::query {
namespace {

// A key of DependencyCounter::edges_ split into the parent's and the child's name.
std::pair<std::string_view, std::string_view> Names(std::string_view key) {
  uint32_t size;
  std::memcpy(&size, key.data(), sizeof(size));
  key.remove_prefix(sizeof(size));
  return {key.substr(0, size), key.substr(size)};
}

}  // namespace

void DependencyCounter::Add(std::string_view parent, std::string_view child, uint64_t calls,
                            uint64_t errors) {
  const auto size = static_cast<uint32_t>(parent.size());
  key_.assign(reinterpret_cast<const char*>(&size), sizeof(size));
  key_.append(parent);
  key_.append(child);
  Counts& c = edges_[key_];
  c.calls += calls;
  c.errors += errors;
}

void DependencyCounter::Merge(const DependencyCounter& other) {
  for (const auto& [key, c] : other.edges_) {
    Counts& mine = edges_[key];
    mine.calls += c.calls;
    mine.errors += c.errors;
  }
}

DependenciesResult DependencyCounter::Finish(std::string_view service, bool partial) && {
  DependenciesResult out;
  out.partial = partial;
  out.edges.reserve(edges_.size());
  for (const auto& [key, c] : edges_) {
    const auto [parent, child] = Names(key);
    if (!service.empty() && parent != service && child != service) continue;
    out.edges.push_back({std::string(parent), std::string(child), c.calls, c.errors});
  }
  std::sort(out.edges.begin(), out.edges.end(), [](const DependencyEdge& a, const DependencyEdge& b) {
    return std::tie(a.parent, a.child) < std::tie(b.parent, b.child);
  });
  return out;
}

}  // namespace teletrace::query
