// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { buildServiceGraph } from '../../../model/serviceGraph';
import { buildSpanTree } from '../../../model/spanTree';
import { spans } from '../../../test/spans';
import { MAX_ZOOM, MIN_ZOOM, fitScale, layoutServiceGraph, NODE_WIDTH, stepZoom } from './layout';

describe('layoutServiceGraph', () => {
  it('places callers left of callees and routes every edge', () => {
    const graph = buildServiceGraph(
      buildSpanTree(
        spans(
          { id: 'r', start: 0, end: 10, service: 'web' },
          { id: 'a', parent: 'r', start: 1, end: 2, service: 'api' },
          { id: 'q', parent: 'a', start: 1, end: 2, service: 'api', kind: 'Client', attrs: { 'db.system': 'mysql' } },
        ),
      ),
    );
    const layout = layoutServiceGraph(graph);
    const x = Object.fromEntries(layout.nodes.map((n) => [n.id, n.x]));
    expect(x['service:web']).toBeLessThan(x['service:api']);
    expect(x['service:api']).toBeLessThan(x['database:mysql:mysql']);
    expect(layout.edges).toHaveLength(2);
    for (const e of layout.edges) expect(e.points.length).toBeGreaterThanOrEqual(2);
    expect(layout.width).toBeGreaterThan(3 * NODE_WIDTH);
  });
});

describe('zoom', () => {
  it('fits a graph into its box without enlarging it', () => {
    expect(fitScale(2000, 500, 1000, 800)).toBe(0.5);
    expect(fitScale(1000, 2000, 1000, 500)).toBe(0.25);
    expect(fitScale(400, 300, 1000, 800)).toBe(1);
    // An unbounded height fits by width only.
    expect(fitScale(1000, 5000, 500, null)).toBe(0.5);
    // Never below the smallest zoom, and a degenerate graph or box leaves it at 1.
    expect(fitScale(100_000, 100, 500, 500)).toBe(MIN_ZOOM);
    expect(fitScale(0, 0, 500, 500)).toBe(1);
  });

  it('steps in and out within bounds', () => {
    expect(stepZoom(1, 1)).toBe(1.25);
    expect(stepZoom(1, -1)).toBe(0.8);
    expect(stepZoom(MAX_ZOOM, 1)).toBe(MAX_ZOOM);
    expect(stepZoom(MIN_ZOOM, -1)).toBe(MIN_ZOOM);
  });
});
