// Builds the span tree of one trace from its spans, whatever state the data is in.
//
// Real traces are messy, and the tree must still show every span exactly once:
// - orphans (a parent id that is not in the trace: lost or not yet arrived) become extra roots,
//   marked 'orphan';
// - cycles (A's parent is B and B's parent is A, or a span that is its own parent) are cut at the
//   earliest span of the cycle, which becomes a root marked 'cycle';
// - duplicate span ids: an exact copy (same parent, name, times) is dropped and counted; a
//   different span reusing an id is kept under a distinct key and marked 'duplicate' (children
//   attach to the first span with the id);
// - clock skew: a server span whose clock disagrees with its client parent (starts before it or
//   ends after it) is shifted, with its whole subtree, to sit centred inside the parent; any other
//   cross-service child that starts before its parent is shifted to start with it. The shift is
//   kept in `skewNs` and marked 'skew'; the span's own times are never changed.
//
// Everything is iterative (no recursion), so a 50,000-span chain cannot overflow the stack.
import type { Span } from './span';

export type NodeIssue = 'orphan' | 'cycle' | 'duplicate' | 'skew';

export interface SpanNode {
  span: Span;
  /** Unique in the tree: the span id, or span id + "~n" for the n-th reuse of an id. */
  key: string;
  parent: SpanNode | null;
  /** Sorted by (adjusted) start time, then name. */
  children: SpanNode[];
  depth: number;
  /** Position in `SpanTree.nodes` (pre-order). */
  index: number;
  /** This node and all its descendants. */
  subtreeSize: number;
  /** Start and end after clock-skew adjustment (Unix ns). */
  startNs: bigint;
  endNs: bigint;
  /** Total shift applied to this span (its own plus its ancestors'), 0n when none. */
  skewNs: bigint;
  issues: NodeIssue[];
}

export interface SpanTree {
  roots: SpanNode[];
  /** Every node in pre-order: a parent before its children, siblings in start order. */
  nodes: SpanNode[];
  byKey: Map<string, SpanNode>;
  /** The first node of each span id. */
  bySpanId: Map<string, SpanNode>;
  startNs: bigint;
  endNs: bigint;
  /** Exact copies dropped while building. */
  droppedDuplicates: number;
  counts: { orphans: number; cycles: number; duplicates: number; skewed: number };
}

function sameSpan(a: Span, b: Span): boolean {
  return (
    a.parentSpanId === b.parentSpanId &&
    a.name === b.name &&
    a.startNs === b.startNs &&
    a.endNs === b.endNs
  );
}

function compareNodes(a: SpanNode, b: SpanNode): number {
  if (a.startNs !== b.startNs) return a.startNs < b.startNs ? -1 : 1;
  if (a.span.name !== b.span.name) return a.span.name < b.span.name ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function makeNode(span: Span, key: string): SpanNode {
  return {
    span,
    key,
    parent: null,
    children: [],
    depth: 0,
    index: -1,
    subtreeSize: 1,
    startNs: span.startNs,
    endNs: span.endNs > span.startNs ? span.endNs : span.startNs,
    skewNs: 0n,
    issues: [],
  };
}

/** How far to shift `child` (already carrying its ancestors' shift) to fit under `parent`. */
function skewCorrection(parent: SpanNode, child: SpanNode): bigint {
  if (parent.span.serviceName === child.span.serviceName) return 0n;
  const rpc = parent.span.kind === 'Client' && child.span.kind === 'Server';
  const outside = child.startNs < parent.startNs || (rpc && child.endNs > parent.endNs);
  if (!outside) return 0n;
  if (!rpc) return parent.startNs - child.startNs;
  const parentDur = parent.endNs - parent.startNs;
  const childDur = child.endNs - child.startNs;
  if (childDur >= parentDur) return parent.startNs - child.startNs;
  const latency = (parentDur - childDur) / 2n;
  return parent.startNs + latency - child.startNs;
}

export function buildSpanTree(spans: readonly Span[]): SpanTree {
  const all: SpanNode[] = [];
  const bySpanId = new Map<string, SpanNode>();
  const byKey = new Map<string, SpanNode>();
  const reuse = new Map<string, number>();
  let droppedDuplicates = 0;

  for (const span of spans) {
    const first = bySpanId.get(span.spanId);
    if (first === undefined) {
      const node = makeNode(span, span.spanId);
      bySpanId.set(span.spanId, node);
      byKey.set(node.key, node);
      all.push(node);
      continue;
    }
    // Exact copies (at-least-once delivery) are dropped; anything else is a real second span.
    let copy = sameSpan(first.span, span);
    const n = reuse.get(span.spanId) ?? 1;
    for (let k = 2; !copy && k <= n; k++) {
      const other = byKey.get(`${span.spanId}~${k}`);
      if (other && sameSpan(other.span, span)) copy = true;
    }
    if (copy) {
      droppedDuplicates++;
      continue;
    }
    reuse.set(span.spanId, n + 1);
    const node = makeNode(span, `${span.spanId}~${n + 1}`);
    node.issues.push('duplicate');
    if (!first.issues.includes('duplicate')) first.issues.push('duplicate');
    byKey.set(node.key, node);
    all.push(node);
  }

  // Link parents. Roots: no parent id, a parent not in the trace, or the span itself.
  const roots: SpanNode[] = [];
  for (const node of all) {
    const pid = node.span.parentSpanId;
    if (!pid) {
      roots.push(node);
      continue;
    }
    const parent = bySpanId.get(pid);
    if (parent === undefined) {
      node.issues.push('orphan');
      roots.push(node);
    } else if (parent === node) {
      node.issues.push('cycle');
      roots.push(node);
    } else {
      node.parent = parent;
      parent.children.push(node);
    }
  }

  // Whatever is not reachable from a root hangs off a cycle: cut each cycle at its earliest span.
  const reached = new Set<SpanNode>();
  const mark = (root: SpanNode) => {
    const stack = [root];
    while (stack.length) {
      const n = stack.pop()!;
      if (reached.has(n)) continue;
      reached.add(n);
      for (const c of n.children) stack.push(c);
    }
  };
  for (const r of roots) mark(r);
  if (reached.size < all.length) {
    for (const start of all) {
      if (reached.has(start)) continue;
      // Walk up until a node repeats: that node is on the cycle.
      const seen = new Set<SpanNode>();
      let n: SpanNode = start;
      while (!seen.has(n)) {
        seen.add(n);
        n = n.parent!;
      }
      const cycle: SpanNode[] = [];
      let m = n;
      do {
        cycle.push(m);
        m = m.parent!;
      } while (m !== n);
      cycle.sort(compareNodes);
      const cut = cycle[0];
      const p = cut.parent!;
      p.children.splice(p.children.indexOf(cut), 1);
      cut.parent = null;
      cut.issues.push('cycle');
      roots.push(cut);
      mark(cut);
    }
  }

  // Pre-order walk: sort children, apply skew corrections top-down, number the nodes.
  roots.sort(compareNodes);
  const nodes: SpanNode[] = [];
  const stack: SpanNode[] = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push(roots[i]);
  let skewed = 0;
  while (stack.length) {
    const node = stack.pop()!;
    node.index = nodes.length;
    nodes.push(node);
    const parent = node.parent;
    if (parent) {
      node.depth = parent.depth + 1;
      const inherited = parent.skewNs;
      node.startNs = node.span.startNs + inherited;
      node.endNs = (node.span.endNs > node.span.startNs ? node.span.endNs : node.span.startNs) + inherited;
      const extra = skewCorrection(parent, node);
      if (extra !== 0n) {
        node.startNs += extra;
        node.endNs += extra;
        node.issues.push('skew');
        skewed++;
      }
      node.skewNs = inherited + extra;
    }
    if (node.children.length > 1) {
      // Children's order depends on their parent's shift only uniformly, so original times do.
      node.children.sort((a, b) => {
        if (a.span.startNs !== b.span.startNs) return a.span.startNs < b.span.startNs ? -1 : 1;
        if (a.span.name !== b.span.name) return a.span.name < b.span.name ? -1 : 1;
        return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
      });
    }
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]);
  }

  // Subtree sizes, bottom-up (reverse pre-order visits children before parents).
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (n.parent) n.parent.subtreeSize += n.subtreeSize;
  }

  let startNs = 0n;
  let endNs = 0n;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i];
    if (i === 0 || n.startNs < startNs) startNs = n.startNs;
    if (i === 0 || n.endNs > endNs) endNs = n.endNs;
  }

  let orphans = 0;
  let cycles = 0;
  let duplicates = 0;
  for (const n of nodes) {
    if (n.issues.includes('orphan')) orphans++;
    if (n.issues.includes('cycle')) cycles++;
    if (n.issues.includes('duplicate')) duplicates++;
  }
  return {
    roots,
    nodes,
    byKey,
    bySpanId,
    startNs,
    endNs,
    droppedDuplicates,
    counts: { orphans, cycles, duplicates, skewed },
  };
}

/**
 * The rows to draw: pre-order nodes, skipping the descendants of collapsed nodes (by key).
 * O(visible rows) thanks to subtree sizes.
 */
export function visibleNodes(tree: SpanTree, collapsed: ReadonlySet<string>): SpanNode[] {
  if (collapsed.size === 0) return tree.nodes;
  const out: SpanNode[] = [];
  const nodes = tree.nodes;
  for (let i = 0; i < nodes.length; ) {
    const n = nodes[i];
    out.push(n);
    i += collapsed.has(n.key) ? n.subtreeSize : 1;
  }
  return out;
}

/** Ancestors from the root down to the parent (not the node itself). */
export function ancestorsOf(node: SpanNode): SpanNode[] {
  const out: SpanNode[] = [];
  for (let p = node.parent; p; p = p.parent) out.push(p);
  return out.reverse();
}

export interface TraceSummary {
  traceId: string;
  rootService: string;
  rootName: string;
  startNs: bigint;
  durationNs: bigint;
  spanCount: number;
  serviceCount: number;
  errorCount: number;
}

/** The trace header's numbers. The "root" is the earliest true root, else the earliest node. */
export function summarizeTrace(tree: SpanTree): TraceSummary | null {
  if (tree.nodes.length === 0) return null;
  const root = tree.roots.find((r) => r.span.parentSpanId === '') ?? tree.roots[0];
  const services = new Set<string>();
  let errorCount = 0;
  for (const n of tree.nodes) {
    services.add(n.span.serviceName);
    if (n.span.statusCode === 'Error') errorCount++;
  }
  return {
    traceId: root.span.traceId,
    rootService: root.span.serviceName,
    rootName: root.span.name,
    startNs: tree.startNs,
    durationNs: tree.endNs - tree.startNs,
    spanCount: tree.nodes.length,
    serviceCount: services.size,
    errorCount,
  };
}
