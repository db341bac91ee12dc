// Helpers for query/ tests: hand-built stored spans and validated filters.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "model/span.h"
#include "query/duration_sketch.h"
#include "query/parse.h"
#include "query/query.h"

namespace teletrace::query::testing {

inline TraceId Tid(uint8_t last, uint8_t first = 0) {
  TraceId id{};
  id[0] = first;
  id[15] = last;
  return id;
}

inline SpanId Sid(uint8_t last, uint8_t first = 0) {
  SpanId id{};
  id[0] = first;
  id[7] = last;
  return id;
}

// A span of trace Tid(trace), id Sid(span), running [start, start + duration].
inline model::StoredSpan MakeSpan(uint8_t trace, uint8_t span, uint64_t start,
                                  uint64_t duration = 10) {
  model::StoredSpan s;
  s.resource = std::make_shared<model::Resource>();
  s.scope = std::make_shared<model::Scope>();
  s.span.trace_id = Tid(trace);
  s.span.span_id = Sid(span);
  s.span.start_time_unix_nano = start;
  s.span.end_time_unix_nano = start + duration;
  return s;
}

inline void SetResource(model::StoredSpan& s, model::KeyValueList attributes) {
  auto r = std::make_shared<model::Resource>();
  r->attributes = std::move(attributes);
  s.resource = std::move(r);
}

inline void SetScope(model::StoredSpan& s, std::string name, std::string version,
                     model::KeyValueList attributes = {}) {
  auto sc = std::make_shared<model::Scope>();
  sc->name = std::move(name);
  sc->version = std::move(version);
  sc->attributes = std::move(attributes);
  s.scope = std::move(sc);
}

// Parses and validates a filter; the test fails when that fails.
inline Filter F(std::string_view key, Operator op, std::optional<Scalar> value = std::nullopt,
                std::vector<Scalar> values = {}) {
  Filter f;
  absl::StatusOr<Key> k = ParseKey(key, "filters[0]");
  EXPECT_TRUE(k.ok()) << k.status();
  if (k.ok()) f.key = *k;
  f.op = op;
  f.value = std::move(value);
  f.values = std::move(values);
  absl::Status st = ValidateFilter(f, "filters[0]");
  EXPECT_TRUE(st.ok()) << st;
  return f;
}

inline Key K(std::string_view key) {
  absl::StatusOr<Key> k = ParseKey(key, "key");
  EXPECT_TRUE(k.ok()) << k.status();
  return k.ok() ? *k : Key{};
}

inline Scalar S(const char* s) { return Scalar(std::string(s)); }
inline Scalar I(int64_t i) { return Scalar(i); }
inline Scalar D(double d) { return Scalar(d); }
inline Scalar B(bool b) { return Scalar(b); }

// The duration aggregates of `spans`, as a backend keeps them per block.
inline DurationAggregates AggregatesOf(const std::vector<model::StoredSpan>& spans) {
  DurationAggregates d;
  std::vector<double> values;
  for (const model::StoredSpan& s : spans) {
    const uint64_t v = s.span.DurationNano();
    d.min = d.count == 0 ? v : std::min(d.min, v);
    d.max = std::max(d.max, v);
    d.sum += v;
    ++d.count;
    values.push_back(static_cast<double>(v));
  }
  d.sketch.Add(values);
  return d;
}

}  // namespace teletrace::query::testing
