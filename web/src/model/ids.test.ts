// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { normalizeTraceId } from './ids';

describe('normalizeTraceId', () => {
  it('accepts 32 hex digits in any case, with spaces or 0x', () => {
    expect(normalizeTraceId(' 0AF7651916CD43DD8448EB211C80319C ')).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(normalizeTraceId('0x0af7651916cd43dd8448eb211c80319c')).toBe('0af7651916cd43dd8448eb211c80319c');
  });
  it('pads 64-bit ids', () => {
    expect(normalizeTraceId('8448eb211c80319c')).toBe('00000000000000008448eb211c80319c');
  });
  it('rejects anything else', () => {
    for (const bad of ['', 'xyz', '123', '0af7651916cd43dd8448eb211c80319c00', 'g'.repeat(32)]) expect(normalizeTraceId(bad)).toBeNull();
  });
});
