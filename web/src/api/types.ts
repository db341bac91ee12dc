// The Teletrace v1 query API as the UI sees it. The types are generated (src/api/v1.gen.ts, by
// scripts/gen-api-types.mjs) from the API's one schema, docs/openapi/teletrace-v1.yaml; this file
// only names them. Every request and response the client sends or reads is typed from here.
//
// Nanosecond numbers (start/end/event/ingestion times, durations) exceed 2^53, so the client parses
// them into decimal strings (`NanoString`) and never into JS numbers; see api/json.ts. Other
// integer literals too long for a double (int64 attributes) arrive as `bigint`.

/** Decimal digits of an unsigned nanosecond value, exact (e.g. "1732662000123456789"). */
export type NanoString = string;

import type { components } from './v1.gen';

type Schemas = components['schemas'];

// ---- Keys and filters -------------------------------------------------------------------------

/** The operators in the order the filter editor offers them; exactly the schema's enum. */
export const OPERATORS = [
  'equals',
  'not_equals',
  'in',
  'not_in',
  'contains',
  'not_contains',
  'exists',
  'not_exists',
  'gt',
  'gte',
  'lt',
  'lte',
] as const satisfies readonly Schemas['Operator'][];
export type Operator = Schemas['Operator'];
/** Fails to compile when the schema gains an operator that OPERATORS lacks. */
export const OPERATORS_COMPLETE: Exclude<Operator, (typeof OPERATORS)[number]> extends never ? true : never = true;

export type Scalar = Schemas['Scalar'];
export type FilterValue = Schemas['FilterValue'];
export type KeyValueFilter = Schemas['KeyValueFilter'];
export type SearchFilter = Schemas['SearchFilter'];
export type Timeframe = Schemas['Timeframe'];
export type SortField = Schemas['SortField'];
export type Sort = Schemas['Sort'];

// ---- Spans ----------------------------------------------------------------------------------

export type AttributeValue = Schemas['AttributeValue'];
export type Attributes = Schemas['Attributes'];
export type SpanKind = Schemas['SpanKind'];
export type StatusCode = Schemas['StatusCode'];
export type SpanEvent = Schemas['SpanEvent'];
export type SpanLink = Schemas['SpanLink'];
export type InternalSpan = Schemas['InternalSpan'];

// ---- Requests and responses ---------------------------------------------------------------------

export type Metadata = Schemas['Metadata'];
export type SearchRequest = Schemas['SearchRequest'];
export type SpansResponse = Schemas['SpansResponse'];
export type TagType = Schemas['TagType'];
export type TagInfo = Schemas['TagInfo'];
export type TagsResponse = Schemas['TagsResponse'];
export type TagValuesRequest = Schemas['TagValuesRequest'];
export type TagValue = Schemas['TagValue'];
export type TagValuesResponse = Schemas['TagValuesResponse'];
export type StatisticsRequest = Schemas['StatisticsRequest'];
export type StatisticsResponse = Schemas['StatisticsResponse'];
export type HistogramAggregation = Schemas['HistogramAggregation'];
export type HistogramRequest = Schemas['HistogramRequest'];
export type HistogramBucketData = Schemas['HistogramBucketData'];
export type HistogramResponse = Schemas['HistogramResponse'];
export type ErrorBody = Schemas['ErrorBody'];
export type SystemInfo = Schemas['SystemInfo'];
export type TraceSearchRequest = Schemas['TraceSearchRequest'];
export type DependenciesRequest = Schemas['DependenciesRequest'];
export type DependenciesResponse = Schemas['DependenciesResponse'];
export type DependencyEdge = DependenciesResponse['dependencies'][number];
export type TraceSummary = Schemas['TraceSummary'];
export type TracesResponse = Schemas['TracesResponse'];
export type IngestPorts = SystemInfo['ingest'];

/** The JSON keys whose values are nanosecond integers and always parse to NanoString. */
export const NANO_KEYS: ReadonlySet<string> = new Set([
  'startTimeUnixNano',
  'endTimeUnixNano',
  'durationNano',
  'timeUnixNano',
  'ingestionTimeUnixNano',
]);
