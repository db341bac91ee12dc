// The duration heatmap: time across, duration ranges up (log-scaled, 1-2-5 steps), each cell shaded
// by its span count. Dragging a rectangle selects its time range and its duration rows: the search
// narrows to exactly the spans in the selected cells (a flat drag selects time only, an upright one
// durations only).
import { useRef, useState } from 'react';
import type { Heatmap } from '../../model/heatmap';
import { DURATION_BOUNDS_NS, cellShade, durationRangeOfRows, rangeLabel } from '../../model/heatmap';

interface Props {
  heatmap: Heatmap;
  slots: number;
  /** A slot's start in words, for the tooltips. */
  slotTime: (slot: number) => string;
  /**
   * Told a drag's selection: the time as fractions of the chart's width (null for a vertical drag)
   * and the duration filter of the rows it covered (null for a horizontal drag).
   */
  onBrush: (time: [number, number] | null, duration: { minNs: bigint | null; maxNs: bigint | null } | null) => void;
}

const ROW_HEIGHT = 10;
/** Below this fraction of the chart a drag's extent counts as none. */
const MIN_DRAG = 0.01;

type Point = [number, number];

export function HeatmapChart({ heatmap, slots, slotTime, onBrush }: Props) {
  const { rows, counts, maxCount } = heatmap;
  const svgRef = useRef<SVGSVGElement>(null);
  const [drag, setDrag] = useState<[Point, Point] | null>(null);
  const height = Math.max(1, rows.length) * ROW_HEIGHT;
  const at = (e: React.MouseEvent): Point => {
    const r = svgRef.current!.getBoundingClientRect();
    const clamp = (v: number) => Math.min(1, Math.max(0, v));
    return [clamp((e.clientX - r.left) / r.width), clamp((e.clientY - r.top) / r.height)];
  };
  // Rows are drawn top-down from the longest range.
  const rowAt = (fy: number) => rows[rows.length - 1 - Math.min(rows.length - 1, Math.floor(fy * rows.length))];

  return (
    <div className="heatmap">
      <div className="heatmap-axis muted small" style={{ height: height + 2 }}>
        <span data-testid="heatmap-top">{rows.length ? rangeLabel(rows[rows.length - 1]) : ''}</span>
        <span data-testid="heatmap-bottom">{rows.length ? rangeLabel(rows[0]) : ''}</span>
      </div>
      <svg
        ref={svgRef}
        viewBox={`0 0 ${slots} ${height}`}
        preserveAspectRatio="none"
        style={{ height: height + 2 }}
        role="img"
        aria-label="Span durations over time; drag a rectangle to select time and duration"
        data-testid="heatmap"
        data-rows={rows.map((r) => DURATION_BOUNDS_NS[r]).join(',')}
        data-max-count={maxCount}
        onMouseDown={(e) => {
          const p = at(e);
          setDrag([p, p]);
        }}
        onMouseMove={(e) => drag && setDrag([drag[0], at(e)])}
        onMouseUp={() => {
          if (drag && rows.length) {
            const [[x0, y0], [x1, y1]] = drag;
            const wide = Math.abs(x1 - x0) > MIN_DRAG;
            const tall = Math.abs(y1 - y0) > MIN_DRAG;
            if (wide || tall) {
              onBrush(wide ? [Math.min(x0, x1), Math.max(x0, x1)] : null, tall ? durationRangeOfRows(rowAt(y0), rowAt(y1)) : null);
            }
          }
          setDrag(null);
        }}
        onMouseLeave={() => setDrag(null)}
      >
        {counts.map((col, slot) =>
          col.map((count, i) =>
            count > 0 ? (
              <rect
                key={`${slot}-${i}`}
                x={slot}
                y={(rows.length - 1 - i) * ROW_HEIGHT}
                width={1}
                height={ROW_HEIGHT}
                className="heat-cell"
                fillOpacity={cellShade(count, maxCount)}
                data-testid="heat-cell"
                data-slot={slot}
                data-bound={DURATION_BOUNDS_NS[rows[i]]}
                data-count={count}
              >
                <title>{`${slotTime(slot)}, ${rangeLabel(rows[i])}: ${count.toLocaleString('en-US')} spans`}</title>
              </rect>
            ) : null,
          ),
        )}
        {drag && (
          <rect
            x={Math.min(drag[0][0], drag[1][0]) * slots}
            y={Math.min(drag[0][1], drag[1][1]) * height}
            width={Math.abs(drag[1][0] - drag[0][0]) * slots}
            height={Math.abs(drag[1][1] - drag[0][1]) * height}
            className="drag-window"
          />
        )}
      </svg>
    </div>
  );
}
