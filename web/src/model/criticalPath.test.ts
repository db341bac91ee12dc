// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { ms, spans } from '../test/spans';
import { criticalPath, criticalPathOf, mergeForDisplay, segmentsByKey } from './criticalPath';
import { buildSpanTree } from './spanTree';

const seg = (segments: ReturnType<typeof criticalPath>) => segments.map((s) => [s.key, ms(s.startNs), ms(s.endNs)]);

describe('criticalPath', () => {
  it('is the span itself when it has no children', () => {
    const tree = buildSpanTree(spans({ id: 'a', start: 0, end: 10 }));
    expect(seg(criticalPath(tree))).toEqual([['a', 0, 10]]);
  });

  it('follows sequential children and gives the gaps to the parent', () => {
    const tree = buildSpanTree(
      spans({ id: 'r', start: 0, end: 100 }, { id: 'a', parent: 'r', start: 10, end: 40 }, { id: 'b', parent: 'r', start: 50, end: 90 }),
    );
    expect(seg(criticalPath(tree))).toEqual([
      ['r', 0, 10],
      ['a', 10, 40],
      ['r', 40, 50],
      ['b', 50, 90],
      ['r', 90, 100],
    ]);
  });

  it('takes the child that finished last among parallel children', () => {
    const tree = buildSpanTree(
      spans(
        { id: 'r', start: 0, end: 100 },
        { id: 'fast', parent: 'r', start: 10, end: 30 },
        { id: 'slow', parent: 'r', start: 10, end: 80 },
      ),
    );
    expect(seg(criticalPath(tree))).toEqual([
      ['r', 0, 10],
      ['slow', 10, 80],
      ['r', 80, 100],
    ]);
  });

  it('clips overlapping children at the point the later one started', () => {
    // b starts while a runs: a counts only until b starts.
    const tree = buildSpanTree(
      spans({ id: 'r', start: 0, end: 100 }, { id: 'a', parent: 'r', start: 10, end: 60 }, { id: 'b', parent: 'r', start: 40, end: 90 }),
    );
    expect(seg(criticalPath(tree))).toEqual([
      ['r', 0, 10],
      ['a', 10, 40],
      ['b', 40, 90],
      ['r', 90, 100],
    ]);
  });

  it('clips a child that outlives its parent (async work) to the parent end', () => {
    const tree = buildSpanTree(spans({ id: 'r', start: 0, end: 50 }, { id: 'async', parent: 'r', start: 20, end: 200 }));
    expect(seg(criticalPath(tree))).toEqual([
      ['r', 0, 20],
      ['async', 20, 50],
    ]);
  });

  it('descends through several levels', () => {
    const tree = buildSpanTree(
      spans(
        { id: 'r', start: 0, end: 100 },
        { id: 'a', parent: 'r', start: 10, end: 90 },
        { id: 'a1', parent: 'a', start: 20, end: 30 },
        { id: 'a2', parent: 'a', start: 40, end: 85 },
        { id: 'x', parent: 'a2', start: 41, end: 84 },
      ),
    );
    expect(seg(criticalPath(tree))).toEqual([
      ['r', 0, 10],
      ['a', 10, 20],
      ['a1', 20, 30],
      ['a', 30, 40],
      ['a2', 40, 41],
      ['x', 41, 84],
      ['a2', 84, 85],
      ['a', 85, 90],
      ['r', 90, 100],
    ]);
    const byKey = segmentsByKey(criticalPath(tree));
    expect(byKey.get('a')).toHaveLength(3);
    expect(byKey.has('a1')).toBe(true);
  });

  it('covers the root exactly: segments tile [start, end] without overlap', () => {
    const list = [{ id: 'r', start: 0, end: 1000 }];
    for (let i = 0; i < 40; i++) list.push({ id: `c${i}`, parent: 'r', start: (i * 37) % 900, end: ((i * 37) % 900) + 5 + (i % 7) * 20 } as never);
    const tree = buildSpanTree(spans(...list));
    const path = criticalPath(tree);
    for (let i = 1; i < path.length; i++) expect(path[i].startNs).toBe(path[i - 1].endNs);
    expect(ms(path[0].startNs)).toBe(0);
    expect(ms(path[path.length - 1].endNs)).toBe(1000);
  });

  it('uses the real root over orphans and handles deep chains iteratively', () => {
    const list = [{ id: 'orphan', parent: 'gone', start: 0, end: 5000 }] as { id: string; parent?: string; start: number; end: number }[];
    for (let i = 0; i < 20_000; i++) list.push({ id: `s${i}`, parent: i ? `s${i - 1}` : undefined, start: i * 0.01, end: 1000 - i * 0.01 });
    const tree = buildSpanTree(spans(...list));
    const path = criticalPath(tree);
    expect(path[0].key).toBe('s0');
    expect(new Set(path.map((s) => s.key)).size).toBe(20_000);
  });

  it('is empty for an empty tree, and criticalPathOf honours a limit', () => {
    expect(criticalPath(buildSpanTree([]))).toEqual([]);
    const tree = buildSpanTree(spans({ id: 'a', start: 0, end: 10 }));
    expect(seg(criticalPathOf(tree.roots[0], tree.roots[0].startNs + 4_000_000n))).toEqual([['a', 0, 4]]);
  });
});

describe('mergeForDisplay', () => {
  it('merges intervals closer than the gap and keeps the rest', () => {
    expect(mergeForDisplay([[0, 1], [1.1, 2], [5, 6], [6, 6.5], [9, 10]], 0.25)).toEqual([[0, 2], [5, 6.5], [9, 10]]);
    expect(mergeForDisplay([], 1)).toEqual([]);
    const many: [number, number][] = Array.from({ length: 500 }, (_, i) => [i * 0.01, i * 0.01 + 0.005]);
    expect(mergeForDisplay(many, 0.25)).toEqual([[0, 4.995]]);
  });
});
