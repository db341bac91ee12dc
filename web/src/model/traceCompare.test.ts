import { spans } from '../test/spans';
import { buildSpanTree } from './spanTree';
import { compareTraces, formatDelta } from './traceCompare';
import { formatDuration } from './format';

const MS = 1_000_000n;

// A: checkout -> (cart, pay -> charge); B: checkout -> (cart x2, pay -> charge [error], fraud)
const a = buildSpanTree(
  spans(
    { id: 'r', start: 0, end: 100, service: 'web', name: 'checkout' },
    { id: 'c', parent: 'r', start: 5, end: 25, service: 'cart', name: 'get' },
    { id: 'p', parent: 'r', start: 30, end: 90, service: 'pay', name: 'pay' },
    { id: 'h', parent: 'p', start: 40, end: 80, service: 'bank', name: 'charge' },
  ),
);
const b = buildSpanTree(
  spans(
    { id: 'R', start: 0, end: 150, service: 'web', name: 'checkout' },
    { id: 'C1', parent: 'R', start: 5, end: 20, service: 'cart', name: 'get' },
    { id: 'C2', parent: 'R', start: 20, end: 40, service: 'cart', name: 'get' },
    { id: 'P', parent: 'R', start: 45, end: 140, service: 'pay', name: 'pay' },
    { id: 'H', parent: 'P', start: 50, end: 130, service: 'bank', name: 'charge', status: 'Error' },
    { id: 'F', parent: 'P', start: 46, end: 49, service: 'pay', name: 'fraud' },
  ),
);

describe('compareTraces', () => {
  it('merges both structures by service and operation path, with counts, sums and deltas', () => {
    const c = compareTraces(a, b);
    expect(c.rows.map((r) => [r.depth, `${r.service}:${r.name}`, r.a.spans, r.b.spans, r.deltaNs, r.presence])).toEqual([
      [0, 'web:checkout', 1, 1, 50n * MS, 'both'],
      [1, 'cart:get', 1, 2, 15n * MS, 'both'],
      [1, 'pay:pay', 1, 1, 35n * MS, 'both'],
      [2, 'bank:charge', 1, 1, 40n * MS, 'both'],
      [2, 'pay:fraud', 0, 1, 3n * MS, 'onlyB'],
    ]);
    expect(c.rows[1].a.totalNs).toBe(20n * MS);
    expect(c.rows[1].b.totalNs).toBe(35n * MS);
    expect(c.rows[3].b.errors).toBe(1);
    expect(c.rows[3].a.errors).toBe(0);
    expect([c.onlyA, c.onlyB]).toEqual([0, 1]);
    expect([c.durationA, c.durationB]).toEqual([100n * MS, 150n * MS]);
  });

  it('is the mirror image when the sides swap', () => {
    const c = compareTraces(b, a);
    expect(c.rows.map((r) => [`${r.service}:${r.name}`, r.deltaNs, r.presence])).toEqual([
      ['web:checkout', -50n * MS, 'both'],
      ['cart:get', -15n * MS, 'both'],
      ['pay:pay', -35n * MS, 'both'],
      ['pay:fraud', -3n * MS, 'onlyA'],
      ['bank:charge', -40n * MS, 'both'],
    ]);
  });

  it('keeps the same operation under different parents apart', () => {
    const x = buildSpanTree(
      spans(
        { id: 'r', start: 0, end: 10, service: 's', name: 'root' },
        { id: 'q1', parent: 'r', start: 1, end: 2, service: 'db', name: 'query' },
        { id: 'm', parent: 'r', start: 2, end: 9, service: 's', name: 'mid' },
        { id: 'q2', parent: 'm', start: 3, end: 4, service: 'db', name: 'query' },
      ),
    );
    const c = compareTraces(x, buildSpanTree([]));
    expect(c.rows.map((r) => [r.depth, r.name, r.presence])).toEqual([
      [0, 'root', 'onlyA'],
      [1, 'query', 'onlyA'],
      [1, 'mid', 'onlyA'],
      [2, 'query', 'onlyA'],
    ]);
    expect(c.onlyA).toBe(4);
  });

  it('stays linear on a 50,000-span chain', () => {
    const chain = spans(...Array.from({ length: 50_000 }, (_, i) => ({ id: `s${i}`, parent: i ? `s${i - 1}` : undefined, start: i / 1000, end: 100, name: 'op' })));
    const tree = buildSpanTree(chain);
    const c = compareTraces(tree, tree);
    expect(c.rows).toHaveLength(50_000);
    expect(c.rows.at(-1)!.depth).toBe(49_999);
    expect(c.rows.every((r) => r.deltaNs === 0n && r.presence === 'both')).toBe(true);
  });

  it('formats signed deltas', () => {
    expect(formatDelta(1_500_000n, formatDuration)).toBe('+1.5 ms');
    expect(formatDelta(-850_000n, formatDuration)).toBe('-850 µs');
    expect(formatDelta(0n, formatDuration)).toBe('±0');
  });
});
