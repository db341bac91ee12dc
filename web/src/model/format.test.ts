// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { durationInputText, formatAgo, formatDuration, formatTimestamp, fromDatetimeLocal, parseDuration, toDatetimeLocal } from './format';

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

describe('timestamps', () => {
  it('formats and parses local times to the second', () => {
    const ms = new Date(2024, 10, 26, 22, 57, 3, 123).getTime();
    expect(formatTimestamp(ms)).toBe('2024-11-26 22:57:03.123');
    expect(formatTimestamp(ms, false)).toBe('2024-11-26 22:57:03');
    expect(toDatetimeLocal(ms)).toBe('2024-11-26T22:57:03');
    expect(fromDatetimeLocal('2024-11-26T22:57:03')).toBe(ms - 123);
    expect(fromDatetimeLocal('2024-11-26T22:57')).toBe(ms - 3123);
    expect(fromDatetimeLocal('yesterday')).toBeNull();
  });

  it('says how long ago', () => {
    expect(formatAgo(200)).toBe('just now');
    expect(formatAgo(5_400)).toBe('5 s ago');
    expect(formatAgo(180_000)).toBe('3 min ago');
  });
});
