// Filter-building rules: which operators a key's type offers, how typed-in text becomes a typed
// value, and how keys are labelled. Pure.
import type { FilterValue, Operator, Scalar, TagType } from '../api/types';

const STRING_OPS: Operator[] = ['equals', 'not_equals', 'in', 'not_in', 'contains', 'not_contains', 'exists', 'not_exists'];
const NUMBER_OPS: Operator[] = ['equals', 'not_equals', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in', 'exists', 'not_exists'];
const BOOL_OPS: Operator[] = ['equals', 'not_equals', 'exists', 'not_exists'];
const PRESENCE_OPS: Operator[] = ['exists', 'not_exists'];

/** All twelve operators are reachable: strings get the text ones, numbers the comparisons. */
export function operatorsFor(type: TagType | undefined): Operator[] {
  switch (type) {
    case 'Int':
    case 'Double':
      return NUMBER_OPS;
    case 'Bool':
      return BOOL_OPS;
    case 'Slice':
    case 'Map':
    case 'Bytes':
      return [...PRESENCE_OPS, 'contains', 'not_contains'];
    default:
      return STRING_OPS;
  }
}

export const OPERATOR_LABELS: Record<Operator, string> = {
  equals: 'equals (=)',
  not_equals: 'not equals (≠)',
  in: 'in (any of)',
  not_in: 'not in (none of)',
  contains: 'contains',
  not_contains: 'does not contain',
  exists: 'exists',
  not_exists: 'does not exist',
  gt: 'greater than (>)',
  gte: 'at least (≥)',
  lt: 'less than (<)',
  lte: 'at most (≤)',
};

export function needsValue(op: Operator): boolean {
  return op !== 'exists' && op !== 'not_exists';
}

export function isListOperator(op: Operator): boolean {
  return op === 'in' || op === 'not_in';
}

function parseScalar(text: string, type: TagType | undefined): Scalar | { error: string } {
  const t = text.trim();
  if (type === 'Int' || type === 'Double') {
    if (t === '' || !/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t)) return { error: `"${t}" is not a number` };
    return Number(t);
  }
  if (type === 'Bool') {
    if (t === 'true') return true;
    if (t === 'false') return false;
    return { error: 'enter true or false' };
  }
  return text;
}

/**
 * The typed value of a filter from the text the user typed: numbers for numeric keys, booleans
 * for boolean keys, a comma-separated list for in / not_in. `{ error }` when it does not parse.
 */
export function parseFilterValue(
  text: string,
  type: TagType | undefined,
  op: Operator,
): { value?: FilterValue } | { error: string } {
  if (!needsValue(op)) return {};
  if (isListOperator(op)) {
    const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
    if (parts.length === 0) return { error: 'enter one or more values, separated by commas' };
    const values: Scalar[] = [];
    for (const p of parts) {
      const v = parseScalar(p, type);
      if (typeof v === 'object') return v;
      values.push(v);
    }
    return { value: values };
  }
  if ((op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte') && type !== 'Int' && type !== 'Double') {
    const v = parseScalar(text, 'Double');
    return typeof v === 'object' ? { error: 'comparisons need a number' } : { value: v };
  }
  if (text.trim() === '' && (type === 'Int' || type === 'Double' || type === 'Bool')) {
    return { error: 'enter a value' };
  }
  const v = parseScalar(text, type);
  return typeof v === 'object' ? v : { value: v };
}

/** The text the editor shows for an existing value. */
export function valueToText(value: FilterValue | undefined): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map(String).join(', ');
  return String(value);
}

const LEVELS: [string, string][] = [
  ['resource.attributes.', 'resource'],
  ['scope.attributes.', 'scope'],
  ['span.events.attributes.', 'event'],
  ['span.links.attributes.', 'link'],
  ['span.attributes.', 'span'],
];

/** Splits a key into its level and short name: "span.attributes.http.route" -> span, http.route. */
export function splitKey(key: string): { level: string; name: string } {
  for (const [prefix, level] of LEVELS) {
    if (key.startsWith(prefix)) return { level, name: key.slice(prefix.length) };
  }
  return { level: 'intrinsic', name: key };
}

/** A short column/facet title: the attribute name, or a friendly name for intrinsics. */
export function keyTitle(key: string): string {
  const friendly: Record<string, string> = {
    'span.name': 'Span name',
    'span.kind': 'Kind',
    'span.status.code': 'Status',
    'span.status.message': 'Status message',
    'resource.attributes.service.name': 'Service',
    'externalFields.durationNano': 'Duration',
    'span.startTimeUnixNano': 'Start time',
    'scope.name': 'Scope',
  };
  return friendly[key] ?? splitKey(key).name;
}

/** Remembers the keys used last (most recent first), in localStorage when there is one. */
const RECENT_STORAGE = 'teletrace.recentKeys';
export function loadRecentKeys(): string[] {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(RECENT_STORAGE) ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
export function rememberKey(key: string): string[] {
  const list = [key, ...loadRecentKeys().filter((k) => k !== key)].slice(0, 12);
  try {
    localStorage.setItem(RECENT_STORAGE, JSON.stringify(list));
  } catch {
    // storage may be unavailable (private mode): recent keys are a convenience only
  }
  return list;
}

/**
 * The line under a value suggestion list: how many values it shows of how many, or, when the
 * server's time budget ran out first, that these are the values found so far; undefined when the
 * list is all there is.
 */
export function suggestionFooter(shown: number, totalDistinct: number, partial: boolean, budgetMs: number): string | undefined {
  if (partial) {
    const seconds = (budgetMs / 1000).toLocaleString('en-US');
    return `${shown} of the values found in ${seconds} s (not every span was read); type to narrow`;
  }
  if (totalDistinct > shown) return `${shown} of ${totalDistinct.toLocaleString('en-US')} values; type to narrow`;
  return undefined;
}

/**
 * Key suggestions for the text typed: recently used keys first, then the rest; each group keeps
 * its order, matches on any substring (case-insensitive).
 */
export function suggestKeys(all: readonly string[], recent: readonly string[], text: string, limit = 50): string[] {
  const q = text.trim().toLowerCase();
  const known = new Set(all);
  const match = (k: string) => q === '' || k.toLowerCase().includes(q);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const k of recent) {
    if (known.has(k) && match(k) && !seen.has(k)) {
      out.push(k);
      seen.add(k);
    }
  }
  for (const k of all) {
    if (out.length >= limit) break;
    if (match(k) && !seen.has(k)) {
      out.push(k);
      seen.add(k);
    }
  }
  return out.slice(0, limit);
}
