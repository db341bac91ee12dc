// JSON that keeps 64-bit integers exact.
//
// The v1 API writes nanosecond times as bare JSON integers around 1.7e18, past 2^53, where
// JSON.parse would round them to the nearest multiple of 256 ns. parseApiJson() first rewrites
// every integer literal too long for a double into a marked string, then JSON.parse turns them
// back: values of the nanosecond keys (NANO_KEYS) become exact decimal strings, any other long
// integer (an int64 attribute) a BigInt. Nanosecond values short enough for a double (0, test
// data) become strings too, so a NanoString field is always a string.
//
// stringifyApiJson() is the inverse for requests: BigInt values are written as bare integers.
import { NANO_KEYS } from './types';

const MARK = '\u0000int:';
/** Longest integer literal that a double always represents exactly (2^53 has 16 digits). */
const MAX_SAFE_DIGITS = 15;

/**
 * Rewrites integer literals of more than 15 digits outside strings as `"\u0000int:<digits>"`.
 * A linear scan, so a 50 MB trace costs one pass and no regex backtracking.
 */
export function quoteLongIntegers(text: string): string {
  const out: string[] = [];
  let last = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // Skip the whole string literal, honouring escapes.
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i += 2;
        else if (d === 34) break;
        else i++;
      }
      i++;
      continue;
    }
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i;
      if (c === 45) i++;
      const digitsStart = i;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d < 48 || d > 57) break;
        i++;
      }
      const digits = i - digitsStart;
      // A fraction or exponent makes it a double: leave it to JSON.parse.
      let isInteger = true;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 46 /* . */ || d === 101 /* e */ || d === 69 /* E */ || d === 43 || d === 45 ||
            (d >= 48 && d <= 57)) {
          isInteger = false;
          i++;
        } else {
          break;
        }
      }
      if (isInteger && digits > MAX_SAFE_DIGITS) {
        out.push(text.slice(last, start), '"\\u0000int:', text.slice(start, i), '"');
        last = i;
      }
      continue;
    }
    i++;
  }
  if (last === 0) return text;
  out.push(text.slice(last));
  return out.join('');
}

function revive(this: unknown, key: string, value: unknown): unknown {
  if (typeof value === 'string') {
    if (value.startsWith(MARK)) {
      const digits = value.slice(MARK.length);
      return NANO_KEYS.has(key) ? digits : BigInt(digits);
    }
    return value;
  }
  if (typeof value === 'number' && NANO_KEYS.has(key) && Number.isInteger(value)) {
    return String(value);
  }
  return value;
}

/** JSON.parse for API responses; throws SyntaxError on invalid JSON. */
export function parseApiJson<T>(text: string): T {
  return JSON.parse(quoteLongIntegers(text), revive) as T;
}

/** JSON.stringify that writes BigInt values as bare integers (exact u64 nanoseconds). */
export function stringifyApiJson(value: unknown, space?: number): string {
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === 'bigint' ? `${MARK}${v.toString()}` : v),
    space,
  );
  return text.replace(/"\\u0000int:(-?\d+)"/g, '$1');
}

/**
 * Pretty-prints an API object as the server sent it: nanosecond strings and BigInts as bare
 * integers (for the raw JSON view).
 */
export function prettyApiJson(value: unknown): string {
  const text = JSON.stringify(
    value,
    (key, v: unknown) => {
      if (typeof v === 'bigint') return `${MARK}${v.toString()}`;
      if (typeof v === 'string' && NANO_KEYS.has(key) && /^\d+$/.test(v)) return `${MARK}${v}`;
      return v;
    },
    2,
  );
  return text.replace(/"\\u0000int:(-?\d+)"/g, '$1');
}

// ---- Fast path for span responses -------------------------------------------------------------
// JSON.parse with a reviver is several times slower than without one (every value crosses back
// into JS), which is seconds for a 50,000-span trace. Span responses have a known shape, so they
// are parsed without a reviver and fixed up where long integers can be: the nanosecond fields and
// attribute values.

function nano(v: unknown): string {
  if (typeof v === 'string') return v.startsWith(MARK) ? v.slice(MARK.length) : v;
  return typeof v === 'number' ? String(v) : '0';
}

function fixValue(v: unknown): unknown {
  if (typeof v === 'string') return v.charCodeAt(0) === 0 && v.startsWith(MARK) ? BigInt(v.slice(MARK.length)) : v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = fixValue(v[i]);
    return v;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k in o) o[k] = fixValue(o[k]);
  }
  return v;
}

interface RawSpan {
  resource?: { attributes?: unknown };
  scope?: { attributes?: unknown };
  span: {
    startTimeUnixNano: unknown;
    endTimeUnixNano: unknown;
    attributes?: unknown;
    events?: { timeUnixNano: unknown; attributes?: unknown }[];
    links?: { attributes?: unknown }[];
  };
  externalFields?: { durationNano: unknown };
  ingestionTimeUnixNano?: unknown;
}

function fixSpan(s: RawSpan): void {
  const sp = s.span;
  sp.startTimeUnixNano = nano(sp.startTimeUnixNano);
  sp.endTimeUnixNano = nano(sp.endTimeUnixNano);
  if (s.externalFields) s.externalFields.durationNano = nano(s.externalFields.durationNano);
  if (s.ingestionTimeUnixNano !== undefined) s.ingestionTimeUnixNano = nano(s.ingestionTimeUnixNano);
  fixValue(s.resource?.attributes);
  fixValue(s.scope?.attributes);
  fixValue(sp.attributes);
  for (const e of sp.events ?? []) {
    e.timeUnixNano = nano(e.timeUnixNano);
    fixValue(e.attributes);
  }
  for (const l of sp.links ?? []) fixValue(l.attributes);
}

/** parseApiJson for `{metadata, spans: InternalSpan[]}` responses, without a reviver. */
export function parseSpansJson<T>(text: string): T {
  const obj = JSON.parse(quoteLongIntegers(text)) as { spans?: RawSpan[] };
  for (const s of obj.spans ?? []) fixSpan(s);
  return obj as T;
}
