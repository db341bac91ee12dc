// Trace and span id handling at the UI edge.

/**
 * A typed-in trace id as the API's lowercase 32-hex form: whitespace and a 0x prefix are
 * dropped, 16-digit (64-bit, e.g. Zipkin) ids are left-padded with zeros. null when invalid.
 */
export function normalizeTraceId(text: string): string | null {
  let t = text.trim().toLowerCase();
  if (t.startsWith('0x')) t = t.slice(2);
  if (!/^[0-9a-f]{1,32}$/.test(t)) return null;
  if (t.length !== 32 && t.length !== 16) return null;
  return t.padStart(32, '0');
}
