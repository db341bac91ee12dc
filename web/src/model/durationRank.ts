// "Is this span slow for what it is?": where a span's duration falls among the spans of the same
// service and operation, from their duration percentiles (the statistics endpoint, nearest rank,
// approximate: within 1%).
import type { StatisticsResponse } from '../api/types';

/** The percentiles asked for, as the statistics endpoint names them. */
export const RANK_PERCENTILES = [10, 25, 50, 75, 90, 95, 99] as const;
export const RANK_STATISTICS = ['count', ...RANK_PERCENTILES.map((p) => `p${p}`)];

export interface DurationRank {
  /** Spans of the operation in the window (the span itself included). */
  count: number;
  /** The highest listed percentile the duration reaches: "slower than p% of them"; 0 if none. */
  atLeastPercentile: number;
  p50Ns: number;
  p99Ns: number;
}

/** null when the answer has no count or no percentiles (no span of the operation matched). */
export function durationRank(durationNs: bigint, stats: StatisticsResponse['statistics'] | undefined): DurationRank | null {
  const count = Number(stats?.count ?? NaN);
  if (!stats || !Number.isFinite(count) || count < 1) return null;
  const value = (p: number) => Number(stats[`p${p}`]);
  if (!RANK_PERCENTILES.every((p) => Number.isFinite(value(p)))) return null;
  const d = Number(durationNs);
  let atLeast = 0;
  for (const p of RANK_PERCENTILES) if (d >= value(p)) atLeast = p;
  return { count, atLeastPercentile: atLeast, p50Ns: value(50), p99Ns: value(99) };
}

/** "slower than 90% of them", "faster than most (below p10)", "the only one". */
export function rankText(r: DurationRank): string {
  if (r.count === 1) return 'the only span of its operation in the window';
  if (r.atLeastPercentile === 0) return `faster than 90% of ${r.count.toLocaleString('en-US')} spans of its operation`;
  return `as slow as or slower than ${r.atLeastPercentile}% of ${r.count.toLocaleString('en-US')} spans of its operation`;
}
