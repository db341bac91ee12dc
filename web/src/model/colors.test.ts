// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { ERROR_COLOR, serviceColor, traceServiceColors } from './colors';

describe('service colours', () => {
  it('are stable per name', () => {
    expect(serviceColor('checkout')).toBe(serviceColor('checkout'));
  });
  it('are distinct within a trace, in order of first appearance, and never the error red', () => {
    const names = ['frontend', 'cart', 'payment', 'catalog', 'orders', 'shipping', 'frontend', 'db', 'mq', 'auth', 'search', 'ads', 'email'];
    const color = traceServiceColors(names);
    const distinct = new Set([...new Set(names)].map(color));
    expect(distinct.size).toBe(12);
    expect(distinct.has(ERROR_COLOR)).toBe(false);
    expect(color('unknown-to-trace')).toBe(serviceColor('unknown-to-trace'));
  });
});
