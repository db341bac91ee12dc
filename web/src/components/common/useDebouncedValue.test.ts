import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useDebouncedValue } from './useDebouncedValue';

describe('useDebouncedValue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('settles once, 150 ms after the last of 20 quick changes', () => {
    const seen: string[] = [];
    const { result, rerender } = renderHook(({ v }) => {
      const [d] = useDebouncedValue(v, 150);
      if (seen[seen.length - 1] !== d) seen.push(d);
      return d;
    }, { initialProps: { v: '' } });
    const text = 'http.route=/checkout';
    expect(text.length).toBe(20);
    for (let i = 1; i <= text.length; i++) {
      rerender({ v: text.slice(0, i) });
      act(() => vi.advanceTimersByTime(50));
    }
    expect(result.current).toBe('');
    act(() => vi.advanceTimersByTime(99));
    expect(result.current).toBe('');
    act(() => vi.advanceTimersByTime(1));
    expect(result.current).toBe(text);
    // The initial value and the final one: nothing in between was ever the result.
    expect(seen).toEqual(['', text]);
  });

  it('returns the first value at once and follows a pause between changes', () => {
    const { result, rerender } = renderHook(({ v }) => useDebouncedValue(v, 150)[0], { initialProps: { v: 'a' } });
    expect(result.current).toBe('a');
    rerender({ v: 'ab' });
    act(() => vi.advanceTimersByTime(150));
    expect(result.current).toBe('ab');
    rerender({ v: 'abc' });
    act(() => vi.advanceTimersByTime(149));
    expect(result.current).toBe('ab');
    act(() => vi.advanceTimersByTime(1));
    expect(result.current).toBe('abc');
  });

  it('flush settles the latest value without waiting, and keeps its identity', () => {
    const { result, rerender } = renderHook(({ v }) => useDebouncedValue(v, 150), { initialProps: { v: 'k' } });
    const flush = result.current[1];
    rerender({ v: 'kafka' });
    expect(result.current[0]).toBe('k');
    act(() => result.current[1]());
    expect(result.current[0]).toBe('kafka');
    expect(result.current[1]).toBe(flush);
    // The timer set for 'kafka' has nothing left to change.
    act(() => vi.advanceTimersByTime(500));
    expect(result.current[0]).toBe('kafka');
  });
});
