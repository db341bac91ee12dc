import type { TraceSummary } from '../api/types';
import { sortTraceRows, toTraceRow } from './traceResults';

const summary = (id: string, start: string, duration: string): TraceSummary => ({
  traceId: id.repeat(32),
  rootServiceName: 'web',
  rootName: 'GET /',
  rootFound: true,
  startTimeUnixNano: start,
  durationNano: duration,
  spanCount: 3,
  errorCount: 1,
  services: [{ name: 'web', spanCount: 3, errorCount: 1 }],
  complete: true,
});

describe('traceResults', () => {
  it('keeps nanoseconds exact past 2^53', () => {
    const r = toTraceRow(summary('a', '1700000000000000001', '9007199254740993'));
    expect(r.startNs).toBe(1_700_000_000_000_000_001n);
    expect(r.durationNs).toBe(9_007_199_254_740_993n);
    expect(r.startMs).toBe(1_700_000_000_000);
    expect(r.rootService).toBe('web');
  });

  it('sorts by start or duration, both ways, ties by trace id', () => {
    const rows = [
      summary('c', '1700000000000000003', '5'),
      summary('a', '1700000000000000001', '7'),
      summary('b', '1700000000000000002', '7'),
    ].map(toTraceRow);
    const ids = (list: typeof rows) => list.map((r) => r.traceId[0]).join('');
    expect(ids(sortTraceRows(rows, 'start', false))).toBe('cba');
    expect(ids(sortTraceRows(rows, 'start', true))).toBe('abc');
    expect(ids(sortTraceRows(rows, 'duration', false))).toBe('abc');
    expect(ids(sortTraceRows(rows, 'duration', true))).toBe('cab');
    expect(ids(rows)).toBe('cab');
  });
});
