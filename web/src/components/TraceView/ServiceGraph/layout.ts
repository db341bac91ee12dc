// Positions the service graph with dagre (left to right, callers before callees). Pure: the
// component only draws what this returns.
import * as dagre from '@dagrejs/dagre';
import type { GraphEdge, GraphNode, ServiceGraph } from '../../../model/serviceGraph';

export const NODE_WIDTH = 190;
export const NODE_HEIGHT = 58;

export interface PlacedNode extends GraphNode {
  x: number;
  y: number;
}
export interface PlacedEdge extends GraphEdge {
  points: { x: number; y: number }[];
  labelX: number;
  labelY: number;
}
export interface GraphLayout {
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  width: number;
  height: number;
}

export function layoutServiceGraph(graph: ServiceGraph): GraphLayout {
  const g = new dagre.graphlib.Graph({ directed: true });
  g.setGraph({ rankdir: 'LR', nodesep: 36, ranksep: 110, marginx: 24, marginy: 24 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) g.setNode(n.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const e of graph.edges) g.setEdge(e.from, e.to, { width: 70, height: 18, labelpos: 'c' });
  dagre.layout(g);
  const nodes = graph.nodes.map((n) => {
    const p = g.node(n.id);
    return { ...n, x: p.x, y: p.y };
  });
  const edges = graph.edges.map((e) => {
    const ge = g.edge(e.from, e.to);
    const points = ge.points ?? [];
    const mid = points[Math.floor(points.length / 2)] ?? { x: 0, y: 0 };
    return { ...e, points, labelX: typeof ge.x === 'number' ? ge.x : mid.x, labelY: typeof ge.y === 'number' ? ge.y : mid.y };
  });
  const label = g.graph();
  return { nodes, edges, width: label.width ?? 0, height: label.height ?? 0 };
}

/** Zoom steps: each "+" multiplies the scale by this, each "−" divides. */
export const ZOOM_STEP = 1.25;
export const MIN_ZOOM = 0.1;
export const MAX_ZOOM = 4;

/**
 * The scale that fits a `width` x `height` graph into a box (never enlarging): by both sides, or by
 * the width alone when the box's height is not bounded (null).
 */
export function fitScale(width: number, height: number, boxWidth: number, boxHeight: number | null): number {
  if (width <= 0 || height <= 0 || boxWidth <= 0) return 1;
  const s = Math.min(1, boxWidth / width, boxHeight !== null && boxHeight > 0 ? boxHeight / height : Infinity);
  return Math.max(MIN_ZOOM, s);
}

/** The next zoom level in `direction` (+1 in, -1 out), kept within [MIN_ZOOM, MAX_ZOOM]. */
export function stepZoom(scale: number, direction: 1 | -1): number {
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, direction > 0 ? scale * ZOOM_STEP : scale / ZOOM_STEP));
}
