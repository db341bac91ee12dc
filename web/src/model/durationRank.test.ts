import { durationRank, rankText } from './durationRank';

const stats = { count: 200, p10: 1e6, p25: 2e6, p50: 3e6, p75: 5e6, p90: 8e6, p95: 9e6, p99: 20e6 };

describe('durationRank', () => {
  it('places a duration among its operation', () => {
    expect(durationRank(8_000_000n, stats)).toEqual({ count: 200, atLeastPercentile: 90, p50Ns: 3e6, p99Ns: 20e6 });
    expect(durationRank(25_000_000n, stats)?.atLeastPercentile).toBe(99);
    expect(durationRank(2_999_999n, stats)?.atLeastPercentile).toBe(25);
    expect(durationRank(500_000n, stats)?.atLeastPercentile).toBe(0);
  });

  it('has nothing to say without data', () => {
    expect(durationRank(1n, undefined)).toBeNull();
    expect(durationRank(1n, {})).toBeNull();
    expect(durationRank(1n, { count: 3, p10: 1 })).toBeNull();
  });

  it('says it in words', () => {
    expect(rankText(durationRank(8_000_000n, stats)!)).toBe('as slow as or slower than 90% of 200 spans of its operation');
    expect(rankText(durationRank(500_000n, stats)!)).toBe('faster than 90% of 200 spans of its operation');
    expect(rankText(durationRank(5n, { count: 1, p10: 5, p25: 5, p50: 5, p75: 5, p90: 5, p95: 5, p99: 5 })!)).toBe(
      'the only span of its operation in the window',
    );
  });
});
