// @vitest-environment node
import { describe, expect, it } from 'vitest';
import {
  apiFilters,
  defaultSearchState,
  describeFilter,
  parseSearchState,
  serializeSearchState,
  timeframeOf,
  type SearchState,
} from './searchState';

const roundTrip = (s: SearchState) => parseSearchState(new URLSearchParams(serializeSearchState(s).toString()));

describe('search state in the URL', () => {
  it('leaves defaults out of the URL', () => {
    expect(serializeSearchState(defaultSearchState()).toString()).toBe('');
    expect(parseSearchState(new URLSearchParams(''))).toEqual(defaultSearchState());
  });

  it('round-trips a full state exactly', () => {
    const s: SearchState = {
      range: { kind: 'relative', preset: '6h' },
      filters: [
        { key: 'span.attributes.http.route', operator: 'equals', value: '/api/orders/{id}' },
        { key: 'span.attributes.http.response.status_code', operator: 'in', value: [500, 503] },
        { key: 'resource.attributes.k8s.pod.name', operator: 'exists' },
        { key: 'span.attributes.retry', operator: 'not_equals', value: true },
        { key: 'span.name', operator: 'contains', value: 'a&b=c "quoted" ,comma ü' },
      ],
      selections: { 'resource.attributes.service.name': ['cart', 'checkout'], 'span.status.code': ['Error'] },
      durationMinNs: 150_000_000n,
      durationMaxNs: 9_007_199_254_740_993n,
      sort: { by: 'duration', ascending: true },
      columns: ['span.attributes.http.route', 'resource.attributes.host.name'],
      extraFacets: ['span.attributes.db.system'],
      live: true,
      chart: 'latency',
      mode: 'traces',
      tracesWithErrors: true,
    };
    expect(roundTrip(s)).toEqual(s);
    expect(serializeSearchState(s).get('chart')).toBe('latency');
    expect(serializeSearchState(defaultSearchState()).get('chart')).toBeNull();
    const heat = { ...s, chart: 'heatmap' as const };
    expect(roundTrip(heat)).toEqual(heat);
    expect(serializeSearchState(heat).get('chart')).toBe('heatmap');
    expect(parseSearchState(new URLSearchParams('chart=bogus')).chart).toBe('count');
    expect(serializeSearchState(s).get('mode')).toBe('traces');
    expect(serializeSearchState(s).get('terr')).toBe('1');
    expect([...serializeSearchState(defaultSearchState()).keys()]).toEqual([]);
  });

  it('round-trips an absolute range and drops live mode for it', () => {
    const s = { ...defaultSearchState(), range: { kind: 'absolute' as const, startMs: 1732662000000, endMs: 1732662059999 }, live: true };
    const back = roundTrip(s);
    expect(back.range).toEqual(s.range);
    expect(back.live).toBe(false);
    expect(serializeSearchState(s).get('live')).toBeNull();
  });

  it('ignores malformed parameters instead of failing', () => {
    const p = new URLSearchParams();
    p.append('filter', 'not json');
    p.append('filter', JSON.stringify(['span.name', 'bogus_op', 'x']));
    p.append('filter', JSON.stringify(['', 'equals', 'x']));
    p.append('filter', JSON.stringify(['span.name', 'equals', { nested: 1 }]));
    p.append('filter', JSON.stringify(['span.name', 'equals', 'ok']));
    p.append('sel', '[1,2]');
    p.set('range', '5y');
    p.set('dmin', '-4');
    p.set('start', '10');
    p.set('end', '5');
    const s = parseSearchState(p);
    expect(s.filters).toEqual([{ key: 'span.name', operator: 'equals', value: 'ok' }]);
    expect(s.selections).toEqual({});
    expect(s.range).toEqual({ kind: 'relative', preset: '1h' });
    expect(s.durationMinNs).toBeNull();
  });
});

describe('apiFilters', () => {
  const s: SearchState = {
    ...defaultSearchState(),
    filters: [{ key: 'span.name', operator: 'exists', value: 'ignored' }],
    selections: { 'span.status.code': ['Error'], 'resource.attributes.service.name': ['a'] },
    durationMinNs: 1000n,
    durationMaxNs: null,
  };

  it('combines built filters, facet selections (in) and duration bounds', () => {
    expect(apiFilters(s)).toEqual([
      { keyValueFilter: { key: 'span.name', operator: 'exists' } },
      { keyValueFilter: { key: 'resource.attributes.service.name', operator: 'in', value: ['a'] } },
      { keyValueFilter: { key: 'span.status.code', operator: 'in', value: ['Error'] } },
      { keyValueFilter: { key: 'externalFields.durationNano', operator: 'gte', value: 1000 } },
    ]);
  });

  it("leaves out a facet's own selection and the duration bounds on request", () => {
    const f = apiFilters(s, { exceptSelection: 'span.status.code', exceptDuration: true });
    expect(f.map((x) => x.keyValueFilter.key)).toEqual(['span.name', 'resource.attributes.service.name']);
  });
});

describe('timeframeOf and describeFilter', () => {
  it('evaluates relative ranges at the given now, exactly in ns', () => {
    expect(timeframeOf({ kind: 'relative', preset: '15m' }, 1_732_662_000_000)).toEqual({
      startTimeUnixNanoSec: 1_732_661_100_000_000_000n,
      endTimeUnixNanoSec: 1_732_662_000_000_000_000n,
    });
    expect(timeframeOf({ kind: 'absolute', startMs: 1, endMs: 2 }, 0)).toEqual({ startTimeUnixNanoSec: 1_000_000n, endTimeUnixNanoSec: 2_000_000n });
  });

  it('describes filters for chips', () => {
    expect(describeFilter({ key: 'k', operator: 'in', value: ['a', 1] })).toBe('k in ("a", 1)');
    expect(describeFilter({ key: 'k', operator: 'not_exists' })).toBe('k does not exist');
    expect(describeFilter({ key: 'k', operator: 'gte', value: 5 })).toBe('k ≥ 5');
  });
});
