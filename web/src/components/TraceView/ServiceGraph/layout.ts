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
