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

/** The zone UTC mode shows times in; any other IANA name is shown with its offset. */
export const UTC = 'UTC';

/** The browser's IANA time zone ("Europe/Berlin"), or UTC when the browser does not say. */
export function localTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || UTC;
  } catch {
    return UTC;
  }
}

// Constructing an Intl.DateTimeFormat costs far more than formatting with one: one per zone.
const wallClocks = new Map<string, Intl.DateTimeFormat>();

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Milliseconds within the second (zone offsets are whole seconds, so the same in every zone). */
  ms: number;
}

/** The calendar date and clock time of `epochMs` in `timeZone` (an IANA name). */
function wallTime(epochMs: number, timeZone: string): WallTime {
  let f = wallClocks.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    });
    wallClocks.set(timeZone, f);
  }
  const t: Record<string, number> = {};
  for (const part of f.formatToParts(epochMs)) {
    if (part.type !== 'literal') t[part.type] = Number(part.value);
  }
  return {
    year: t.year,
    month: t.month,
    day: t.day,
    hour: t.hour,
    minute: t.minute,
    second: t.second,
    ms: ((epochMs % 1000) + 1000) % 1000,
  };
}

/** How far `timeZone`'s clocks are ahead of UTC at `epochMs`, in milliseconds. */
export function zoneOffsetMs(epochMs: number, timeZone: string): number {
  const w = wallTime(epochMs, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms);
  return asUtc - epochMs;
}

/**
 * The label shown after a time: "UTC" for the UTC zone itself, otherwise the zone's offset at that
 * instant, "UTC+09:00", "UTC-05:00", "UTC+05:30" ("UTC+00:00" for a local zone at UTC). Offsets,
 * not abbreviations: "CST" names three zones, and most zones have no abbreviation in en-US.
 */
export function zoneLabel(epochMs: number, timeZone: string): string {
  if (timeZone === UTC) return 'UTC';
  const minutes = Math.round(zoneOffsetMs(epochMs, timeZone) / 60_000);
  const abs = Math.abs(minutes);
  return `UTC${minutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function dateTimeText(w: WallTime, withMillis: boolean): string {
  const base = `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
  return withMillis ? `${base}.${pad(w.ms, 3)}` : base;
}

/**
 * A time in `timeZone`, labelled with it: "2026-12-04 14:18:39.497 UTC",
 * "2026-12-04 23:18:39.497 UTC+09:00"; without milliseconds "2026-12-04 14:18:39 UTC".
 * Components use the zone chosen in the header instead: `useTimeZone().formatTime`.
 */
export function formatTimestamp(epochMs: number, timeZone = localTimeZone(), withMillis = true): string {
  return `${dateTimeText(wallTime(epochMs, timeZone), withMillis)} ${zoneLabel(epochMs, timeZone)}`;
}

/**
 * A range to the second, the zone said once when both ends share it:
 * "2026-12-04 14:00:00 → 2026-12-04 15:00:00 UTC"; across an offset change each end has its own.
 */
export function formatTimeRange(startMs: number, endMs: number, timeZone: string): string {
  const [a, b] = [zoneLabel(startMs, timeZone), zoneLabel(endMs, timeZone)];
  const start = dateTimeText(wallTime(startMs, timeZone), false);
  const end = dateTimeText(wallTime(endMs, timeZone), false);
  return a === b ? `${start} → ${end} ${b}` : `${start} ${a} → ${end} ${b}`;
}

/** Says which zone times are in: "UTC", "Asia/Tokyo (UTC+09:00)". */
export function describeTimeZone(timeZone: string, epochMs = Date.now()): string {
  return timeZone === UTC ? UTC : `${timeZone} (${zoneLabel(epochMs, timeZone)})`;
}

/** The value of an <input type="datetime-local" step="1"> showing `epochMs` in `timeZone`: "2024-11-26T22:57:03". */
export function toDatetimeInput(epochMs: number, timeZone: string): string {
  const w = wallTime(epochMs, timeZone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
}

/**
 * Reads a datetime-local value ("2024-11-26T22:57:03", seconds optional) as a clock time in
 * `timeZone`; null when it is not one. A clock time that occurs twice (clocks turned back) is the
 * earlier instant; one that never occurs (clocks turned forward) is read with the offset before
 * the change, as a clock nobody had turned yet would show it.
 */
export function fromDatetimeInput(value: string, timeZone: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [+m[1], +m[2], +m[3], +m[4], +m[5], m[6] ? +m[6] : 0];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return null;
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  if (Number.isNaN(wall) || new Date(wall).getUTCDate() !== d) return null; // 2024-02-30
  // Offsets change at most once a day: the instant is the wall time minus the offset in force a
  // day before or a day after, whichever of them really shows that wall time.
  const before = wall - zoneOffsetMs(wall - 86_400_000, timeZone);
  const after = wall - zoneOffsetMs(wall + 86_400_000, timeZone);
  const fits = [before, after].filter((t) => t + zoneOffsetMs(t, timeZone) === wall);
  return fits.length ? Math.min(...fits) : before;
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

/** "28 spans"; with more to load, "100 of 50,028 spans loaded (scroll for more)". */
export function spansSummary(loaded: number, more: boolean, total: number | undefined): string {
  const n = (v: number) => v.toLocaleString('en-US');
  if (!more) return `${n(loaded)} span${loaded === 1 ? '' : 's'}`;
  if (total !== undefined && total > loaded) return `${n(loaded)} of ${n(total)} spans loaded (scroll for more)`;
  return `${n(loaded)} spans loaded (scroll for more)`;
}
