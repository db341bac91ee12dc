// @vitest-environment node
import { describe, expect, it } from 'vitest';
import {
  spansSummary,
  describeTimeZone,
  durationInputText,
  formatAgo,
  formatDuration,
  formatTimeRange,
  formatTimestamp,
  fromDatetimeInput,
  parseDuration,
  toDatetimeInput,
  zoneLabel,
} from './format';

describe('formatDuration', () => {
  it.each([
    [0, '0 ns'],
    [850, '850 ns'],
    [999, '999 ns'],
    [1000, '1 µs'],
    [1500, '1.5 µs'],
    [12_345, '12.3 µs'],
    [123_456, '123 µs'],
    [999_999, '1 ms'],
    [1_000_000, '1 ms'],
    [12_340_000, '12.3 ms'],
    [999_600_000, '1 s'],
    [1_250_000_000, '1.25 s'],
    [59_000_000_000, '59 s'],
    [60_000_000_000, '1m 0s'],
    [123_000_000_000, '2m 3s'],
    [3_720_000_000_000, '1h 2m'],
    [273_600_000_000_000, '3d 4h'],
    [-1500, '-1.5 µs'],
  ])('%d ns -> %s', (ns, text) => {
    expect(formatDuration(ns)).toBe(text);
  });

  it('accepts BigInt nanoseconds beyond 2^53', () => {
    expect(formatDuration(9_007_199_254_740_993n)).toBe('104d 5h');
    expect(formatDuration(1_500n)).toBe('1.5 µs');
  });
});

describe('parseDuration', () => {
  it.each([
    ['150ms', 150_000_000n],
    ['1.5s', 1_500_000_000n],
    [' 1.5 s ', 1_500_000_000n],
    ['200us', 200_000n],
    ['200µs', 200_000n],
    ['30ns', 30n],
    ['2m', 120_000_000_000n],
    ['1h', 3_600_000_000_000n],
    ['250', 250_000_000n],
    ['0.000001ms', 1n],
  ])('%s -> %s', (text, ns) => {
    expect(parseDuration(text)).toBe(ns);
  });

  it.each(['', 'abc', '-5ms', '5 parsecs', '1e3ms'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeNull();
  });

  it('round-trips through durationInputText', () => {
    for (const ns of [1n, 999n, 1000n, 1500n, 150_000_000n, 1_234_567_891n, 60_000_000_000n]) {
      expect(parseDuration(durationInputText(ns))).toBe(ns);
    }
    expect(durationInputText(150_000_000n)).toBe('150ms');
    expect(durationInputText(1_500_000n)).toBe('1500us');
  });
});

// Every zone is named explicitly, so these pass whatever the machine's TZ is.
const T = Date.UTC(2026, 11, 4, 14, 18, 39, 497); // 2026-12-04 14:18:39.497 UTC
const SUMMER = Date.UTC(2026, 6, 1, 12, 0, 0, 5);

describe('timestamps', () => {
  it('formats in UTC with the label UTC', () => {
    expect(formatTimestamp(T, 'UTC')).toBe('2026-12-04 14:18:39.497 UTC');
    expect(formatTimestamp(T, 'UTC', false)).toBe('2026-12-04 14:18:39 UTC');
    expect(formatTimestamp(Date.UTC(1999, 0, 2, 3, 4, 5, 6), 'UTC')).toBe('1999-01-02 03:04:05.006 UTC');
  });

  it('formats in a named zone with its offset at that instant', () => {
    expect(formatTimestamp(T, 'Asia/Tokyo')).toBe('2026-12-04 23:18:39.497 UTC+09:00');
    expect(formatTimestamp(T + 10 * 3_600_000, 'Asia/Tokyo', false)).toBe('2026-12-05 09:18:39 UTC+09:00');
    expect(formatTimestamp(T, 'Asia/Kolkata')).toBe('2026-12-04 19:48:39.497 UTC+05:30');
    expect(formatTimestamp(T, 'America/New_York')).toBe('2026-12-04 09:18:39.497 UTC-05:00');
    expect(formatTimestamp(SUMMER, 'America/New_York')).toBe('2026-07-01 08:00:00.005 UTC-04:00');
    expect(formatTimestamp(T, 'Europe/London')).toBe('2026-12-04 14:18:39.497 UTC+00:00');
    // Midnight is 00, not 24.
    expect(formatTimestamp(Date.UTC(2026, 11, 4, 15, 0, 0, 0), 'Asia/Tokyo')).toBe('2026-12-05 00:00:00.000 UTC+09:00');
  });

  it('labels zones', () => {
    expect(zoneLabel(T, 'UTC')).toBe('UTC');
    expect(zoneLabel(T, 'America/St_Johns')).toBe('UTC-03:30');
    expect(describeTimeZone('UTC', T)).toBe('UTC');
    expect(describeTimeZone('Asia/Tokyo', T)).toBe('Asia/Tokyo (UTC+09:00)');
  });

  it('formats a range with the zone once, or at both ends across an offset change', () => {
    expect(formatTimeRange(T - 3_600_000, T, 'UTC')).toBe('2026-12-04 13:18:39 → 2026-12-04 14:18:39 UTC');
    expect(formatTimeRange(T - 3_600_000, T, 'Asia/Tokyo')).toBe('2026-12-04 22:18:39 → 2026-12-04 23:18:39 UTC+09:00');
    // Europe/Berlin leaves summer time at 01:00 UTC on 2026-10-25.
    expect(formatTimeRange(Date.UTC(2026, 9, 25, 0, 30), Date.UTC(2026, 9, 25, 1, 30), 'Europe/Berlin')).toBe(
      '2026-10-25 02:30:00 UTC+02:00 → 2026-10-25 02:30:00 UTC+01:00',
    );
  });

  it('round-trips datetime-local values in a named zone', () => {
    expect(toDatetimeInput(T, 'UTC')).toBe('2026-12-04T14:18:39');
    expect(toDatetimeInput(T, 'Asia/Tokyo')).toBe('2026-12-04T23:18:39');
    expect(fromDatetimeInput('2026-12-04T14:18:39', 'UTC')).toBe(T - 497);
    expect(fromDatetimeInput('2026-12-04T23:18:39', 'Asia/Tokyo')).toBe(T - 497);
    expect(fromDatetimeInput('2026-12-04T23:18', 'Asia/Tokyo')).toBe(T - 39_497);
    expect(fromDatetimeInput('2026-07-01T08:00:00', 'America/New_York')).toBe(SUMMER - 5);
    expect(fromDatetimeInput('yesterday', 'UTC')).toBeNull();
    expect(fromDatetimeInput('2026-02-30T10:00', 'UTC')).toBeNull();
    expect(fromDatetimeInput('2026-12-04T24:00', 'UTC')).toBeNull();
  });

  it('reads clock times around offset changes', () => {
    // 02:30 happens twice in Berlin on 2026-10-25: the earlier, still in summer time.
    expect(fromDatetimeInput('2026-10-25T02:30:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 9, 25, 0, 30));
    // 02:30 never happens on 2026-03-29 (01:59:59 CET is followed by 03:00 CEST): read as CET.
    expect(fromDatetimeInput('2026-03-29T02:30:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 29, 1, 30));
    expect(fromDatetimeInput('2026-03-29T03:30:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 29, 1, 30));
  });

  it('says how long ago', () => {
    expect(formatAgo(200)).toBe('just now');
    expect(formatAgo(5_400)).toBe('5 s ago');
    expect(formatAgo(180_000)).toBe('3 min ago');
  });
});

describe('spansSummary', () => {
  it('counts what is loaded, and of how many when more can load', () => {
    expect(spansSummary(28, false, 28)).toBe('28 spans');
    expect(spansSummary(1, false, undefined)).toBe('1 span');
    expect(spansSummary(100, true, 50_028)).toBe('100 of 50,028 spans loaded (scroll for more)');
    expect(spansSummary(100, true, undefined)).toBe('100 spans loaded (scroll for more)');
  });
});
