// The current search over time, from one /v1/histograms request (model/chartRequests.ts): spans
// per bucket (errors in red), the p50/p90/p99 duration per bucket, or a heatmap of durations
// (HeatmapChart). Dragging across a chart zooms the search to that absolute range; on the heatmap
// a rectangle also selects durations.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { getHistograms } from '../../api/client';
import { timeframeKey } from '../../api/hooks';
import type { SearchFilter, Timeframe } from '../../api/types';
import { spanHistogramRequest } from '../../model/chartRequests';
import { ERROR_COLOR } from '../../model/colors';
import { heatmapCells } from '../../model/heatmap';
import { HeatmapChart } from './HeatmapChart';
import { formatDuration } from '../../model/format';
import { useTimeZone } from '../Layout/timeZone';
import type { ChartKind } from '../../model/searchState';
import { nsToMs } from '../../model/span';
import {
  LATENCY_LABELS,
  bucketWidthText,
  countBuckets,
  latencyBuckets,
  latencyPolylines,
} from '../../model/timeSeries';

const BUCKETS = 60;
const HEIGHT = 64;
/** The smallest visible error bar, in chart units (a bucket is 1 wide, the chart HEIGHT high). */
const MIN_ERROR_HEIGHT = 2;

interface Props {
  timeframe: Timeframe;
  filters: SearchFilter[];
  chart: ChartKind;
  onChart: (chart: ChartKind) => void;
  onZoom: (startMs: number, endMs: number) => void;
  /** A heatmap selection: an absolute range (null: keep the range) and a duration filter (null: keep it). */
  onBrush: (range: { startMs: number; endMs: number } | null, duration: { minNs: bigint | null; maxNs: bigint | null } | null) => void;
  /** Told the number of matching spans in the range once known (undefined while unknown). */
  onTotal?: (total: number | undefined) => void;
}

export function SpanHistogram({ timeframe, filters, chart, onChart, onZoom, onBrush, onTotal }: Props) {
  const { formatTime } = useTimeZone();
  const startNs = timeframe.startTimeUnixNanoSec;
  const endNs = timeframe.endTimeUnixNanoSec;
  const interval = (endNs - startNs) / BigInt(BUCKETS) || 1n;
  // The server's buckets start at multiples of the interval: the chart's slots follow that grid,
  // from the slot holding the range's start, so the first (partial) bucket is drawn too.
  const gridStart = (startNs / interval) * interval;
  const slots = Number((endNs - gridStart) / interval) + 1;
  const q = useQuery({
    queryKey: ['histogram', chart, timeframeKey(timeframe), JSON.stringify(filters)],
    queryFn: ({ signal }) =>
      getHistograms(spanHistogramRequest(timeframe, filters, interval, chart), signal),
    placeholderData: keepPreviousData,
  });

  const bars = useMemo(() => countBuckets(q.data, 'spans', gridStart, interval, slots), [q.data, gridStart, interval, slots]);
  const latency = useMemo(() => latencyBuckets(q.data, 'latency', gridStart, interval, slots), [q.data, gridStart, interval, slots]);
  const heatmap = useMemo(() => heatmapCells(q.data, 'heat', gridStart, interval, slots), [q.data, gridStart, interval, slots]);
  const maxCount = Math.max(0, ...bars.map((b) => b.total));
  // Every matching span is in one bucket: their sum is the search's total.
  const total = q.data && !q.isPlaceholderData ? bars.reduce((n, b) => n + b.total, 0) : undefined;
  useEffect(() => onTotal?.(total), [onTotal, total]);
  const maxLatency = Math.max(0, ...latency.map((b) => (b ? b.p99 : 0)));

  const svgRef = useRef<SVGSVGElement>(null);
  const [drag, setDrag] = useState<[number, number] | null>(null);
  const fraction = (clientX: number) => {
    const r = svgRef.current!.getBoundingClientRect();
    return Math.min(1, Math.max(0, (clientX - r.left) / r.width));
  };
  const startMs = nsToMs(startNs);
  const spanMs = nsToMs(endNs) - startMs;
  // The drawn slots, in ms (a little wider than the range: whole buckets at both ends).
  const chartStartMs = nsToMs(gridStart);
  const slotMs = nsToMs(interval);
  const chartSpanMs = slots * slotMs;
  const bucketTime = (i: number) => formatTime(chartStartMs + i * slotMs, false);

  if (q.isError) return null;
  const showLatency = chart === 'latency';
  const showHeatmap = chart === 'heatmap';
  const toMs = ([a, b]: [number, number]) => ({ startMs: Math.floor(chartStartMs + a * chartSpanMs), endMs: Math.ceil(chartStartMs + b * chartSpanMs) });
  return (
    <div className="histogram" data-testid="histogram" data-chart={chart} data-start-ns={String(gridStart)} data-interval-ns={String(interval)}>
      <div className="histogram-head small">
        <div className="segmented" role="group" aria-label="Chart">
          <button type="button" className={chart === 'count' ? 'selected' : undefined} aria-pressed={chart === 'count'} onClick={() => onChart('count')} data-testid="chart-count">
            Spans
          </button>
          <button type="button" className={showLatency ? 'selected' : undefined} aria-pressed={showLatency} onClick={() => onChart('latency')} data-testid="chart-latency">
            Latency
          </button>
          <button type="button" className={showHeatmap ? 'selected' : undefined} aria-pressed={showHeatmap} onClick={() => onChart('heatmap')} data-testid="chart-heatmap">
            Heatmap
          </button>
        </div>
        {showHeatmap ? (
          <span className="legend muted">darker: more spans · drag a rectangle to select time and duration</span>
        ) : showLatency ? (
          <span className="legend muted">
            {LATENCY_LABELS.map((l) => (
              <span key={l} className={`legend-item latency-${l}`}>
                {l}
              </span>
            ))}
          </span>
        ) : (
          <span className="legend muted">
            <span className="legend-item spans">spans</span>
            <span className="legend-item errors">errors</span>
          </span>
        )}
        <span className="muted" data-testid="chart-scale">
          {showHeatmap
            ? `max ${heatmap.maxCount.toLocaleString('en-US')} per cell`
            : showLatency
              ? `max ${maxLatency ? formatDuration(maxLatency) : '–'}`
              : `max ${maxCount.toLocaleString('en-US')} per bar`}{' '}
          · 1 {showHeatmap ? 'column' : 'bar'} = {bucketWidthText(interval)}
        </span>
      </div>
      {showHeatmap ? (
        <HeatmapChart heatmap={heatmap} slots={slots} slotTime={bucketTime} onBrush={(time, duration) => onBrush(time && toMs(time), duration)} />
      ) : (
      <svg
        ref={svgRef}
        viewBox={`0 0 ${slots} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={showLatency ? 'Latency percentiles over time; drag to zoom' : 'Spans over time; drag to zoom'}
        data-start-ns={String(gridStart)}
        data-interval-ns={String(interval)}
        data-max-ns={showLatency ? String(maxLatency) : undefined}
        data-max-count={showLatency ? undefined : String(maxCount)}
        onMouseDown={(e) => setDrag([fraction(e.clientX), fraction(e.clientX)])}
        onMouseMove={(e) => drag && setDrag([drag[0], fraction(e.clientX)])}
        onMouseUp={() => {
          if (drag && Math.abs(drag[1] - drag[0]) > 0.01) {
            const { startMs: from, endMs: to } = toMs(drag[0] < drag[1] ? drag : [drag[1], drag[0]]);
            onZoom(from, to);
          }
          setDrag(null);
        }}
        onMouseLeave={() => setDrag(null)}
      >
        {showLatency ? (
          <>
            {latency.map(
              (b, i) =>
                b && (
                  <rect key={i} x={i} y={0} width={1} height={HEIGHT} className="hover-slot" data-testid="latency-bucket" data-index={i} data-p50={b.p50} data-p90={b.p90} data-p99={b.p99}>
                    <title>{`${bucketTime(i)}: p50 ${formatDuration(b.p50)}, p90 ${formatDuration(b.p90)}, p99 ${formatDuration(b.p99)}`}</title>
                  </rect>
                ),
            )}
            {LATENCY_LABELS.map((l) =>
              latencyPolylines(latency, l, maxLatency, HEIGHT).map((points, k) => (
                <polyline key={`${l}-${k}`} points={points} className={`latency-line latency-${l}`} vectorEffect="non-scaling-stroke" />
              )),
            )}
          </>
        ) : (
          bars.map((b, i) => {
            const h = maxCount ? (b.total / maxCount) * (HEIGHT - 2) : 0;
            const eh = b.errors && maxCount ? Math.max(MIN_ERROR_HEIGHT, (b.errors / maxCount) * (HEIGHT - 2)) : 0;
            return (
              <g key={i} data-testid={b.total ? 'count-bucket' : undefined} data-total={b.total} data-errors={b.errors}>
                <title>{`${bucketTime(i)}: ${b.total} spans, ${b.errors} errors`}</title>
                <rect x={i + 0.1} y={HEIGHT - h} width={0.8} height={h} className="bar" />
                {eh > 0 && <rect x={i + 0.1} y={HEIGHT - eh} width={0.8} height={eh} fill={ERROR_COLOR} />}
              </g>
            );
          })
        )}
        {drag && (
          <rect
            x={Math.min(drag[0], drag[1]) * slots}
            y={0}
            width={Math.abs(drag[1] - drag[0]) * slots}
            height={HEIGHT}
            className="drag-window"
          />
        )}
      </svg>
      )}
      <div className="histogram-axis muted small">
        <span data-testid="axis-start">{formatTime(startMs, false)}</span>
        <span data-testid="axis-end">{formatTime(startMs + spanMs, false)}</span>
      </div>
    </div>
  );
}
