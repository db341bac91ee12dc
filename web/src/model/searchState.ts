// The span search page's whole state, and its round trip through the URL's query string, so a view
// can be shared and back/forward restore it. Defaults are left out of the URL.
//
//   ?range=6h                       relative range (default 1h), or
//   ?start=<epoch ms>&end=<epoch ms> absolute range (live mode is off for these)
//   &filter=["span.name","equals","GET /"]          built filters, repeated, JSON [key, op, value?]
//   &sel=["resource.attributes.service.name",["a","b"]]   facet selections, repeated
//   &dmin=<ns>&dmax=<ns>            duration facet bounds
//   &sort=duration&order=asc        sort (default start time, descending)
//   &col=<key>                      extra result columns, repeated
//   &facet=<key>                    facets the user added, repeated
//   &live=1                         live mode
//   &chart=latency|heatmap          the chart over time: latency percentiles or a duration heatmap
//                                   (default: spans)
//   &mode=traces                    one row per trace instead of per span
//   &terr=1                         traces mode: only traces with an error span
import { OPERATORS, type FilterValue, type Operator, type Scalar, type SearchFilter, type Timeframe } from '../api/types';
import { msToNs } from './span';

export const RANGE_PRESETS = ['15m', '1h', '6h', '1d', '3d', '1w'] as const;
export type RangePreset = (typeof RANGE_PRESETS)[number];

export const PRESET_MS: Record<RangePreset, number> = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '1d': 86_400_000,
  '3d': 3 * 86_400_000,
  '1w': 7 * 86_400_000,
};

export const PRESET_LABELS: Record<RangePreset, string> = {
  '15m': 'Last 15 minutes',
  '1h': 'Last hour',
  '6h': 'Last 6 hours',
  '1d': 'Last day',
  '3d': 'Last 3 days',
  '1w': 'Last week',
};

export type TimeRange =
  | { kind: 'relative'; preset: RangePreset }
  | { kind: 'absolute'; startMs: number; endMs: number };

export interface UiFilter {
  key: string;
  operator: Operator;
  /** Absent for exists / not_exists. */
  value?: FilterValue;
}

export type SortBy = 'start' | 'duration';
export type ChartKind = 'count' | 'latency' | 'heatmap';
export type ResultMode = 'spans' | 'traces';

export interface SearchState {
  range: TimeRange;
  filters: UiFilter[];
  /** Facet key -> selected values (matched with `in`). Keys with no values are absent. */
  selections: Record<string, Scalar[]>;
  durationMinNs: bigint | null;
  durationMaxNs: bigint | null;
  sort: { by: SortBy; ascending: boolean };
  columns: string[];
  extraFacets: string[];
  live: boolean;
  chart: ChartKind;
  mode: ResultMode;
  /** Traces mode: only traces with at least one error span. */
  tracesWithErrors: boolean;
}

export const DEFAULT_RANGE: TimeRange = { kind: 'relative', preset: '1h' };

export function defaultSearchState(): SearchState {
  return {
    range: DEFAULT_RANGE,
    filters: [],
    selections: {},
    durationMinNs: null,
    durationMaxNs: null,
    sort: { by: 'start', ascending: false },
    columns: [],
    extraFacets: [],
    live: false,
    chart: 'count',
    mode: 'spans',
    tracesWithErrors: false,
  };
}

const isScalar = (v: unknown): v is Scalar =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

function parseFilter(text: string): UiFilter | null {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(j) || j.length < 2 || j.length > 3) return null;
  const [key, op, value] = j as unknown[];
  if (typeof key !== 'string' || !key || !OPERATORS.includes(op as Operator)) return null;
  const f: UiFilter = { key, operator: op as Operator };
  if (j.length === 3) {
    if (Array.isArray(value)) {
      if (!value.every(isScalar)) return null;
      f.value = value;
    } else if (isScalar(value)) {
      f.value = value;
    } else {
      return null;
    }
  }
  return f;
}

function parseSelection(text: string): [string, Scalar[]] | null {
  try {
    const j: unknown = JSON.parse(text);
    if (!Array.isArray(j) || j.length !== 2) return null;
    const [key, values] = j as unknown[];
    if (typeof key !== 'string' || !key || !Array.isArray(values) || !values.every(isScalar)) return null;
    if (values.length === 0) return null;
    return [key, values];
  } catch {
    return null;
  }
}

function parseNs(text: string | null): bigint | null {
  return text !== null && /^\d{1,20}$/.test(text) ? BigInt(text) : null;
}

function parseMs(text: string | null): number | null {
  if (text === null || !/^\d{1,16}$/.test(text)) return null;
  return Number(text);
}

export function parseSearchState(params: URLSearchParams): SearchState {
  const s = defaultSearchState();
  const start = parseMs(params.get('start'));
  const end = parseMs(params.get('end'));
  const preset = params.get('range');
  if (start !== null && end !== null && end >= start) {
    s.range = { kind: 'absolute', startMs: start, endMs: end };
  } else if (preset && (RANGE_PRESETS as readonly string[]).includes(preset)) {
    s.range = { kind: 'relative', preset: preset as RangePreset };
  }
  for (const f of params.getAll('filter')) {
    const parsed = parseFilter(f);
    if (parsed) s.filters.push(parsed);
  }
  for (const sel of params.getAll('sel')) {
    const parsed = parseSelection(sel);
    if (parsed) s.selections[parsed[0]] = parsed[1];
  }
  s.durationMinNs = parseNs(params.get('dmin'));
  s.durationMaxNs = parseNs(params.get('dmax'));
  if (params.get('sort') === 'duration') s.sort.by = 'duration';
  if (params.get('order') === 'asc') s.sort.ascending = true;
  s.columns = unique(params.getAll('col').filter(Boolean));
  s.extraFacets = unique(params.getAll('facet').filter(Boolean));
  s.live = params.get('live') === '1' && s.range.kind === 'relative';
  const chart = params.get('chart');
  if (chart === 'latency' || chart === 'heatmap') s.chart = chart;
  if (params.get('mode') === 'traces') s.mode = 'traces';
  s.tracesWithErrors = params.get('terr') === '1';
  return s;
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

export function serializeSearchState(s: SearchState): URLSearchParams {
  const p = new URLSearchParams();
  if (s.range.kind === 'absolute') {
    p.set('start', String(Math.round(s.range.startMs)));
    p.set('end', String(Math.round(s.range.endMs)));
  } else if (s.range.preset !== '1h') {
    p.set('range', s.range.preset);
  }
  for (const f of s.filters) {
    p.append('filter', JSON.stringify(f.value === undefined ? [f.key, f.operator] : [f.key, f.operator, f.value]));
  }
  for (const key of Object.keys(s.selections).sort()) {
    const values = s.selections[key];
    if (values.length) p.append('sel', JSON.stringify([key, values]));
  }
  if (s.durationMinNs !== null) p.set('dmin', s.durationMinNs.toString());
  if (s.durationMaxNs !== null) p.set('dmax', s.durationMaxNs.toString());
  if (s.sort.by !== 'start') p.set('sort', s.sort.by);
  if (s.sort.ascending) p.set('order', 'asc');
  for (const c of s.columns) p.append('col', c);
  for (const f of s.extraFacets) p.append('facet', f);
  if (s.live && s.range.kind === 'relative') p.set('live', '1');
  if (s.chart !== 'count') p.set('chart', s.chart);
  if (s.mode !== 'spans') p.set('mode', s.mode);
  if (s.tracesWithErrors) p.set('terr', '1');
  return p;
}

/** The timeframe to send for a range, evaluated at `nowMs` for relative ranges. */
export function timeframeOf(range: TimeRange, nowMs: number): Timeframe {
  if (range.kind === 'absolute') {
    return { startTimeUnixNanoSec: msToNs(range.startMs), endTimeUnixNanoSec: msToNs(range.endMs) };
  }
  return { startTimeUnixNanoSec: msToNs(nowMs - PRESET_MS[range.preset]), endTimeUnixNanoSec: msToNs(nowMs) };
}

export function toSearchFilter(f: UiFilter): SearchFilter {
  const kv: SearchFilter['keyValueFilter'] = { key: f.key, operator: f.operator };
  if (f.value !== undefined && f.operator !== 'exists' && f.operator !== 'not_exists') kv.value = f.value;
  return { keyValueFilter: kv };
}

export const DURATION_KEY = 'externalFields.durationNano';

/**
 * Every filter of the state as API filters. `exceptSelection` leaves one facet's own selection
 * out (a facet counts its values under all the other filters); `exceptDuration` leaves out the
 * duration bounds (the duration facet's own statistics).
 */
export function apiFilters(
  s: SearchState,
  opts: { exceptSelection?: string; exceptDuration?: boolean } = {},
): SearchFilter[] {
  const out = s.filters.map(toSearchFilter);
  for (const key of Object.keys(s.selections).sort()) {
    if (key === opts.exceptSelection) continue;
    const values = s.selections[key];
    if (values.length) out.push({ keyValueFilter: { key, operator: 'in', value: values } });
  }
  if (!opts.exceptDuration) {
    // Numbers in the API are JSON numbers; durations up to 2^53 ns (104 days) are exact.
    if (s.durationMinNs !== null) {
      out.push({ keyValueFilter: { key: DURATION_KEY, operator: 'gte', value: Number(s.durationMinNs) } });
    }
    if (s.durationMaxNs !== null) {
      out.push({ keyValueFilter: { key: DURATION_KEY, operator: 'lte', value: Number(s.durationMaxNs) } });
    }
  }
  return out;
}

/** Human text of a filter, e.g. `span.name = "GET /"`, `http.status_code in (500, 503)`. */
export function describeFilter(f: UiFilter): string {
  const sym: Record<Operator, string> = {
    equals: '=',
    not_equals: '≠',
    in: 'in',
    not_in: 'not in',
    contains: 'contains',
    not_contains: 'not contains',
    exists: 'exists',
    not_exists: 'does not exist',
    gt: '>',
    gte: '≥',
    lt: '<',
    lte: '≤',
  };
  const v = (x: Scalar) => (typeof x === 'string' ? JSON.stringify(x) : String(x));
  if (f.operator === 'exists' || f.operator === 'not_exists') return `${f.key} ${sym[f.operator]}`;
  const value = Array.isArray(f.value) ? `(${f.value.map(v).join(', ')})` : f.value === undefined ? '' : v(f.value);
  return `${f.key} ${sym[f.operator]} ${value}`;
}
