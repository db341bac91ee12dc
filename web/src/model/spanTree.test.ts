// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { ms, spans } from '../test/spans';
import { ancestorsOf, buildSpanTree, summarizeTrace, visibleNodes } from './spanTree';

const keys = (nodes: { key: string }[]) => nodes.map((n) => n.key);

describe('buildSpanTree', () => {
  it('nests children under parents in start order, pre-order, with depths and subtree sizes', () => {
    const tree = buildSpanTree(
      spans(
        { id: 'c2', parent: 'a', start: 30, end: 40 },
        { id: 'a', start: 0, end: 100 },
        { id: 'c1', parent: 'a', start: 10, end: 20 },
        { id: 'g1', parent: 'c1', start: 11, end: 12 },
      ),
    );
    expect(keys(tree.roots)).toEqual(['a']);
    expect(keys(tree.nodes)).toEqual(['a', 'c1', 'g1', 'c2']);
    expect(tree.nodes.map((n) => n.depth)).toEqual([0, 1, 2, 1]);
    expect(tree.nodes.map((n) => n.index)).toEqual([0, 1, 2, 3]);
    expect(tree.nodes.map((n) => n.subtreeSize)).toEqual([4, 2, 1, 1]);
    expect(ms(tree.startNs)).toBe(0);
    expect(ms(tree.endNs)).toBe(100);
    expect(tree.counts).toEqual({ orphans: 0, cycles: 0, duplicates: 0, skewed: 0 });
  });

  it('breaks start-time ties by name', () => {
    const tree = buildSpanTree(
      spans({ id: 'r', start: 0, end: 10 }, { id: 'x', parent: 'r', start: 1, end: 2, name: 'b' }, { id: 'y', parent: 'r', start: 1, end: 2, name: 'a' }),
    );
    expect(keys(tree.nodes)).toEqual(['r', 'y', 'x']);
  });

  it('makes orphans extra roots and marks them', () => {
    const tree = buildSpanTree(
      spans(
        { id: 'root', start: 0, end: 50 },
        { id: 'lost', parent: 'missing', start: 5, end: 8 },
        { id: 'kid', parent: 'lost', start: 6, end: 7 },
      ),
    );
    expect(keys(tree.roots)).toEqual(['root', 'lost']);
    expect(tree.byKey.get('lost')!.issues).toEqual(['orphan']);
    expect(tree.byKey.get('kid')!.parent!.key).toBe('lost');
    expect(tree.counts.orphans).toBe(1);
    expect(tree.nodes).toHaveLength(3);
  });

  it('handles a trace made only of orphans', () => {
    const tree = buildSpanTree(spans({ id: 'a', parent: 'x', start: 1, end: 2 }, { id: 'b', parent: 'y', start: 0, end: 3 }));
    expect(keys(tree.roots)).toEqual(['b', 'a']);
    expect(tree.counts.orphans).toBe(2);
  });

  it('cuts a two-span cycle at its earliest span', () => {
    const tree = buildSpanTree(spans({ id: 'a', parent: 'b', start: 5, end: 9 }, { id: 'b', parent: 'a', start: 1, end: 10 }));
    expect(keys(tree.roots)).toEqual(['b']);
    expect(keys(tree.nodes)).toEqual(['b', 'a']);
    expect(tree.byKey.get('b')!.issues).toEqual(['cycle']);
    expect(tree.byKey.get('a')!.parent!.key).toBe('b');
    expect(tree.counts.cycles).toBe(1);
  });

  it('cuts a cycle hanging below a real root without losing its subtree', () => {
    // root <- x; and y <-> z loop, with w under z.
    const tree = buildSpanTree(
      spans(
        { id: 'root', start: 0, end: 100 },
        { id: 'x', parent: 'root', start: 1, end: 2 },
        { id: 'y', parent: 'z', start: 20, end: 30 },
        { id: 'z', parent: 'y', start: 10, end: 40 },
        { id: 'w', parent: 'z', start: 15, end: 16 },
      ),
    );
    expect(tree.nodes).toHaveLength(5);
    expect(keys(tree.roots)).toEqual(['root', 'z']);
    expect(keys(tree.nodes)).toEqual(['root', 'x', 'z', 'w', 'y']);
    expect(new Set(tree.nodes).size).toBe(5);
  });

  it('treats a span that is its own parent as a cycle root', () => {
    const tree = buildSpanTree(spans({ id: 'self', parent: 'self', start: 0, end: 1 }));
    expect(keys(tree.roots)).toEqual(['self']);
    expect(tree.byKey.get('self')!.issues).toEqual(['cycle']);
  });

  it('drops exact duplicate spans and keeps a different span that reuses an id', () => {
    const tree = buildSpanTree(
      spans(
        { id: 'r', start: 0, end: 10 },
        { id: 'd', parent: 'r', start: 1, end: 2, name: 'first' },
        { id: 'd', parent: 'r', start: 1, end: 2, name: 'first' },
        { id: 'd', parent: 'r', start: 3, end: 4, name: 'second' },
        { id: 'd', parent: 'r', start: 3, end: 4, name: 'second' },
        { id: 'k', parent: 'd', start: 1.5, end: 1.8 },
      ),
    );
    expect(tree.droppedDuplicates).toBe(2);
    expect(keys(tree.nodes)).toEqual(['r', 'd', 'k', 'd~2']);
    expect(tree.byKey.get('d~2')!.issues).toEqual(['duplicate']);
    expect(tree.byKey.get('d')!.issues).toEqual(['duplicate']);
    expect(tree.counts.duplicates).toBe(2);
    // Children attach to the first span with the id.
    expect(tree.byKey.get('k')!.parent!.key).toBe('d');
  });

  it('centres a server span whose clock runs ahead of its client parent, with its subtree', () => {
    const tree = buildSpanTree(
      spans(
        { id: 'client', start: 0, end: 100, service: 'front', kind: 'Client' },
        // Server clock 500 ms ahead: starts at 510 for a call made at 0..100.
        { id: 'server', parent: 'client', start: 510, end: 570, service: 'back', kind: 'Server' },
        { id: 'db', parent: 'server', start: 520, end: 530, service: 'back', kind: 'Client' },
      ),
    );
    const server = tree.byKey.get('server')!;
    expect(server.issues).toEqual(['skew']);
    // Parent 100 ms, child 60 ms: centred means 20 ms latency each way.
    expect(ms(server.startNs)).toBe(20);
    expect(ms(server.endNs)).toBe(80);
    expect(Number(server.skewNs) / 1e6).toBe(-490);
    const db = tree.byKey.get('db')!;
    expect(ms(db.startNs)).toBe(30);
    expect(db.issues).toEqual([]);
    // The span's own times are untouched.
    expect(ms(server.span.startNs)).toBe(510);
    expect(tree.counts.skewed).toBe(1);
    expect(ms(tree.endNs)).toBe(100);
  });

  it('aligns a longer server span with its client parent start', () => {
    const tree = buildSpanTree(
      spans({ id: 'c', start: 10, end: 20, service: 'a', kind: 'Client' }, { id: 's', parent: 'c', start: 0, end: 30, service: 'b', kind: 'Server' }),
    );
    expect(ms(tree.byKey.get('s')!.startNs)).toBe(10);
  });

  it('shifts a cross-service child that starts before its parent, but leaves async children after it alone', () => {
    const tree = buildSpanTree(
      spans(
        { id: 'p', start: 100, end: 110, service: 'a', kind: 'Producer' },
        { id: 'early', parent: 'p', start: 90, end: 95, service: 'b', kind: 'Consumer' },
        { id: 'late', parent: 'p', start: 500, end: 600, service: 'c', kind: 'Consumer' },
        { id: 'same', parent: 'p', start: 50, end: 60, service: 'a' },
      ),
    );
    expect(ms(tree.byKey.get('early')!.startNs)).toBe(100);
    expect(ms(tree.byKey.get('late')!.startNs)).toBe(500);
    // Same service, same clock: not skew, whatever it looks like.
    expect(ms(tree.byKey.get('same')!.startNs)).toBe(50);
  });

  it('builds a 50,000-span chain without recursion', () => {
    const list = [];
    for (let i = 0; i < 50_000; i++) list.push({ id: `s${i}`, parent: i ? `s${i - 1}` : undefined, start: i * 0.001, end: 100 });
    const tree = buildSpanTree(spans(...list));
    expect(tree.nodes).toHaveLength(50_000);
    expect(tree.nodes[49_999].depth).toBe(49_999);
    expect(tree.nodes[0].subtreeSize).toBe(50_000);
  });

  it('is empty for no spans', () => {
    const tree = buildSpanTree([]);
    expect(tree.nodes).toEqual([]);
    expect(summarizeTrace(tree)).toBeNull();
  });
});

describe('visibleNodes and ancestorsOf', () => {
  const tree = buildSpanTree(
    spans(
      { id: 'a', start: 0, end: 100 },
      { id: 'b', parent: 'a', start: 1, end: 50 },
      { id: 'c', parent: 'b', start: 2, end: 3 },
      { id: 'd', parent: 'b', start: 4, end: 5 },
      { id: 'e', parent: 'a', start: 60, end: 70 },
    ),
  );

  it('skips the descendants of collapsed nodes', () => {
    expect(keys(visibleNodes(tree, new Set()))).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(keys(visibleNodes(tree, new Set(['b'])))).toEqual(['a', 'b', 'e']);
    expect(keys(visibleNodes(tree, new Set(['a'])))).toEqual(['a']);
    expect(keys(visibleNodes(tree, new Set(['c'])))).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('lists ancestors from the root down', () => {
    expect(keys(ancestorsOf(tree.byKey.get('d')!))).toEqual(['a', 'b']);
    expect(ancestorsOf(tree.byKey.get('a')!)).toEqual([]);
  });
});

describe('summarizeTrace', () => {
  it('counts spans, services and errors and names the root', () => {
    const tree = buildSpanTree(
      spans(
        { id: 'orphan', parent: 'gone', start: -5, end: 1, service: 'x' },
        { id: 'r', start: 0, end: 100, service: 'front', name: 'GET /checkout' },
        { id: 'b', parent: 'r', start: 1, end: 2, service: 'pay', status: 'Error' },
        { id: 'c', parent: 'r', start: 1, end: 2, service: null, status: 'Error' },
      ),
    );
    const s = summarizeTrace(tree)!;
    expect(s.rootService).toBe('front');
    expect(s.rootName).toBe('GET /checkout');
    expect(s.spanCount).toBe(4);
    expect(s.serviceCount).toBe(4);
    expect(s.errorCount).toBe(2);
    expect(ms(s.startNs)).toBe(-5);
    expect(Number(s.durationNs) / 1e6).toBe(105);
  });
});
