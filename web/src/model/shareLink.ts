// The link to share a search: the page's URL with a relative time range ("the last hour") made
// absolute, so whoever opens it, later or in another time zone, searches the same window and sees
// the same rows. Pure.
import { PRESET_MS, parseSearchState } from './searchState';

/**
 * `href` (a search page URL) with its time range pinned: `range=<preset>` (or the default hour)
 * becomes `start=<epoch ms>&end=<epoch ms>` ending at `nowMs`, and live mode is dropped (it
 * needs a relative range). A range that is already absolute is kept as it is. Every other
 * parameter, their order, the path and the hash are left alone. Throws on a relative `href`
 * (URL parsing needs an absolute one: pass `window.location.href`).
 */
export function absoluteSearchLink(href: string, nowMs: number): string {
  const url = new URL(href);
  const range = parseSearchState(url.searchParams).range;
  const end = Math.round(nowMs);
  const [startMs, endMs] = range.kind === 'absolute' ? [range.startMs, range.endMs] : [end - PRESET_MS[range.preset], end];
  const params = new URLSearchParams();
  params.set('start', String(startMs));
  params.set('end', String(endMs));
  for (const [key, value] of url.searchParams) {
    if (key !== 'range' && key !== 'start' && key !== 'end' && key !== 'live') params.append(key, value);
  }
  url.search = params.toString();
  return url.toString();
}
