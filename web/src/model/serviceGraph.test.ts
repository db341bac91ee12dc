// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { spans } from '../test/spans';
import { buildServiceGraph } from './serviceGraph';
import { buildSpanTree } from './spanTree';

const edges = (g: ReturnType<typeof buildServiceGraph>) => g.edges.map((e) => `${e.from} -> ${e.to} ×${e.calls}${e.errors ? ` !${e.errors}` : ''}`);

describe('buildServiceGraph', () => {
  it('counts calls between services once per cross-service parent link', () => {
    const g = buildServiceGraph(
      buildSpanTree(
        spans(
          { id: 'r', start: 0, end: 100, service: 'frontend', kind: 'Server' },
          { id: 'c1', parent: 'r', start: 1, end: 20, service: 'frontend', kind: 'Client' },
          { id: 's1', parent: 'c1', start: 2, end: 19, service: 'cart', kind: 'Server' },
          { id: 'c2', parent: 'r', start: 21, end: 40, service: 'frontend', kind: 'Client' },
          { id: 's2', parent: 'c2', start: 22, end: 39, service: 'cart', kind: 'Server', status: 'Error' },
          { id: 'inner', parent: 's2', start: 23, end: 24, service: 'cart' },
        ),
      ),
    );
    expect(g.nodes.map((n) => [n.id, n.type, n.spanCount, n.errorCount])).toEqual([
      ['service:cart', 'service', 3, 1],
      ['service:frontend', 'service', 3, 0],
    ]);
    expect(edges(g)).toEqual(['service:frontend -> service:cart ×2 !1']);
  });

  it('adds database nodes for db client spans, by system and namespace', () => {
    const g = buildServiceGraph(
      buildSpanTree(
        spans(
          { id: 'r', start: 0, end: 100, service: 'orders', kind: 'Server' },
          { id: 'q1', parent: 'r', start: 1, end: 2, service: 'orders', kind: 'Client', attrs: { 'db.system': 'postgresql', 'db.name': 'orders' } },
          { id: 'q2', parent: 'r', start: 3, end: 4, service: 'orders', kind: 'Client', attrs: { 'db.system.name': 'postgresql', 'db.namespace': 'orders' }, status: 'Error' },
          { id: 'q3', parent: 'r', start: 5, end: 6, service: 'orders', kind: 'Client', attrs: { 'db.system': 'redis' } },
        ),
      ),
    );
    const db = g.nodes.find((n) => n.id === 'database:postgresql:orders')!;
    expect(db).toMatchObject({ type: 'database', label: 'orders', system: 'postgresql', errorCount: 1 });
    expect(g.nodes.find((n) => n.id === 'database:redis:redis')).toMatchObject({ label: 'redis', system: 'redis' });
    expect(edges(g)).toEqual([
      'service:orders -> database:postgresql:orders ×2 !1',
      'service:orders -> database:redis:redis ×1',
    ]);
  });

  it('routes messaging through a destination node instead of a direct producer -> consumer edge', () => {
    const g = buildServiceGraph(
      buildSpanTree(
        spans(
          { id: 'r', start: 0, end: 10, service: 'checkout', kind: 'Server' },
          { id: 'p', parent: 'r', start: 1, end: 2, service: 'checkout', kind: 'Producer', attrs: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' } },
          { id: 'c', parent: 'p', start: 5, end: 8, service: 'shipping', kind: 'Consumer', attrs: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' } },
          { id: 'w', parent: 'c', start: 6, end: 7, service: 'shipping' },
        ),
      ),
    );
    expect(g.nodes.map((n) => n.id)).toEqual(['messaging:kafka:orders', 'service:checkout', 'service:shipping']);
    expect(edges(g)).toEqual(['messaging:kafka:orders -> service:shipping ×1', 'service:checkout -> messaging:kafka:orders ×1']);
  });

  it('gives spans without service.name one "(unknown service)" node', () => {
    const g = buildServiceGraph(
      buildSpanTree(
        spans(
          { id: 'r', start: 0, end: 10, service: 'web' },
          { id: 'a', parent: 'r', start: 1, end: 2, service: null },
          { id: 'b', parent: 'r', start: 3, end: 4, service: null },
        ),
      ),
    );
    expect(g.nodes.find((n) => n.id === 'service:(unknown service)')).toMatchObject({ label: '(unknown service)', spanCount: 2 });
    expect(edges(g)).toEqual(['service:web -> service:(unknown service) ×2']);
  });

  it('adds uninstrumented peers for leaf client spans only', () => {
    const g = buildServiceGraph(
      buildSpanTree(
        spans(
          { id: 'r', start: 0, end: 10, service: 'web', kind: 'Server' },
          { id: 'ext', parent: 'r', start: 1, end: 2, service: 'web', kind: 'Client', attrs: { 'server.address': 'api.stripe.com' }, status: 'Error' },
          { id: 'inst', parent: 'r', start: 3, end: 6, service: 'web', kind: 'Client', attrs: { 'peer.service': 'cart' } },
          { id: 'cs', parent: 'inst', start: 4, end: 5, service: 'cart', kind: 'Server' },
        ),
      ),
    );
    expect(g.nodes.find((n) => n.id === 'external:api.stripe.com')).toMatchObject({ type: 'external', errorCount: 1 });
    expect(g.nodes.find((n) => n.id === 'external:cart')).toBeUndefined();
    expect(edges(g)).toEqual(['service:web -> external:api.stripe.com ×1 !1', 'service:web -> service:cart ×1']);
  });

  it('handles orphans and cycles: edges only where a parent is known', () => {
    const g = buildServiceGraph(
      buildSpanTree(spans({ id: 'o', parent: 'gone', start: 0, end: 1, service: 'a' }, { id: 'x', parent: 'y', start: 0, end: 3, service: 'b' }, { id: 'y', parent: 'x', start: 1, end: 2, service: 'c' })),
    );
    expect(g.nodes).toHaveLength(3);
    expect(edges(g)).toEqual(['service:b -> service:c ×1']);
  });
});
