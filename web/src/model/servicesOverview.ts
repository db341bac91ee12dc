// The services overview: per service (and, expanded, per operation of one service) requests (its
// server and consumer spans), errors and their series over time, from two /v1/histograms answers
// (all requests, and the failed ones) counted per group value; latency percentiles per group from
// a third, one-bucket PERCENTILES histogram grouped the same way.
import type { DependencyEdge, HistogramResponse, SearchFilter } from '../api/types';
import { serviceNodeId, type ServiceGraph } from './serviceGraph';

export const SERVICE_KEY = 'resource.attributes.service.name';

/** The spans that are requests a service answers: server and consumer spans. */
export const REQUEST_FILTER: SearchFilter = { keyValueFilter: { key: 'span.kind', operator: 'in', value: ['Server', 'Consumer'] } };
export const ERROR_FILTER: SearchFilter = { keyValueFilter: { key: 'span.status.code', operator: 'equals', value: 'Error' } };

/** An interval longer than any timestamp: the whole range falls in one histogram bucket. */
export const ONE_BUCKET = 2n ** 63n;

export interface ServiceRow {
  /** The group's value: a service name, or an operation name within one service. */
  service: string;
  requests: number;
  errors: number;
  /** Requests and errors per slot of the chart grid (slot i starts at gridStart + i * interval). */
  requestSeries: number[];
  errorSeries: number[];
}

function perService(resp: HistogramResponse | undefined, gridStart: bigint, interval: bigint, slots: number) {
  const out = new Map<string, number[]>();
  for (const b of resp?.histograms[0]?.buckets ?? []) {
    const i = Number((BigInt(b.bucketKey) - gridStart) / interval);
    const subs = typeof b.data === 'object' ? (b.data as { subBuckets?: unknown }).subBuckets : undefined;
    if (i < 0 || i >= slots || !Array.isArray(subs)) continue;
    for (const s of subs as { key: unknown; count: number }[]) {
      const name = String(s.key);
      let series = out.get(name);
      if (!series) out.set(name, (series = new Array<number>(slots).fill(0)));
      series[i] += Number(s.count);
    }
  }
  return out;
}

/** One row per service that answered a request, by requests descending then name. */
export function serviceRows(
  requests: HistogramResponse | undefined,
  errors: HistogramResponse | undefined,
  gridStart: bigint,
  interval: bigint,
  slots: number,
): ServiceRow[] {
  const req = perService(requests, gridStart, interval, slots);
  const err = perService(errors, gridStart, interval, slots);
  const sum = (s: number[]) => s.reduce((a, b) => a + b, 0);
  return [...req.entries()]
    .map(([service, requestSeries]) => {
      const errorSeries = err.get(service) ?? new Array<number>(slots).fill(0);
      return { service, requests: sum(requestSeries), errors: sum(errorSeries), requestSeries, errorSeries };
    })
    .sort((a, b) => b.requests - a.requests || (a.service < b.service ? -1 : 1));
}

export interface GroupLatency {
  p50: number;
  p99: number;
}

/**
 * p50 and p99 per group value from a PERCENTILES histogram grouped by the key (percentiles 50
 * and 99), summed over its buckets (one, with ONE_BUCKET). Groups without a number are left out.
 */
export function groupLatency(resp: HistogramResponse | undefined): Map<string, GroupLatency> {
  const out = new Map<string, GroupLatency>();
  for (const b of resp?.histograms[0]?.buckets ?? []) {
    const subs = typeof b.data === 'object' ? (b.data as { subBuckets?: unknown }).subBuckets : undefined;
    if (!Array.isArray(subs)) continue;
    for (const s of subs as { key: unknown; percentiles?: Record<string, unknown> }[]) {
      const p50 = Number(s.percentiles?.['50.0']);
      const p99 = Number(s.percentiles?.['99.0']);
      if (Number.isFinite(p50) && Number.isFinite(p99)) out.set(String(s.key), { p50, p99 });
    }
  }
  return out;
}

/** SVG points of a sparkline `width` x `height` for `series`, scaled to `max` (its own maximum). */
export function sparkline(series: number[], width: number, height: number, max = Math.max(1, ...series)): string {
  const step = series.length > 1 ? width / (series.length - 1) : 0;
  return series.map((v, i) => `${Number((i * step).toFixed(2))},${Number((height - (v / max) * height).toFixed(2))}`).join(' ');
}

/**
 * The services' call graph of the range: a node per service (its requests and errors), an edge per
 * pair of services one calls the other, with the calls that failed (calls between spans of one
 * service are left out).
 */
export function servicesGraph(rows: readonly ServiceRow[], links: readonly DependencyEdge[]): ServiceGraph {
  const nodes = new Map(rows.map((r) => [r.service, { id: serviceNodeId(r.service), type: 'service' as const, label: r.service, spanCount: r.requests, errorCount: r.errors }]));
  const edges = links
    .filter((l) => l.parent !== l.child)
    .map((l) => {
      for (const s of [l.parent, l.child]) {
        if (!nodes.has(s)) nodes.set(s, { id: serviceNodeId(s), type: 'service' as const, label: s, spanCount: 0, errorCount: 0 });
      }
      return { id: `${serviceNodeId(l.parent)}->${serviceNodeId(l.child)}`, from: serviceNodeId(l.parent), to: serviceNodeId(l.child), calls: Number(l.callCount), errors: Number(l.errorCount) };
    })
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  return { nodes: [...nodes.values()].sort((a, b) => (a.label < b.label ? -1 : 1)), edges };
}
