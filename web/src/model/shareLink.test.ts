// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { parseSearchState } from './searchState';
import { absoluteSearchLink } from './shareLink';

const NOW = 1_796_480_319_497; // 2026-12-05 14:18:39.497 UTC

describe('absoluteSearchLink', () => {
  it('pins the default hour to the hour ending now', () => {
    expect(absoluteSearchLink('http://h:8080/', NOW)).toBe('http://h:8080/?start=1796476719497&end=1796480319497');
  });

  it('pins a preset, drops live mode and keeps the other parameters in order', () => {
    const filter = encodeURIComponent(JSON.stringify(['span.name', 'equals', 'GET /']));
    const href = `http://h/?range=6h&filter=${filter}&live=1&sort=duration&col=http.route#top`;
    const link = absoluteSearchLink(href, NOW);
    // (URLSearchParams writes a space as "+", as the search page's own URLs do)
    const written = filter.replace('%20', '+');
    expect(link).toBe(`http://h/?start=1796458719497&end=1796480319497&filter=${written}&sort=duration&col=http.route#top`);
    const state = parseSearchState(new URL(link).searchParams);
    expect(state.range).toEqual({ kind: 'absolute', startMs: NOW - 6 * 3_600_000, endMs: NOW });
    expect(state.live).toBe(false);
    expect(state.filters).toEqual([{ key: 'span.name', operator: 'equals', value: 'GET /' }]);
    expect(state.sort).toEqual({ by: 'duration', ascending: false });
  });

  it('keeps an absolute range as it is, whatever the time now', () => {
    expect(absoluteSearchLink('http://h/?start=1000&end=2000&chart=latency', NOW)).toBe('http://h/?start=1000&end=2000&chart=latency');
  });

  it('reads an unusable range as the default hour, as the search page does', () => {
    expect(absoluteSearchLink('http://h/?range=2y&start=5&end=1', NOW)).toBe('http://h/?start=1796476719497&end=1796480319497');
  });

  it('rounds a fractional now to whole milliseconds', () => {
    expect(absoluteSearchLink('http://h/?range=15m', NOW + 0.6)).toBe('http://h/?start=1796479419498&end=1796480319498');
  });
});
