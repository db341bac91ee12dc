// The trace's service graph: services, databases, queues and external peers as nodes, calls with
// counts on the edges, errors in red.
import { useMemo } from 'react';
import { ERROR_COLOR } from '../../../model/colors';
import { useServiceColor } from '../serviceColors';
import type { GraphNodeType, ServiceGraph } from '../../../model/serviceGraph';
import { buildServiceGraph } from '../../../model/serviceGraph';
import type { SpanTree } from '../../../model/spanTree';
import { layoutServiceGraph, NODE_HEIGHT, NODE_WIDTH } from './layout';

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
  return (
    <div className="service-graph" data-testid="service-graph">
      <div className="graph-legend small muted">
        <span>▭ service</span>
        <span>⛁ database</span>
        <span>⇶ messaging</span>
        <span>◌ external</span>
        <span style={{ color: ERROR_COLOR }}>red = errors</span>
      </div>
      <svg
        width={Math.max(layout.width, 300)}
        height={Math.max(layout.height, 120)}
        viewBox={`0 0 ${Math.max(layout.width, 300)} ${Math.max(layout.height, 120)}`}
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
