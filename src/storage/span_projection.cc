#include "storage/span_projection.h"

#include <algorithm>

namespace teletrace::storage {
namespace {

using query::Intrinsic;
using query::KeyLevel;

uint32_t GroupOf(Intrinsic intrinsic) {
  switch (intrinsic) {
    case Intrinsic::kTraceId:
    case Intrinsic::kSpanId:
    case Intrinsic::kParentSpanId:
      return SpanFields::kIds;
    case Intrinsic::kName:
      return SpanFields::kName;
    case Intrinsic::kKind:
      return SpanFields::kKind;
    case Intrinsic::kStatusCode:
      return SpanFields::kStatusCode;
    case Intrinsic::kStatusMessage:
      return SpanFields::kStatusMessage;
    case Intrinsic::kStartTime:
    case Intrinsic::kEndTime:
    case Intrinsic::kDuration:
      return 0;  // always decoded
    case Intrinsic::kScopeName:
    case Intrinsic::kScopeVersion:
      return SpanFields::kResourceAndScope;
    case Intrinsic::kEventName:
    case Intrinsic::kLinkTraceId:
    case Intrinsic::kLinkSpanId:
      return SpanFields::kEventsAndLinks;
    case Intrinsic::kTraceState:
    case Intrinsic::kIngestionTime:
      return SpanFields::kOther;
  }
  return ~uint32_t{0};  // an intrinsic added without a group here: read everything
}

void Add(const query::Key& key, SpanFields& fields) {
  switch (key.level) {
    case KeyLevel::kIntrinsic:
      fields.groups |= GroupOf(key.intrinsic);
      return;
    case KeyLevel::kResource:
    case KeyLevel::kScope:
      fields.groups |= SpanFields::kResourceAndScope;
      return;
    case KeyLevel::kSpan:
      if (std::find(fields.span_attributes.begin(), fields.span_attributes.end(), key.name) ==
          fields.span_attributes.end()) {
        fields.span_attributes.push_back(key.name);
      }
      return;
    case KeyLevel::kEvent:
    case KeyLevel::kLink:
      fields.groups |= SpanFields::kEventsAndLinks;
      return;
  }
  fields.groups = ~uint32_t{0};
}

SpanFields Nothing() {
  SpanFields fields;
  fields.groups = 0;
  return fields;
}

void AddFilters(const std::vector<query::Filter>& filters, SpanFields& fields) {
  for (const query::Filter& f : filters) Add(f.key, fields);
}

}  // namespace

SpanFields FieldsRead(const std::vector<query::Filter>& filters) {
  SpanFields fields = Nothing();
  AddFilters(filters, fields);
  return fields;
}

SpanFields FieldsRead(const query::TagValuesQuery& query) {
  SpanFields fields = FieldsRead(query.filters);
  Add(query.key, fields);
  return fields;
}

SpanFields FieldsRead(const query::StatisticsQuery& query) {
  SpanFields fields = FieldsRead(query.filters);
  Add(query.key, fields);
  return fields;
}

SpanFields FieldsRead(const query::HistogramQuery& query) {
  SpanFields fields = FieldsRead(query.filters);
  for (const query::Aggregation& a : query.aggregations) {
    if (a.key) Add(*a.key, fields);
    if (a.group_by) Add(*a.group_by, fields);
  }
  return fields;
}

}  // namespace teletrace::storage
