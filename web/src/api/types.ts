// The one schema of the Teletrace v1 query API as the UI sees it (docs/api.md, REFERENCE §2).
// Every request and response the client sends or reads is typed from here.
//
// Nanosecond numbers (start/end/event/ingestion times, durations) exceed 2^53, so the client parses
// them into decimal strings (`NanoString`) and never into JS numbers; see api/json.ts. Other
// integer literals too long for a double (int64 attributes) arrive as `bigint`.

/** Decimal digits of an unsigned nanosecond value, exact (e.g. "1732662000123456789"). */
export type NanoString = string;

// ---- Keys and filters -------------------------------------------------------------------------

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
] as const;
export type Operator = (typeof OPERATORS)[number];

export type Scalar = string | number | boolean;
export type FilterValue = Scalar | Scalar[];

export interface KeyValueFilter {
  key: string;
  operator: Operator;
  /** Absent for exists / not_exists; an array for in / not_in. */
  value?: FilterValue;
}

export interface SearchFilter {
  keyValueFilter: KeyValueFilter;
}

export interface Timeframe {
  /** Unix nanoseconds; the client sends exact integers (see stringifyJson). */
  startTimeUnixNanoSec: bigint;
  /** 0 = now. */
  endTimeUnixNanoSec: bigint;
}

export type SortField = 'span.startTimeUnixNano' | 'externalFields.durationNano';

export interface Sort {
  field: SortField;
  ascending: boolean;
}

// ---- Spans ----------------------------------------------------------------------------------

/** An OTLP attribute value as JSON: strings, numbers, bools, arrays, nested key-value objects. */
export type AttributeValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | AttributeValue[]
  | { [key: string]: AttributeValue };

export type Attributes = Record<string, AttributeValue>;

export type SpanKind = 'Unspecified' | 'Internal' | 'Server' | 'Client' | 'Producer' | 'Consumer';
export type StatusCode = 'Unset' | 'Ok' | 'Error';

export interface SpanEvent {
  timeUnixNano: NanoString;
  name: string;
  attributes: Attributes;
  droppedAttributesCount: number;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: Attributes;
  droppedAttributesCount: number;
  flags?: number;
}

export interface InternalSpan {
  resource: { attributes: Attributes; droppedAttributesCount: number };
  scope: { name: string; version: string; attributes: Attributes; droppedAttributesCount: number };
  span: {
    traceId: string;
    spanId: string;
    traceState: string;
    /** "" for a root span. */
    parentSpanId: string;
    flags?: number;
    name: string;
    kind: SpanKind;
    startTimeUnixNano: NanoString;
    endTimeUnixNano: NanoString;
    attributes: Attributes;
    droppedAttributesCount: number;
    events: SpanEvent[];
    droppedEventsCount: number;
    links: SpanLink[];
    droppedLinksCount: number;
    status: { message: string; code: StatusCode };
  };
  externalFields: { durationNano: NanoString };
  ingestionTimeUnixNano: NanoString;
}

// ---- Requests and responses ---------------------------------------------------------------------

export interface Metadata {
  nextToken: string;
}

export interface SearchRequest {
  timeframe?: Timeframe;
  filters?: SearchFilter[];
  sort?: Sort[];
  /** 1..1000, default 50. */
  pageSize?: number;
  metadata?: Metadata;
}

export interface SpansResponse {
  /** null when there is no next page. */
  metadata: Metadata | null;
  spans: InternalSpan[];
}

export type TagType = 'Str' | 'Int' | 'Double' | 'Bool' | 'Slice' | 'Map' | 'Bytes';

export interface TagInfo {
  name: string;
  type: TagType;
}

export interface TagsResponse {
  Tags: TagInfo[];
}

export interface TagValuesRequest {
  timeframe?: Timeframe;
  filters?: SearchFilter[];
  limit?: number;
}

export interface TagValue {
  value: string | number | bigint | boolean;
  count: number;
}

export interface TagValuesResponse {
  metadata: null;
  values: TagValue[];
  totalDistinctValues?: number;
}

export interface StatisticsRequest {
  timeframe?: Timeframe;
  filters?: SearchFilter[];
  /** "min", "max", "avg", "count", "sum", "p50", "p99.9", ... */
  desiredStatistics: string[];
}

export interface StatisticsResponse {
  statistics: Record<string, number | bigint>;
}

export interface HistogramAggregation {
  func: 'COUNT' | 'DISTINCT_COUNT' | 'PERCENTILES';
  key?: string;
  groupBy?: string;
  maxGroups?: number;
  aggregationParameters?: { percentiles: number[] };
}

export interface HistogramRequest {
  timeframe?: Timeframe;
  filters?: SearchFilter[];
  /** Bucket width in nanoseconds. */
  interval: bigint | number;
  intervalKey?: 'span.startTimeUnixNano';
  aggregations: Record<string, HistogramAggregation>;
}

export type HistogramBucketData =
  | number
  | { totalCount: number; subBuckets: { key: string | number | boolean; count: number }[] }
  | Record<string, number>;

export interface HistogramResponse {
  histograms: {
    histogramLabel: string;
    buckets: { bucketKey: number | bigint; data: HistogramBucketData }[];
  }[];
}

export interface ErrorBody {
  errorMessage: string;
}

/** The JSON keys whose values are nanosecond integers and always parse to NanoString. */
export const NANO_KEYS: ReadonlySet<string> = new Set([
  'startTimeUnixNano',
  'endTimeUnixNano',
  'durationNano',
  'timeUnixNano',
  'ingestionTimeUnixNano',
]);
