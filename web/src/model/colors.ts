// Service colours. Across the app a service gets a colour from a stable hash of its name. Inside a
// view that knows its services (a trace), they get distinct colours (up to the palette's size):
// each keeps its hash colour unless another service of the view already holds it, so a service
// looks the same on the search page and in nearly every trace.

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

/**
 * Distinct colours for the services of one view, whatever order they are given in: in name
 * order, each takes its hash colour if still free; then the others take the next free colour
 * after theirs. Past the palette's size the rest keep their hash colours.
 */
export function viewServiceColors(services: Iterable<string>): (service: string) => string {
  const names = [...new Set(services)].sort();
  const owner: (string | undefined)[] = new Array(PALETTE.length);
  const slot = new Map<string, number>();
  const moved: string[] = [];
  for (const s of names) {
    const preferred = hash(s) % PALETTE.length;
    if (owner[preferred] === undefined) {
      owner[preferred] = s;
      slot.set(s, preferred);
    } else {
      moved.push(s);
    }
  }
  for (const s of moved) {
    const preferred = hash(s) % PALETTE.length;
    for (let k = 1; k < PALETTE.length; k++) {
      const i = (preferred + k) % PALETTE.length;
      if (owner[i] === undefined) {
        owner[i] = s;
        slot.set(s, i);
        break;
      }
    }
  }
  return (s) => {
    const i = slot.get(s);
    return i === undefined ? serviceColor(s) : PALETTE[i];
  };
}

export const ERROR_COLOR = '#e03131';
