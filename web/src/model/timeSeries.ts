// The search page's charts over time, from one /v1/histograms answer: spans per bucket (errors
// apart) and the duration percentiles per bucket. Pure functions; the buckets are the `n` equal
// slices of [startNs, startNs + n * intervalNs), and the server's buckets outside them are ignored.
import type { HistogramResponse } from '../api/types';

/** The percentiles the latency chart draws, as the server labels them ("50.0", ...). */
export const LATENCY_PERCENTILES = [50, 90, 99] as const;
export type LatencyLabel = 'p50' | 'p90' | 'p99';
export const LATENCY_LABELS: readonly LatencyLabel[] = ['p50', 'p90', 'p99'];

export interface CountBucket {
  total: number;
  errors: number;
}

/** Per bucket, the percentiles in ns; null where no span started in the bucket. */
export type LatencyBucket = Record<LatencyLabel, number> | null;

function bucketIndex(bucketKey: number | bigint, startNs: bigint, intervalNs: bigint, n: number): number {
  const key = BigInt(bucketKey);
  if (key < startNs) return -1;
  const i = Number((key - startNs) / intervalNs);
  return i < n ? i : -1;
}

function histogram(resp: HistogramResponse | undefined, label: string) {
  return resp?.histograms.find((h) => h.histogramLabel === label);
}

/** Spans and error spans per bucket from a COUNT grouped by span.status.code. */
export function countBuckets(
  resp: HistogramResponse | undefined,
  label: string,
  startNs: bigint,
  intervalNs: bigint,
  n: number,
): CountBucket[] {
  const out = Array.from({ length: n }, () => ({ total: 0, errors: 0 }));
  for (const b of histogram(resp, label)?.buckets ?? []) {
    const i = bucketIndex(b.bucketKey, startNs, intervalNs, n);
    if (i < 0) continue;
    const d = b.data;
    if (typeof d === 'number') {
      out[i].total += d;
    } else if ('subBuckets' in d && Array.isArray(d.subBuckets)) {
      out[i].total += Number(d.totalCount);
      for (const s of d.subBuckets) if (s.key === 'Error') out[i].errors += Number(s.count);
    }
  }
  return out;
}

/** p50/p90/p99 of the duration per bucket from a PERCENTILES aggregation over durationNano. */
export function latencyBuckets(
  resp: HistogramResponse | undefined,
  label: string,
  startNs: bigint,
  intervalNs: bigint,
  n: number,
): LatencyBucket[] {
  const out: LatencyBucket[] = Array.from({ length: n }, () => null);
  for (const b of histogram(resp, label)?.buckets ?? []) {
    const i = bucketIndex(b.bucketKey, startNs, intervalNs, n);
    const d = b.data as Record<string, unknown>;
    if (i < 0 || typeof d !== 'object' || d === null || 'subBuckets' in d) continue;
    const value = (p: number) => Number(d[p.toFixed(1)]);
    const [p50, p90, p99] = LATENCY_PERCENTILES.map(value);
    if ([p50, p90, p99].every(Number.isFinite)) out[i] = { p50, p90, p99 };
  }
  return out;
}

/**
 * SVG polyline point lists for one percentile: one list per run of non-empty buckets (a gap where
 * no span started), x at the bucket's middle, y scaled so `maxNs` touches the top.
 */
export function latencyPolylines(
  buckets: LatencyBucket[],
  which: LatencyLabel,
  maxNs: number,
  height: number,
): string[] {
  const runs: string[] = [];
  let points: string[] = [];
  buckets.forEach((b, i) => {
    if (b === null) {
      if (points.length) runs.push(points.join(' '));
      points = [];
      return;
    }
    const y = height - (maxNs > 0 ? (b[which] / maxNs) * (height - 2) : 0);
    points.push(`${i + 0.5},${Number(y.toFixed(3))}`);
  });
  if (points.length) runs.push(points.join(' '));
  return runs;
}

/** The width of one bucket in words, e.g. "1 min", "30 s", "2 h". */
export function bucketWidthText(intervalNs: bigint): string {
  const ms = Number(intervalNs / 1_000_000n);
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
    [1, 'ms'],
  ];
  for (const [size, unit] of units) {
    if (ms >= size) {
      const v = ms / size;
      return `${Number.isInteger(v) ? v : v.toFixed(1)} ${unit}`;
    }
  }
  return `${intervalNs} ns`;
}
