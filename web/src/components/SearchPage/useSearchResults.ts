// The search results as an infinite query: pages of spans fetched as the table scrolls, and
// which rows are new since the previous fetch of the same search (live mode highlights them).
import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { searchSpans } from '../../api/client';
import { timeframeKey } from '../../api/hooks';
import type { SearchFilter, Timeframe } from '../../api/types';
import type { SearchState } from '../../model/searchState';
import { fromInternalSpan, type Span } from '../../model/span';
import { useStale } from './useStale';

export const PAGE_SIZE = 100;
const FRESH_MS = 4000;

export function useSearchResults(state: SearchState, timeframe: Timeframe, filters: SearchFilter[], enabled = true) {
  const sort = [
    {
      field: state.sort.by === 'duration' ? ('externalFields.durationNano' as const) : ('span.startTimeUnixNano' as const),
      ascending: state.sort.ascending,
    },
  ];
  // The search's identity without its time anchor: the same search, refreshed, keeps its rows'
  // "seen" state so only really new rows light up.
  const identity = JSON.stringify([state.range, filters, sort]);
  const query = useInfiniteQuery({
    queryKey: ['search', identity, timeframeKey(timeframe)],
    queryFn: ({ pageParam, signal }) =>
      searchSpans(
        {
          timeframe,
          filters,
          sort,
          pageSize: PAGE_SIZE,
          ...(pageParam ? { metadata: { nextToken: pageParam } } : {}),
        },
        signal,
      ),
    initialPageParam: '',
    getNextPageParam: (last) => last.metadata?.nextToken || undefined,
    placeholderData: keepPreviousData,
    enabled,
  });

  const rows = useMemo(() => {
    const out: Span[] = [];
    const seen = new Set<string>();
    for (const page of query.data?.pages ?? []) {
      for (const raw of page.spans) {
        const s = fromInternalSpan(raw);
        if (seen.has(s.id)) continue;
        seen.add(s.id);
        out.push(s);
      }
    }
    return out;
  }, [query.data]);

  const seenRef = useRef<{ identity: string; ids: Set<string> } | null>(null);
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  useEffect(() => {
    if (!query.data || query.isPlaceholderData) return;
    const seen = seenRef.current;
    if (!seen || seen.identity !== identity) {
      seenRef.current = { identity, ids: new Set(rows.map((r) => r.id)) };
      setFresh(new Set());
      return;
    }
    const added = rows.filter((r) => !seen.ids.has(r.id)).map((r) => r.id);
    for (const id of added) seen.ids.add(id);
    if (added.length === 0) return;
    setFresh(new Set(added));
    const t = setTimeout(() => setFresh(new Set()), FRESH_MS);
    return () => clearTimeout(t);
  }, [rows, identity, query.data, query.isPlaceholderData]);

  const stale = useStale(query, identity);

  return { ...query, rows, fresh, stale };
}
