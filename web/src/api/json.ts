// JSON that keeps 64-bit integers exact, whatever the strings in it contain.
//
// The v1 API writes nanosecond times as bare JSON integers around 1.7e18, past 2^53, where
// JSON.parse would round them to the nearest multiple of 256 ns. parseApiJson() first rewrites
// every integer literal too long for a double into a tagged string, then JSON.parse (fast, native)
// runs and the tagged strings are turned back: values of the nanosecond keys (NANO_KEYS) become
// exact decimal strings, any other long integer (an int64 attribute) a BigInt. Nanosecond values
// short enough for a double (0, test data) become strings too, so a NanoString field is always a
// string.
//
// Why no string value can be mistaken for an integer: a tag is a string whose first character is
// U+0000 followed by a tag letter, and the same rewriting pass also tags every *real* string
// value that begins with U+0000 (as TAG_STRING + the original). After JSON.parse, a value starting
// with U+0000 is therefore always one of ours: TAG_INT + digits, or TAG_STRING + a real string
// that is given back unchanged. (Raw control characters are invalid inside JSON strings, so the
// only way a string value can begin with U+0000 is the escape `\u0000` right after its quote,
// which the rewriting pass sees.) Object keys are never rewritten; integers are never keys.
//
// stringifyApiJson() and prettyApiJson() serialise with a small writer of their own, so BigInts
// are written as bare integers without any marker text that a string could imitate.
import { NANO_KEYS } from './types';

/** Longest integer literal that a double always represents exactly (2^53 has 16 digits). */
const MAX_SAFE_DIGITS = 15;
/** Second character of a tagged long integer: U+0000 'i' <digits>. */
const TAG_INT = 0x69; /* i */
/** Second character of a real string value that began with U+0000: U+0000 's' <original>. */
const TAG_STRING = 0x73; /* s */
/** What the rewriting pass inserts after the opening quote of such a string (JSON text). */
const STRING_TAG_TEXT = '\\u0000s';

/** The result of the rewriting pass: the text for JSON.parse and what it had to tag. */
export interface TaggedJson {
  text: string;
  /** Long integer literals turned into tagged strings. */
  ints: number;
  /** Real string values that began with U+0000 and were tagged to keep them apart from ints. */
  strings: number;
}

function isWhitespace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/**
 * The rewriting pass: integer literals of more than 15 digits outside strings become
 * `"\u0000i<digits>"`, and string values that begin with `\u0000` get `\u0000s` put in front.
 * One linear scan (no regex, no backtracking); the text is returned as it is when nothing was
 * tagged. Invalid JSON stays invalid (JSON.parse then throws): only well-formed integers
 * (no leading zero) are rewritten.
 */
export function tagJson(text: string): TaggedJson {
  const out: string[] = [];
  let last = 0;
  let ints = 0;
  let strings = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      const open = i;
      // Skip the whole string literal: jump to the next quote (indexOf runs at native speed) and
      // take it as the end unless an odd number of backslashes escapes it. Each backslash run is
      // counted once, before the one quote it precedes, so this stays linear.
      let q = open;
      for (;;) {
        q = text.indexOf('"', q + 1);
        if (q < 0) {
          q = n;
          break;
        }
        let b = q - 1;
        while (text.charCodeAt(b) === 92 /* \ */) b--;
        if ((q - 1 - b) % 2 === 0) break;
      }
      i = q + 1;
      if (text.charCodeAt(open + 1) === 92 && text.startsWith('\\u0000', open + 1)) {
        // Begins with U+0000: tag it unless it is an object key (followed by ':').
        let j = i;
        while (j < n && isWhitespace(text.charCodeAt(j))) j++;
        if (text.charCodeAt(j) !== 58 /* : */) {
          out.push(text.slice(last, open + 1), STRING_TAG_TEXT);
          last = open + 1;
          strings++;
        }
      }
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
      if (isInteger && digits > MAX_SAFE_DIGITS && text.charCodeAt(digitsStart) !== 48 /* 0 */) {
        out.push(text.slice(last, start), '"\\u0000i', text.slice(start, i), '"');
        last = i;
        ints++;
      }
      continue;
    }
    i++;
  }
  if (last === 0) return { text, ints, strings };
  out.push(text.slice(last));
  return { text: out.join(''), ints, strings };
}

function revive(this: unknown, key: string, value: unknown): unknown {
  if (typeof value === 'string') {
    if (value.charCodeAt(0) !== 0) return value;
    const tag = value.charCodeAt(1);
    if (tag === TAG_INT) {
      const digits = value.slice(2);
      return NANO_KEYS.has(key) ? digits : BigInt(digits);
    }
    return tag === TAG_STRING ? value.slice(2) : value;
  }
  if (typeof value === 'number' && NANO_KEYS.has(key) && Number.isInteger(value)) {
    return String(value);
  }
  return value;
}

/** JSON.parse for API responses; throws SyntaxError on invalid JSON. */
export function parseApiJson<T>(text: string): T {
  return JSON.parse(tagJson(text).text, revive) as T;
}

// ---- Writing --------------------------------------------------------------------------------

/** Gives the JSON text to write for a value instead of the default, or undefined. */
type RawWriter = (key: string, value: unknown) => string | undefined;

/**
 * JSON.stringify's output format (same key order, same `space` layout, toJSON honoured,
 * undefined/functions omitted in objects and null in arrays) plus BigInt as a bare integer.
 */
function write(value: unknown, key: string, gap: string, indent: string, raw: RawWriter): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(k: string): unknown }).toJSON(key);
  }
  const custom = raw(key, value);
  if (custom !== undefined) return custom;
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object': {
      if (value === null) return 'null';
      const inner = indent + gap;
      const parts: string[] = [];
      let open = '{';
      let close = '}';
      if (Array.isArray(value)) {
        open = '[';
        close = ']';
        for (let i = 0; i < value.length; i++) parts.push(write(value[i], String(i), gap, inner, raw) ?? 'null');
      } else {
        const o = value as Record<string, unknown>;
        for (const k of Object.keys(o)) {
          const s = write(o[k], k, gap, inner, raw);
          if (s !== undefined) parts.push(`${JSON.stringify(k)}${gap ? ': ' : ':'}${s}`);
        }
      }
      if (parts.length === 0) return open + close;
      if (!gap) return open + parts.join(',') + close;
      return `${open}\n${inner}${parts.join(`,\n${inner}`)}\n${indent}${close}`;
    }
    default:
      return undefined; // undefined, function, symbol
  }
}

const noRaw: RawWriter = () => undefined;

/** JSON.stringify that writes BigInt values as bare integers (exact u64 nanoseconds). */
export function stringifyApiJson(value: unknown, space?: number): string {
  return write(value, '', space ? ' '.repeat(space) : '', '', noRaw) ?? 'null';
}

/** Nanosecond strings (always plain digits when they came from the server) as bare integers. */
const nanoAsNumber: RawWriter = (key, v) =>
  typeof v === 'string' && NANO_KEYS.has(key) && /^\d+$/.test(v) ? v : undefined;

/**
 * Pretty-prints an API object as the server sent it: nanosecond strings and BigInts as bare
 * integers (for the raw JSON view).
 */
export function prettyApiJson(value: unknown): string {
  return write(value, '', '  ', '', nanoAsNumber) ?? 'null';
}

// ---- Fast path for span responses -------------------------------------------------------------
// JSON.parse with a reviver is several times slower than without one (every value crosses back
// into JS), which is seconds for a 50,000-span trace. Span responses have a known shape, so they
// are parsed without a reviver and fixed up where long integers can be: the nanosecond fields and
// attribute values. Strings that began with U+0000 (rare: only when tagJson counted some) are
// given back by one more walk over the whole response.

function nano(v: unknown): string {
  if (typeof v === 'string') return v.charCodeAt(0) === 0 && v.charCodeAt(1) === TAG_INT ? v.slice(2) : v;
  return typeof v === 'number' ? String(v) : '0';
}

/** Tagged integers in an attribute value tree become BigInt, in place. */
function fixInts(v: unknown): unknown {
  if (typeof v === 'string') return v.charCodeAt(0) === 0 && v.charCodeAt(1) === TAG_INT ? BigInt(v.slice(2)) : v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = fixInts(v[i]);
    return v;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k in o) o[k] = fixInts(o[k]);
  }
  return v;
}

/**
 * Tagged real strings (U+0000 's' ...) lose their tag, in place, anywhere in the tree. Runs after
 * fixInts, so every string is looked at once and an untagged string is never taken for a tag.
 */
function untagStrings(v: unknown): unknown {
  if (typeof v === 'string') return v.charCodeAt(0) === 0 && v.charCodeAt(1) === TAG_STRING ? v.slice(2) : v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = untagStrings(v[i]);
    return v;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k in o) o[k] = untagStrings(o[k]);
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
  fixInts(s.resource?.attributes);
  fixInts(s.scope?.attributes);
  fixInts(sp.attributes);
  for (const e of sp.events ?? []) {
    e.timeUnixNano = nano(e.timeUnixNano);
    fixInts(e.attributes);
  }
  for (const l of sp.links ?? []) fixInts(l.attributes);
}

/** parseApiJson for `{metadata, spans: InternalSpan[]}` responses, without a reviver. */
export function parseSpansJson<T>(text: string): T {
  const tagged = tagJson(text);
  const obj = JSON.parse(tagged.text) as { spans?: RawSpan[] };
  for (const s of obj.spans ?? []) fixSpan(s);
  if (tagged.strings > 0) untagStrings(obj);
  return obj as T;
}
