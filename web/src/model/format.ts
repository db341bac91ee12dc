// Formatting of durations, timestamps and counts, and parsing of typed-in durations. Pure.

const UNITS: { ns: number; label: string }[] = [
  { ns: 1, label: 'ns' },
  { ns: 1e3, label: 'µs' },
  { ns: 1e6, label: 'ms' },
  { ns: 1e9, label: 's' },
];

/** Three significant digits, no trailing zeros: 1.5, 12.3, 123. */
function sig3(v: number): string {
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return String(Number(v.toFixed(digits)));
}

/**
 * A duration for people: "850 ns", "1.5 µs", "12.3 ms", "1.25 s", "2m 3s", "1h 2m", "3d 4h".
 * Below a minute three significant digits; rounding never shows 1000 of a unit.
 */
export function formatDuration(ns: bigint | number): string {
  let n = typeof ns === 'bigint' ? Number(ns) : ns;
  if (!Number.isFinite(n)) return '–';
  const sign = n < 0 ? '-' : '';
  n = Math.abs(n);
  if (n < 60e9) {
    for (let i = 0; i < UNITS.length; i++) {
      const u = UNITS[i];
      const next = UNITS[i + 1];
      if (next && n >= next.ns) continue;
      let text = sig3(n / u.ns);
      if (Number(text) >= 1000 && next) text = sig3(n / next.ns) + ' ' + next.label;
      else text += ' ' + u.label;
      if (i === 0) text = `${Math.round(n)} ns`;
      return sign + text;
    }
  }
  const totalSeconds = Math.round(n / 1e9);
  const d = Math.floor(totalSeconds / 86400);
  const h = Math.floor((totalSeconds % 86400) / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (d > 0) return `${sign}${d}d ${h}h`;
  if (h > 0) return `${sign}${h}h ${m}m`;
  return `${sign}${m}m ${s}s`;
}

const pad = (v: number, w = 2) => String(v).padStart(w, '0');

/** "2024-11-26 22:57:03.123" in the browser's time zone. */
export function formatTimestamp(epochMs: number, withMillis = true): string {
  const d = new Date(epochMs);
  const base =
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMillis ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

/** The value of an <input type="datetime-local" step="1">: "2024-11-26T22:57:03", local time. */
export function toDatetimeLocal(epochMs: number): string {
  const d = new Date(epochMs);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** Parses a datetime-local value as local time; null when invalid. */
export function fromDatetimeLocal(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return null;
  const d = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], m[6] ? +m[6] : 0, 0);
  return Number.isNaN(d.getTime()) ? null : d.getTime();
}

/** "UTC+01:00" for the browser's current offset. */
export function timeZoneLabel(epochMs = Date.now()): string {
  const offset = -new Date(epochMs).getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  let name = '';
  try {
    name = Intl.DateTimeFormat().resolvedOptions().timeZone ?? '';
  } catch {
    name = '';
  }
  const utc = `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return name ? `${name} (${utc})` : utc;
}

/** "1,234" */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** "just now", "5 s ago", "3 min ago" */
export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 1) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  return `${Math.floor(m / 60)} h ago`;
}

const PARSE_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  µs: 1000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  min: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/**
 * "150ms", "1.5 s", "200us", "2m" -> nanoseconds; a bare number means milliseconds.
 * null for anything else (empty, negative, unknown unit).
 */
export function parseDuration(text: string): bigint | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|min|h)?\s*$/.exec(text);
  if (!m) return null;
  const unit = PARSE_UNITS[m[2] ?? 'ms'];
  const [whole, frac = ''] = m[1].split('.');
  // Exact decimal maths: value = whole.frac * unit.
  const scale = 10n ** BigInt(frac.length);
  return (BigInt(whole) * scale + BigInt(frac || '0')) * unit / scale;
}

/** A duration as text that parseDuration reads back exactly: "150ms", "1500us", "2s". */
export function durationInputText(ns: bigint): string {
  for (const [unit, size] of [['s', 1_000_000_000n], ['ms', 1_000_000n], ['us', 1000n]] as const) {
    if (ns >= size && ns % size === 0n) return `${ns / size}${unit}`;
  }
  for (const [unit, size] of [['s', 1_000_000_000n], ['ms', 1_000_000n], ['us', 1000n]] as const) {
    if (ns >= size) {
      const frac = (ns % size).toString().padStart(size.toString().length - 1, '0').replace(/0+$/, '');
      return `${ns / size}.${frac}${unit}`;
    }
  }
  return `${ns}ns`;
}
