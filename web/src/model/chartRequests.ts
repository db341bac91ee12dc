// The statistics and histogram requests behind what a human reads duration percentiles off: the
// search page's duration facet and charts over time, and the services overview. Pure functions.
//
// `approximate: true` lets the server answer percentiles of the span duration within 1% relative
// error from per-block sketches (much faster on large stores; invisible on a chart or a facet);
// counts, min, max, avg and sum stay exact. So it is asked exactly where a duration percentile is:
// the duration facet's statistics, and a histogram request with a PERCENTILES of the duration.
// Requests without one are left as they were (exact either way). The span's own rank among its
// operation's durations (SpanDetails) stays exact: there a percentile is compared with one value.
import type { HistogramAggregation, HistogramRequest, SearchFilter, StatisticsRequest, Timeframe } from '../api/types';
import { DURATION_BOUNDS_NS } from './heatmap';
import { DURATION_KEY, type ChartKind } from './searchState';
import { ONE_BUCKET } from './servicesOverview';
import { LATENCY_PERCENTILES } from './timeSeries';

const INTERVAL_KEY = 'span.startTimeUnixNano';

/** What the duration facet shows: the count, the range and the percentiles in between. */
export const DURATION_FACET_STATISTICS = ['count', 'min', 'p50', 'p90', 'p99', 'max'];

/** The duration facet's statistics of the span duration (its percentiles approximate). */
export function durationFacetRequest(timeframe: Timeframe, filters: SearchFilter[]): StatisticsRequest & { timeframe: Timeframe; filters: SearchFilter[] } {
  return { timeframe, filters, desiredStatistics: DURATION_FACET_STATISTICS, approximate: true };
}

/** Whether any aggregation is a PERCENTILES of the span duration. */
export function hasDurationPercentiles(aggregations: Record<string, HistogramAggregation>): boolean {
  return Object.values(aggregations).some((a) => a.func === 'PERCENTILES' && a.key === DURATION_KEY);
}

/** A histogram request, asking for approximate percentiles when it has duration percentiles. */
export function histogramRequest(
  timeframe: Timeframe,
  filters: SearchFilter[],
  interval: bigint,
  aggregations: Record<string, HistogramAggregation>,
): HistogramRequest {
  const req: HistogramRequest = { timeframe, filters, interval, intervalKey: INTERVAL_KEY, aggregations };
  if (hasDurationPercentiles(aggregations)) req.approximate = true;
  return req;
}

/**
 * The search page's chart over time: spans per bucket by status always; the duration percentiles
 * (latency chart) or the duration ranges (heatmap) only when shown, as they cost the server a pass
 * over durations.
 */
export function spanHistogramRequest(timeframe: Timeframe, filters: SearchFilter[], interval: bigint, chart: ChartKind): HistogramRequest {
  const aggregations: Record<string, HistogramAggregation> = {
    spans: { func: 'COUNT', groupBy: 'span.status.code', maxGroups: 3 },
  };
  if (chart === 'latency') {
    aggregations.latency = {
      func: 'PERCENTILES',
      key: DURATION_KEY,
      aggregationParameters: { percentiles: [...LATENCY_PERCENTILES] },
    };
  }
  if (chart === 'heatmap') {
    aggregations.heat = {
      func: 'RANGE_COUNT',
      key: DURATION_KEY,
      aggregationParameters: { bounds: [...DURATION_BOUNDS_NS] },
    };
  }
  return histogramRequest(timeframe, filters, interval, aggregations);
}

/** The services overview's requests (or errors, with the error filter) per group and time bucket. */
export function servicesCountsRequest(timeframe: Timeframe, interval: bigint, filters: SearchFilter[], groupBy: string): HistogramRequest {
  return histogramRequest(timeframe, filters, interval, { requests: { func: 'COUNT', groupBy, maxGroups: 1000 } });
}

/** The services overview's p50 and p99 of the requests' durations per group, the whole range in one bucket. */
export function servicesLatencyRequest(timeframe: Timeframe, filters: SearchFilter[], groupBy: string): HistogramRequest {
  return histogramRequest(timeframe, filters, ONE_BUCKET, {
    latency: { func: 'PERCENTILES', key: DURATION_KEY, groupBy, maxGroups: 1000, aggregationParameters: { percentiles: [50, 99] } },
  });
}
