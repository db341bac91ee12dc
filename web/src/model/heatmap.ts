// The duration heatmap: spans per (time bucket × duration range) from a RANGE_COUNT histogram over
// the duration, and what a brush over it selects. Pure functions; time buckets are the `n` equal
// slices of [startNs, startNs + n * intervalNs) as in timeSeries.ts.
import type { HistogramResponse } from '../api/types';
import { formatDuration } from './format';

/**
 * Lower bounds of the duration ranges, in ns: 0, then 1-2-5 steps from 1 µs to 1000 s. A span
 * falls in the range of the largest bound at or below its duration (the server's RANGE_COUNT).
 */
export const DURATION_BOUNDS_NS: readonly number[] = (() => {
  const out = [0];
  for (let decade = 1e3; decade < 1e12; decade *= 10) out.push(decade, 2 * decade, 5 * decade);
  out.push(1e12);
  return out;
})();

export interface Heatmap {
  /** Indexes into DURATION_BOUNDS_NS of the rows drawn, ascending: from the lowest to the highest non-empty range. */
  rows: number[];
  /** counts[slot][row]: spans in that time bucket and duration range. */
  counts: number[][];
  maxCount: number;
  total: number;
}

/** The heatmap cells of a RANGE_COUNT histogram; buckets outside the slots are ignored. */
export function heatmapCells(
  resp: HistogramResponse | undefined,
  label: string,
  startNs: bigint,
  intervalNs: bigint,
  n: number,
  bounds: readonly number[] = DURATION_BOUNDS_NS,
): Heatmap {
  const byBound = new Map(bounds.map((b, i) => [b, i]));
  const perSlot: Map<number, number>[] = Array.from({ length: n }, () => new Map());
  let lo = Infinity;
  let hi = -Infinity;
  for (const b of resp?.histograms.find((h) => h.histogramLabel === label)?.buckets ?? []) {
    const key = BigInt(b.bucketKey);
    if (key < startNs) continue;
    const slot = Number((key - startNs) / intervalNs);
    const d = b.data;
    if (slot >= n || typeof d !== 'object' || d === null || !('subBuckets' in d) || !Array.isArray(d.subBuckets)) continue;
    for (const s of d.subBuckets) {
      const row = byBound.get(Number(s.key));
      if (row === undefined) continue;
      perSlot[slot].set(row, (perSlot[slot].get(row) ?? 0) + Number(s.count));
      lo = Math.min(lo, row);
      hi = Math.max(hi, row);
    }
  }
  const rows = lo <= hi ? Array.from({ length: hi - lo + 1 }, (_, i) => lo + i) : [];
  let maxCount = 0;
  let total = 0;
  const counts = perSlot.map((m) =>
    rows.map((r) => {
      const c = m.get(r) ?? 0;
      maxCount = Math.max(maxCount, c);
      total += c;
      return c;
    }),
  );
  return { rows, counts, maxCount, total };
}

/** A cell's shade in [0, 1]: 0 for none, then log-scaled so one span is visible next to thousands. */
export function cellShade(count: number, maxCount: number): number {
  if (count <= 0 || maxCount <= 0) return 0;
  return 0.15 + (0.85 * Math.log1p(count)) / Math.log1p(maxCount);
}

/** A row's range in words: "1 ms – 2 ms", "< 1 µs", "≥ 1000 s". */
export function rangeLabel(row: number, bounds: readonly number[] = DURATION_BOUNDS_NS): string {
  const lo = bounds[row];
  const hi = bounds[row + 1];
  if (hi === undefined) return `≥ ${formatDuration(lo)}`;
  if (lo === 0) return `< ${formatDuration(hi)}`;
  return `${formatDuration(lo)} – ${formatDuration(hi)}`;
}

/**
 * The duration filter that selects exactly the spans of rows [fromRow, toRow] (indexes into
 * bounds, either order): at least the lower row's bound, at most one ns under the bound above the
 * upper row. null where the selection is unbounded on that side.
 */
export function durationRangeOfRows(
  fromRow: number,
  toRow: number,
  bounds: readonly number[] = DURATION_BOUNDS_NS,
): { minNs: bigint | null; maxNs: bigint | null } {
  const lo = Math.min(fromRow, toRow);
  const hi = Math.max(fromRow, toRow);
  const above = bounds[hi + 1];
  return {
    minNs: lo > 0 && bounds[lo] > 0 ? BigInt(bounds[lo]) : null,
    maxNs: above === undefined ? null : BigInt(above) - 1n,
  };
}
