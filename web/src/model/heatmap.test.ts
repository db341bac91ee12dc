import type { HistogramResponse } from '../api/types';
import { DURATION_BOUNDS_NS, cellShade, durationRangeOfRows, heatmapCells, rangeLabel } from './heatmap';

const START = 1_700_000_000_000_000_000n;
const MIN = 60_000_000_000n;
const row = (ns: number) => DURATION_BOUNDS_NS.indexOf(ns);

describe('heatmap', () => {
  it('has 1-2-5 duration bounds from 0 to 1000 s', () => {
    expect(DURATION_BOUNDS_NS.slice(0, 5)).toEqual([0, 1e3, 2e3, 5e3, 1e4]);
    expect(DURATION_BOUNDS_NS.at(-1)).toBe(1e12);
    expect(DURATION_BOUNDS_NS).toHaveLength(29);
    for (let i = 1; i < DURATION_BOUNDS_NS.length; i++) expect(DURATION_BOUNDS_NS[i]).toBeGreaterThan(DURATION_BOUNDS_NS[i - 1]);
  });

  it('places counts by slot and range, rows spanning the lowest to the highest non-empty range', () => {
    const resp: HistogramResponse = {
      histograms: [
        {
          histogramLabel: 'heat',
          buckets: [
            { bucketKey: START, data: { totalCount: 4, subBuckets: [{ key: 1_000_000, count: 3 }, { key: 5_000_000, count: 1 }] } },
            { bucketKey: START + 2n * MIN, data: { totalCount: 2, subBuckets: [{ key: 2_000_000, count: 2 }] } },
            // Outside the slots, and a key that is not a bound: ignored.
            { bucketKey: START + 3n * MIN, data: { totalCount: 9, subBuckets: [{ key: 1_000_000, count: 9 }] } },
            { bucketKey: START + MIN, data: { totalCount: 7, subBuckets: [{ key: 1_500_000, count: 7 }] } },
          ],
        },
      ],
    };
    const h = heatmapCells(resp, 'heat', START, MIN, 3);
    expect(h.rows).toEqual([row(1e6), row(2e6), row(5e6)]);
    expect(h.counts).toEqual([
      [3, 0, 1],
      [0, 0, 0],
      [0, 2, 0],
    ]);
    expect(h.maxCount).toBe(3);
    expect(h.total).toBe(6);
    expect(heatmapCells(undefined, 'heat', START, MIN, 2)).toEqual({ rows: [], counts: [[], []], maxCount: 0, total: 0 });
  });

  it('shades on a log scale, zero for an empty cell', () => {
    expect(cellShade(0, 100)).toBe(0);
    expect(cellShade(100, 100)).toBeCloseTo(1);
    expect(cellShade(1, 10_000)).toBeGreaterThan(0.15);
    expect(cellShade(1, 10_000)).toBeLessThan(cellShade(10, 10_000));
  });

  it('labels ranges', () => {
    expect(rangeLabel(0)).toBe('< 1 µs');
    expect(rangeLabel(row(1e6))).toBe('1 ms – 2 ms');
    expect(rangeLabel(DURATION_BOUNDS_NS.length - 1)).toBe('≥ 16m 40s');
  });

  it('turns selected rows into an inclusive duration filter', () => {
    expect(durationRangeOfRows(row(2e6), row(1e6))).toEqual({ minNs: 1_000_000n, maxNs: 4_999_999n });
    expect(durationRangeOfRows(0, 0)).toEqual({ minNs: null, maxNs: 999n });
    expect(durationRangeOfRows(row(5e6), DURATION_BOUNDS_NS.length - 1)).toEqual({ minNs: 5_000_000n, maxNs: null });
  });
});
