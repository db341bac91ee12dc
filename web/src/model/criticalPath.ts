// The critical path of a trace: the chain of work that determined when the trace finished.
//
// Walk back from the end of a span: the child that finished last (before the current point) was
// what the span was waiting on, so the time between that child's end and the current point is
// the span's own work, and the path continues inside that child; then the point moves to the
// child's start and the next child that finished before it is taken, and so on until the span's
// start. Children that overlap the point only partly are clipped to it. A child that starts
// before its parent (skew the tree did not correct) is clipped to the parent's start.
//
// The result is a set of segments [startNs, endNs) per span key, ordered by time. It uses the
// tree's skew-adjusted times, and an explicit stack instead of recursion.
import type { SpanNode, SpanTree } from './spanTree';

export interface CriticalSegment {
  key: string;
  startNs: bigint;
  endNs: bigint;
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** Segments of the critical path below `root`, ending no later than `limitNs`. */
export function criticalPathOf(root: SpanNode, limitNs: bigint = root.endNs): CriticalSegment[] {
  const out: CriticalSegment[] = [];
  const work: { node: SpanNode; end: bigint; floor: bigint }[] = [
    { node: root, end: minBig(root.endNs, limitNs), floor: root.startNs },
  ];
  while (work.length) {
    const { node, end, floor } = work.pop()!;
    const start = maxBig(node.startNs, floor);
    // Children by end time, latest first (ties: the later start first, it is the shorter wait).
    const children = node.children.slice().sort((a, b) => {
      if (a.endNs !== b.endNs) return a.endNs > b.endNs ? -1 : 1;
      return a.startNs > b.startNs ? -1 : a.startNs < b.startNs ? 1 : 0;
    });
    let cursor = end;
    for (const child of children) {
      if (cursor <= start) break;
      // A child that has not ended by the cursor is clipped; one starting after it is skipped.
      if (child.startNs >= cursor) continue;
      const childEnd = minBig(child.endNs, cursor);
      if (childEnd <= start) continue;
      if (childEnd < cursor) out.push({ key: node.key, startNs: childEnd, endNs: cursor });
      work.push({ node: child, end: childEnd, floor: start });
      cursor = maxBig(child.startNs, start);
    }
    if (cursor > start) out.push({ key: node.key, startNs: start, endNs: cursor });
  }
  out.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  return out;
}

/**
 * The critical path of the whole trace: from the root that ends last (the trace's end is what
 * the path explains). Empty for an empty tree.
 */
export function criticalPath(tree: SpanTree): CriticalSegment[] {
  if (tree.roots.length === 0) return [];
  let root = tree.roots[0];
  for (const r of tree.roots) {
    if (r.span.parentSpanId === '' && root.span.parentSpanId !== '') root = r;
    else if ((r.span.parentSpanId === '') === (root.span.parentSpanId === '') && r.endNs > root.endNs) root = r;
  }
  return criticalPathOf(root);
}

/** Segments grouped by span key, for drawing. */
export function segmentsByKey(segments: readonly CriticalSegment[]): Map<string, CriticalSegment[]> {
  const m = new Map<string, CriticalSegment[]>();
  for (const s of segments) {
    const list = m.get(s.key);
    if (list) list.push(s);
    else m.set(s.key, [s]);
  }
  return m;
}

/**
 * Merges intervals (in display units, e.g. percent of a row) that are closer than `minGap`, so a
 * span with hundreds of tiny critical stretches draws as a few marks instead of hundreds of
 * elements. Input must be sorted by start; output is sorted and disjoint.
 */
export function mergeForDisplay(intervals: readonly [number, number][], minGap: number): [number, number][] {
  const out: [number, number][] = [];
  for (const [a, b] of intervals) {
    const last = out[out.length - 1];
    if (last && a - last[1] < minGap) {
      if (b > last[1]) last[1] = b;
    } else {
      out.push([a, b]);
    }
  }
  return out;
}
