// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { buildServiceGraph } from '../../../model/serviceGraph';
import { buildSpanTree } from '../../../model/spanTree';
import { spans } from '../../../test/spans';
import { layoutServiceGraph, NODE_WIDTH } from './layout';

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
