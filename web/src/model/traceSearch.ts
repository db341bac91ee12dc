// Search within one trace: which spans match a text, in waterfall order. Pure.
//
// A span matches when the text (case-insensitive, trimmed) occurs in its name, its service name,
// its span id, or any attribute key or value of the span, its resource, or its events (event
// names too). "key=value" matches an attribute whose key ends with `key` and whose value contains
// `value`.
import type { AttributeValue, Attributes } from '../api/types';
import { attributeText } from './span';
import type { SpanNode, SpanTree } from './spanTree';

function attrsMatch(attrs: Attributes | undefined, q: string): boolean {
  if (!attrs) return false;
  for (const k in attrs) {
    if (k.toLowerCase().includes(q)) return true;
    if (valueText(attrs[k]).includes(q)) return true;
  }
  return false;
}

function valueText(v: AttributeValue): string {
  return attributeText(v).toLowerCase();
}

function pairMatch(attrs: Attributes | undefined, key: string, value: string): boolean {
  if (!attrs) return false;
  for (const k in attrs) {
    if (k.toLowerCase().endsWith(key) && valueText(attrs[k]).includes(value)) return true;
  }
  return false;
}

export function spanMatches(node: SpanNode, text: string): boolean {
  const q = text.trim().toLowerCase();
  if (!q) return false;
  const s = node.span;
  const raw = s.raw;
  const eq = q.indexOf('=');
  if (eq > 0) {
    const key = q.slice(0, eq).trim();
    const value = q.slice(eq + 1).trim();
    if (key === 'service' || key === 'service.name') return s.serviceName.toLowerCase().includes(value);
    if (key === 'name') return s.name.toLowerCase().includes(value);
    return (
      pairMatch(raw.span.attributes, key, value) ||
      pairMatch(raw.resource?.attributes, key, value) ||
      (raw.span.events ?? []).some((e) => pairMatch(e.attributes, key, value))
    );
  }
  if (s.name.toLowerCase().includes(q)) return true;
  if (s.serviceName.toLowerCase().includes(q)) return true;
  if (s.spanId.includes(q)) return true;
  if (s.statusMessage.toLowerCase().includes(q)) return true;
  if (attrsMatch(raw.span.attributes, q)) return true;
  if (attrsMatch(raw.resource?.attributes, q)) return true;
  for (const e of raw.span.events ?? []) {
    if (e.name.toLowerCase().includes(q) || attrsMatch(e.attributes, q)) return true;
  }
  return false;
}

/** Keys of the matching spans, in pre-order (the waterfall's order with nothing collapsed). */
export function searchTrace(tree: SpanTree, text: string): string[] {
  if (!text.trim()) return [];
  const out: string[] = [];
  for (const n of tree.nodes) if (spanMatches(n, text)) out.push(n.key);
  return out;
}
