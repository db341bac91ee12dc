// The trace's service graph: services, databases, queues and external peers as nodes, calls with
// counts on the edges, errors in red. A graph larger than its box opens fitted to it; "−", "+"
// and "100%" zoom, "Fit" fits again, and the box scrolls to pan.
import { useLayoutEffect, useMemo, useRef, useState } from 'react';
import { ERROR_COLOR } from '../../../model/colors';
import { useServiceColor } from '../serviceColors';
import type { GraphNodeType, ServiceGraph } from '../../../model/serviceGraph';
import { buildServiceGraph } from '../../../model/serviceGraph';
import type { SpanTree } from '../../../model/spanTree';
import { fitScale, layoutServiceGraph, NODE_HEIGHT, NODE_WIDTH, stepZoom } from './layout';

const TYPE_LABEL: Record<GraphNodeType, string> = {
  service: 'service',
  database: 'database',
  messaging: 'messaging',
  external: 'external',
};

function path(points: { x: number; y: number }[]): string {
  if (points.length === 0) return '';
  let d = `M${points[0].x},${points[0].y}`;
  if (points.length === 2) return `${d} L${points[1].x},${points[1].y}`;
  // Smooth through dagre's control points with quadratic segments between midpoints.
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i];
    const n = points[i + 1];
    const mx = (p.x + n.x) / 2;
    const my = (p.y + n.y) / 2;
    d += ` Q${p.x},${p.y} ${i === points.length - 2 ? n.x : mx},${i === points.length - 2 ? n.y : my}`;
  }
  return d;
}

/** The service graph of one trace. */
export function TraceServiceGraph({ tree }: { tree: SpanTree }) {
  const graph = useMemo(() => buildServiceGraph(tree), [tree]);
  return <ServiceGraphView graph={graph} />;
}

/** A service graph; `countNoun` names what a service node counts ("span", "request"). */
export function ServiceGraphView({ graph, countNoun = 'span' }: { graph: ServiceGraph; countNoun?: string }) {
  const serviceColor = useServiceColor();
  const layout = useMemo(() => layoutServiceGraph(graph), [graph]);
  const width = Math.max(layout.width, 300);
  const height = Math.max(layout.height, 120);
  const boxRef = useRef<HTMLDivElement>(null);
  // null: fitted to the box (recomputed when the graph or the box changes); else the user's zoom.
  const [zoom, setZoom] = useState<number | null>(null);
  const [fit, setFit] = useState(1);
  useLayoutEffect(() => {
    const box = boxRef.current;
    if (!box) return;
    const measure = () => {
      const style = getComputedStyle(box);
      const padX = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
      // In the trace page's column the box has the height left to it; elsewhere (the services
      // page) it is as tall as its content, which bounds nothing: fit the width only.
      const parent = box.parentElement;
      const bounded = parent !== null && getComputedStyle(parent).display.includes('flex');
      const legend = box.querySelector('.graph-legend')?.getBoundingClientRect().height ?? 0;
      setFit(fitScale(width, height, box.clientWidth - padX, bounded ? box.clientHeight - legend - 40 : null));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(box);
    return () => observer.disconnect();
  }, [width, height]);
  const scale = zoom ?? fit;
  return (
    <div className="service-graph" data-testid="service-graph" ref={boxRef}>
      <div className="graph-legend small muted">
        <span>▭ service</span>
        <span>⛁ database</span>
        <span>⇶ messaging</span>
        <span>◌ external</span>
        <span style={{ color: ERROR_COLOR }}>red = errors</span>
        <span className="graph-zoom" role="group" aria-label="Zoom">
          <button type="button" className="small" onClick={() => setZoom(stepZoom(scale, -1))} aria-label="Zoom out" data-testid="graph-zoom-out">
            −
          </button>
          <span data-testid="graph-zoom-level">{Math.round(scale * 100)}%</span>
          <button type="button" className="small" onClick={() => setZoom(stepZoom(scale, 1))} aria-label="Zoom in" data-testid="graph-zoom-in">
            +
          </button>
          <button type="button" className="small" onClick={() => setZoom(1)} data-testid="graph-zoom-100">
            100%
          </button>
          <button type="button" className="small" onClick={() => setZoom(null)} aria-pressed={zoom === null} data-testid="graph-zoom-fit">
            Fit
          </button>
        </span>
      </div>
      <svg
        width={Math.round(width * scale)}
        height={Math.round(height * scale)}
        viewBox={`0 0 ${width} ${height}`}
        data-scale={scale}
        role="img"
        aria-label={`Service graph: ${layout.nodes.length} nodes, ${layout.edges.length} edges`}
      >
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" className="arrow-head" />
          </marker>
          <marker id="arrow-error" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" fill={ERROR_COLOR} />
          </marker>
        </defs>
        {layout.edges.map((e) => {
          const err = e.errors > 0;
          return (
            <g key={e.id} className="graph-edge" data-testid="graph-edge" data-from={e.from} data-to={e.to} data-calls={e.calls} data-errors={e.errors}>
              <path d={path(e.points)} className={err ? 'edge-line error' : 'edge-line'} markerEnd={`url(#${err ? 'arrow-error' : 'arrow'})`} style={err ? { stroke: ERROR_COLOR } : undefined} />
              <g transform={`translate(${e.labelX},${e.labelY})`}>
                <rect x={-32} y={-10} width={64} height={20} rx={10} className="edge-label-bg" />
                <text textAnchor="middle" dy="4" className="edge-label" style={err ? { fill: ERROR_COLOR } : undefined}>
                  {e.calls}×{err ? ` (${e.errors}!)` : ''}
                </text>
              </g>
            </g>
          );
        })}
        {layout.nodes.map((n) => {
          const err = n.errorCount > 0;
          const x = n.x - NODE_WIDTH / 2;
          const y = n.y - NODE_HEIGHT / 2;
          const color = n.type === 'service' ? serviceColor(n.label) : 'var(--muted)';
          return (
            <g key={n.id} className={`graph-node node-${n.type}`} data-testid="graph-node" data-id={n.id} data-type={n.type} data-label={n.label} transform={`translate(${x},${y})`}>
              <title>{`${n.label} (${n.system ?? TYPE_LABEL[n.type]})`}</title>
              {n.type === 'database' ? (
                <path
                  d={`M0,8 a${NODE_WIDTH / 2},8 0 0,1 ${NODE_WIDTH},0 v${NODE_HEIGHT - 16} a${NODE_WIDTH / 2},8 0 0,1 -${NODE_WIDTH},0 z`}
                  className="node-shape"
                  style={err ? { stroke: ERROR_COLOR } : undefined}
                />
              ) : (
                <rect
                  width={NODE_WIDTH}
                  height={NODE_HEIGHT}
                  rx={n.type === 'messaging' ? 2 : 10}
                  className="node-shape"
                  strokeDasharray={n.type === 'external' ? '5 4' : undefined}
                  style={err ? { stroke: ERROR_COLOR } : undefined}
                />
              )}
              {n.type === 'service' && <rect x={0} y={0} width={6} height={NODE_HEIGHT} rx={3} fill={color} />}
              <text x={14} y={24} className="node-label">
                {n.label.length > 24 ? `${n.label.slice(0, 23)}…` : n.label}
              </text>
              <text x={14} y={43} className="node-sub">
                {n.type === 'service' ? `${n.spanCount} ${countNoun}${n.spanCount === 1 ? '' : 's'}` : (n.system ?? TYPE_LABEL[n.type])}
                {err && (
                  <tspan style={{ fill: ERROR_COLOR }}>{` · ${n.errorCount} error${n.errorCount === 1 ? '' : 's'}`}</tspan>
                )}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
