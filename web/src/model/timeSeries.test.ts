import type { HistogramResponse } from '../api/types';
import { bucketWidthText, countBuckets, latencyBuckets, latencyPolylines } from './timeSeries';

const START = 1_700_000_000_000_000_000n;
const MIN = 60_000_000_000n;

const response: HistogramResponse = {
  histograms: [
    {
      histogramLabel: 'latency',
      buckets: [
        { bucketKey: START, data: { '50.0': 2_000_000, '90.0': 5_000_000, '99.0': 7_000_000 } },
        { bucketKey: START + 2n * MIN, data: { '50.0': 1_000_000, '90.0': 1_000_000, '99.0': 3_000_000 } },
        { bucketKey: START + 3n * MIN, data: { '50.0': 4_000_000, '90.0': 4_000_000, '99.0': 4_000_000 } },
        // Outside the chart: before its start and past its last bucket.
        { bucketKey: START - MIN, data: { '50.0': 9, '90.0': 9, '99.0': 9 } },
        { bucketKey: START + 4n * MIN, data: { '50.0': 9, '90.0': 9, '99.0': 9 } },
      ],
    },
    {
      histogramLabel: 'spans',
      buckets: [
        { bucketKey: START, data: { totalCount: 5, subBuckets: [{ key: 'Unset', count: 3 }, { key: 'Error', count: 2 }] } },
        { bucketKey: START + 2n * MIN, data: { totalCount: 1, subBuckets: [{ key: 'Ok', count: 1 }] } },
        { bucketKey: START + 3n * MIN, data: 4 },
      ],
    },
  ],
};

describe('timeSeries', () => {
  it('counts spans and errors per bucket', () => {
    expect(countBuckets(response, 'spans', START, MIN, 4)).toEqual([
      { total: 5, errors: 2 },
      { total: 0, errors: 0 },
      { total: 1, errors: 0 },
      { total: 4, errors: 0 },
    ]);
    expect(countBuckets(undefined, 'spans', START, MIN, 2)).toEqual([
      { total: 0, errors: 0 },
      { total: 0, errors: 0 },
    ]);
  });

  it('reads p50/p90/p99 per bucket, null where no span started', () => {
    expect(latencyBuckets(response, 'latency', START, MIN, 4)).toEqual([
      { p50: 2_000_000, p90: 5_000_000, p99: 7_000_000 },
      null,
      { p50: 1_000_000, p90: 1_000_000, p99: 3_000_000 },
      { p50: 4_000_000, p90: 4_000_000, p99: 4_000_000 },
    ]);
    // A count histogram under the latency label is not mistaken for percentiles.
    expect(latencyBuckets(response, 'spans', START, MIN, 4)).toEqual([null, null, null, null]);
  });

  it('draws one polyline per run of buckets, scaled to the maximum', () => {
    const b = latencyBuckets(response, 'latency', START, MIN, 4);
    // Height 66: the maximum (7 ms) is drawn at y = 2, zero at y = 66.
    expect(latencyPolylines(b, 'p99', 7_000_000, 66)).toEqual(['0.5,2', '2.5,38.571 3.5,29.429']);
    expect(latencyPolylines([null, null], 'p50', 0, 66)).toEqual([]);
  });

  it('names the bucket width', () => {
    expect(bucketWidthText(MIN)).toBe('1 min');
    expect(bucketWidthText(90_000_000_000n)).toBe('1.5 min');
    expect(bucketWidthText(15_000_000_000n)).toBe('15 s');
    expect(bucketWidthText(2n * 3_600_000_000_000n)).toBe('2 h');
    expect(bucketWidthText(500n)).toBe('500 ns');
  });
});
