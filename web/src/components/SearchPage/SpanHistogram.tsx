// Spans over time for the current search (errors stacked in red), from the histograms endpoint.
// Dragging across the chart zooms the search to that absolute range.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo, useRef, useState } from 'react';
import { getHistograms } from '../../api/client';
import { timeframeKey } from '../../api/hooks';
import type { SearchFilter, Timeframe } from '../../api/types';
import { ERROR_COLOR } from '../../model/colors';
import { formatTimestamp } from '../../model/format';
import { nsToMs } from '../../model/span';

const BUCKETS = 60;
const HEIGHT = 64;

interface Props {
  timeframe: Timeframe;
  filters: SearchFilter[];
  onZoom: (startMs: number, endMs: number) => void;
}

export function SpanHistogram({ timeframe, filters, onZoom }: Props) {
  const startNs = timeframe.startTimeUnixNanoSec;
  const endNs = timeframe.endTimeUnixNanoSec;
  const interval = (endNs - startNs) / BigInt(BUCKETS) || 1n;
  const q = useQuery({
    queryKey: ['histogram', timeframeKey(timeframe), JSON.stringify(filters)],
    queryFn: ({ signal }) =>
      getHistograms(
        {
          timeframe,
          filters,
          interval,
          intervalKey: 'span.startTimeUnixNano',
          aggregations: { spans: { func: 'COUNT', groupBy: 'span.status.code', maxGroups: 3 } },
        },
        signal,
      ),
    placeholderData: keepPreviousData,
  });

  const bars = useMemo(() => {
    const out = Array.from({ length: BUCKETS }, () => ({ total: 0, errors: 0 }));
    const h = q.data?.histograms?.[0];
    for (const b of h?.buckets ?? []) {
      const key = BigInt(b.bucketKey);
      const i = Number((key - startNs) / interval);
      if (i < 0 || i >= BUCKETS) continue;
      const d = b.data;
      if (typeof d === 'number') out[i].total += d;
      else if ('subBuckets' in d && Array.isArray(d.subBuckets)) {
        const g = d as { totalCount: number; subBuckets: { key: unknown; count: number }[] };
        out[i].total += Number(g.totalCount);
        for (const s of g.subBuckets) if (s.key === 'Error') out[i].errors += Number(s.count);
      }
    }
    return out;
  }, [q.data, startNs, interval]);
  const max = Math.max(1, ...bars.map((b) => b.total));

  const svgRef = useRef<SVGSVGElement>(null);
  const [drag, setDrag] = useState<[number, number] | null>(null);
  const fraction = (clientX: number) => {
    const r = svgRef.current!.getBoundingClientRect();
    return Math.min(1, Math.max(0, (clientX - r.left) / r.width));
  };
  const startMs = nsToMs(startNs);
  const spanMs = nsToMs(endNs) - startMs;

  if (q.isError) return null;
  return (
    <div className="histogram" data-testid="histogram">
      <svg
        ref={svgRef}
        viewBox={`0 0 ${BUCKETS} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label="Spans over time; drag to zoom"
        onMouseDown={(e) => setDrag([fraction(e.clientX), fraction(e.clientX)])}
        onMouseMove={(e) => drag && setDrag([drag[0], fraction(e.clientX)])}
        onMouseUp={() => {
          if (drag && Math.abs(drag[1] - drag[0]) > 0.01) {
            const [a, b] = drag[0] < drag[1] ? drag : [drag[1], drag[0]];
            onZoom(Math.floor(startMs + a * spanMs), Math.ceil(startMs + b * spanMs));
          }
          setDrag(null);
        }}
        onMouseLeave={() => setDrag(null)}
      >
        {bars.map((b, i) => {
          const h = (b.total / max) * (HEIGHT - 2);
          const eh = (b.errors / max) * (HEIGHT - 2);
          return (
            <g key={i}>
              <title>{`${formatTimestamp(startMs + (i * spanMs) / BUCKETS, false)}: ${b.total} spans, ${b.errors} errors`}</title>
              <rect x={i + 0.1} y={HEIGHT - h} width={0.8} height={h} className="bar" />
              {eh > 0 && <rect x={i + 0.1} y={HEIGHT - eh} width={0.8} height={eh} fill={ERROR_COLOR} />}
            </g>
          );
        })}
        {drag && (
          <rect
            x={Math.min(drag[0], drag[1]) * BUCKETS}
            y={0}
            width={Math.abs(drag[1] - drag[0]) * BUCKETS}
            height={HEIGHT}
            className="drag-window"
          />
        )}
      </svg>
      <div className="histogram-axis muted small">
        <span>{formatTimestamp(startMs, false)}</span>
        <span>{formatTimestamp(startMs + spanMs, false)}</span>
      </div>
    </div>
  );
}
