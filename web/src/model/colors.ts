// Service colours. Across the app a service gets a colour from a stable hash of its name; inside
// one trace, services get distinct colours in order of first appearance (up to the palette's
// size), so two services of one trace never share a colour.

// Twelve categorical colours, none of them the error red.
const PALETTE = [
  '#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#17becf', '#edc948',
  '#9c755f', '#ff9da7', '#3b5bdb', '#bcbd22', '#7f3c8d', '#76b7b2',
];

function hash(text: string): number {
  // FNV-1a, 32-bit.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function serviceColor(service: string): string {
  return PALETTE[hash(service) % PALETTE.length];
}

/** Distinct colours for the services of one trace, in the order given (first appearance). */
export function traceServiceColors(services: Iterable<string>): (service: string) => string {
  const map = new Map<string, string>();
  for (const s of services) {
    if (!map.has(s)) map.set(s, map.size < PALETTE.length ? PALETTE[map.size] : serviceColor(s));
  }
  return (s) => map.get(s) ?? serviceColor(s);
}

export const ERROR_COLOR = '#e03131';
