import type { HistogramResponse } from '../api/types';
import { ONE_BUCKET, groupLatency, serviceRows, servicesGraph, sparkline } from './servicesOverview';

const G = 1_700_000_000_000_000_000n;
const I = 60_000_000_000n;
const grouped = (buckets: [bigint, [string, number][]][]): HistogramResponse => ({
  histograms: [
    {
      histogramLabel: 'requests',
      buckets: buckets.map(([key, subs]) => ({
        bucketKey: key,
        data: { totalCount: subs.reduce((n, [, c]) => n + c, 0), subBuckets: subs.map(([k, count]) => ({ key: k, count })) },
      })),
    },
  ],
});

describe('servicesOverview', () => {
  it('counts requests and errors per service and slot, busiest first', () => {
    const requests = grouped([
      [G, [['cart', 3], ['web', 5]]],
      [G + 2n * I, [['web', 1], ['api', 4]]],
      [G + 9n * I, [['web', 100]]], // past the grid: ignored
    ]);
    const errors = grouped([[G + 2n * I, [['api', 2]]]]);
    expect(serviceRows(requests, errors, G, I, 3)).toEqual([
      { service: 'web', requests: 6, errors: 0, requestSeries: [5, 0, 1], errorSeries: [0, 0, 0] },
      { service: 'api', requests: 4, errors: 2, requestSeries: [0, 0, 4], errorSeries: [0, 0, 2] },
      { service: 'cart', requests: 3, errors: 0, requestSeries: [3, 0, 0], errorSeries: [0, 0, 0] },
    ]);
    expect(serviceRows(undefined, undefined, G, I, 3)).toEqual([]);
  });

  it('reads p50 and p99 per group from a grouped PERCENTILES histogram', () => {
    expect(ONE_BUCKET).toBe(9_223_372_036_854_775_808n);
    const resp: HistogramResponse = {
      histograms: [
        {
          histogramLabel: 'latency',
          buckets: [
            {
              bucketKey: 0,
              data: {
                totalCount: 9,
                subBuckets: [
                  { key: 'web', count: 6, percentiles: { '50.0': 2e6, '99.0': 9e6 } },
                  { key: 'api', count: 2, percentiles: { '50.0': 1e6, '99.0': 1.5e6 } },
                  { key: 'queue', count: 1, percentiles: {} },
                ],
              },
            },
          ],
        },
      ],
    };
    expect([...groupLatency(resp)]).toEqual([
      ['web', { p50: 2e6, p99: 9e6 }],
      ['api', { p50: 1e6, p99: 1.5e6 }],
    ]);
    expect(groupLatency(undefined).size).toBe(0);
  });

  it('draws a sparkline scaled to its maximum', () => {
    expect(sparkline([0, 2, 4], 10, 8)).toBe('0,8 5,4 10,0');
    expect(sparkline([0, 0], 10, 8)).toBe('0,8 10,8');
    expect(sparkline([0, 1, 2], 10, 8, 4)).toBe('0,8 5,6 10,4');
  });

  it('makes a call graph of the services, without calls inside one service', () => {
    const rows = [{ service: 'web', requests: 6, errors: 1, requestSeries: [], errorSeries: [] }];
    const g = servicesGraph(rows, [
      { parent: 'web', child: 'api', callCount: 4, errorCount: 1 },
      { parent: 'web', child: 'web', callCount: 9, errorCount: 0 },
      { parent: 'api', child: 'db-proxy', callCount: 2, errorCount: 0 },
    ]);
    expect(g.nodes).toEqual([
      { id: 'service:api', type: 'service', label: 'api', spanCount: 0, errorCount: 0 },
      { id: 'service:db-proxy', type: 'service', label: 'db-proxy', spanCount: 0, errorCount: 0 },
      { id: 'service:web', type: 'service', label: 'web', spanCount: 6, errorCount: 1 },
    ]);
    expect(g.edges).toEqual([
      { id: 'service:api->service:db-proxy', from: 'service:api', to: 'service:db-proxy', calls: 2, errors: 0 },
      { id: 'service:web->service:api', from: 'service:web', to: 'service:api', calls: 4, errors: 1 },
    ]);
  });
});
