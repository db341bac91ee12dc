// Traces mode's results: one request to /v1/traces for the current filters, summaries sorted as
// the state says (client side: the server returns the newest matching traces).
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { searchTraces } from '../../api/client';
import { timeframeKey } from '../../api/hooks';
import type { SearchFilter, Timeframe } from '../../api/types';
import type { SearchState } from '../../model/searchState';
import { sortTraceRows, toTraceRow } from '../../model/traceResults';

export const TRACE_LIMIT = 100;

export function useTraceResults(state: SearchState, timeframe: Timeframe, filters: SearchFilter[], enabled: boolean) {
  const traceFilters = state.tracesWithErrors ? { hasErrors: true } : undefined;
  const identity = JSON.stringify([state.range, filters, traceFilters]);
  const query = useQuery({
    queryKey: ['traces', identity, timeframeKey(timeframe)],
    queryFn: ({ signal }) => searchTraces({ timeframe, filters, limit: TRACE_LIMIT, ...(traceFilters ? { traceFilters } : {}) }, signal),
    placeholderData: keepPreviousData,
    enabled,
  });
  const rows = useMemo(
    () => sortTraceRows((query.data?.traces ?? []).map(toTraceRow), state.sort.by, state.sort.ascending),
    [query.data, state.sort.by, state.sort.ascending],
  );
  // As in spans mode: another search's rows on screen while this one loads are stale.
  const [settledIdentity, setSettledIdentity] = useState<string | null>(null);
  useEffect(() => {
    if (query.data && !query.isPlaceholderData) setSettledIdentity(identity);
  }, [query.data, query.isPlaceholderData, identity]);
  const stale = query.isPlaceholderData && settledIdentity !== identity;
  return { ...query, rows, stale, partial: query.data?.partial ?? false };
}
