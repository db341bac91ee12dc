// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { ERROR_COLOR, serviceColor, viewServiceColors } from './colors';

describe('service colours', () => {
  it('are stable per name', () => {
    expect(serviceColor('checkout')).toBe(serviceColor('checkout'));
  });
  it('are distinct within a view whatever the order, and never the error red', () => {
    const names = ['frontend', 'cart', 'payment', 'catalog', 'orders', 'shipping', 'frontend', 'db', 'mq', 'auth', 'search', 'ads', 'email'];
    const color = viewServiceColors(names);
    const distinct = new Set([...new Set(names)].map(color));
    expect(distinct.size).toBe(12); // 12 of the 12 distinct names fit the palette, the 13th shares
    expect(distinct.has(ERROR_COLOR)).toBe(false);
    const reversed = viewServiceColors([...names].reverse());
    for (const n of names) expect(reversed(n)).toBe(color(n));
    expect(color('unknown-to-view')).toBe(serviceColor('unknown-to-view'));
  });
  it('keep the hash colour unless another service of the view holds it', () => {
    // Two names with the same hash colour: the first by name keeps it, the other moves.
    const base = 'svc-0';
    let twin = '';
    for (let i = 1; !twin; i++) if (serviceColor(`svc-${i}`) === serviceColor(base)) twin = `svc-${i}`;
    let alone = '';
    for (let i = 0; !alone; i++) if (serviceColor(`zz-${i}`) !== serviceColor(base)) alone = `zz-${i}`;
    const color = viewServiceColors([twin, base, alone]);
    expect(color(base)).toBe(serviceColor(base));
    expect(color(twin)).not.toBe(serviceColor(twin));
    expect(color(alone)).toBe(serviceColor(alone));
    expect(new Set([color(base), color(twin), color(alone)]).size).toBe(3);
  });
});
