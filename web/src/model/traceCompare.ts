// Two traces side by side: their structure merged by path (the chain of service + operation from a
// root down to a span), with per path how many spans each trace has there, their summed duration,
// their errors, and the difference. Linear in the spans of both traces: a path is an interned
// integer built from its parent's, never a string that grows with depth.
import { serviceLabel } from './span';
import type { SpanTree } from './spanTree';

export interface CompareSide {
  spans: number;
  /** Sum of the durations of this trace's spans on the path, in ns. */
  totalNs: bigint;
  errors: number;
}

export interface CompareRow {
  /** Stable within one comparison: the interned path. */
  id: number;
  depth: number;
  service: string;
  name: string;
  a: CompareSide;
  b: CompareSide;
  /** b.totalNs - a.totalNs. */
  deltaNs: bigint;
  /** Where the path occurs. */
  presence: 'both' | 'onlyA' | 'onlyB';
}

export interface TraceComparison {
  /** The merged paths in pre-order: a parent before its children, children in order of first appearance (A's, then B's). */
  rows: CompareRow[];
  onlyA: number;
  onlyB: number;
  /** Trace durations (first start to last end) and their difference. */
  durationA: bigint;
  durationB: bigint;
}

interface PathNode {
  id: number;
  depth: number;
  service: string;
  name: string;
  children: PathNode[];
  a: CompareSide;
  b: CompareSide;
}

const emptySide = (): CompareSide => ({ spans: 0, totalNs: 0n, errors: 0 });

export function compareTraces(a: SpanTree, b: SpanTree): TraceComparison {
  const roots: PathNode[] = [];
  const byKey = new Map<string, PathNode>();
  const intern = (parent: PathNode | null, service: string, name: string): PathNode => {
    const key = `${parent ? parent.id : -1}\u0000${service}\u0000${name}`;
    let node = byKey.get(key);
    if (!node) {
      node = { id: byKey.size, depth: parent ? parent.depth + 1 : 0, service, name, children: [], a: emptySide(), b: emptySide() };
      byKey.set(key, node);
      (parent ? parent.children : roots).push(node);
    }
    return node;
  };
  const add = (tree: SpanTree, side: 'a' | 'b') => {
    // tree.nodes is in pre-order, so a span's parent has its path before the span needs it.
    const pathOf = new Map<string, PathNode>();
    for (const n of tree.nodes) {
      const node = intern(n.parent ? pathOf.get(n.parent.key)! : null, serviceLabel(n.span), n.span.name);
      pathOf.set(n.key, node);
      const s = node[side];
      s.spans++;
      s.totalNs += n.span.endNs - n.span.startNs;
      if (n.span.statusCode === 'Error') s.errors++;
    }
  };
  add(a, 'a');
  add(b, 'b');

  const rows: CompareRow[] = [];
  let onlyA = 0;
  let onlyB = 0;
  const stack = [...roots].reverse();
  while (stack.length) {
    const p = stack.pop()!;
    const presence = p.a.spans && p.b.spans ? 'both' : p.a.spans ? 'onlyA' : 'onlyB';
    if (presence === 'onlyA') onlyA++;
    if (presence === 'onlyB') onlyB++;
    rows.push({ id: p.id, depth: p.depth, service: p.service, name: p.name, a: p.a, b: p.b, deltaNs: p.b.totalNs - p.a.totalNs, presence });
    for (let i = p.children.length - 1; i >= 0; i--) stack.push(p.children[i]);
  }
  return { rows, onlyA, onlyB, durationA: a.endNs - a.startNs, durationB: b.endNs - b.startNs };
}

/** A signed duration difference: "+12.3 ms", "-850 µs", "±0". */
export function formatDelta(ns: bigint, format: (ns: bigint) => string): string {
  if (ns === 0n) return '±0';
  return ns > 0n ? `+${format(ns)}` : `-${format(-ns)}`;
}
