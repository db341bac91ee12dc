// Traces mode's results: one request to /v1/traces for the current filters, summaries sorted as
// the state says (client side: the server returns the newest matching traces).
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { searchTraces } from '../../api/client';
import { timeframeKey } from '../../api/hooks';
import type { SearchFilter, Timeframe } from '../../api/types';
import type { SearchState } from '../../model/searchState';
import { sortTraceRows, toTraceRow } from '../../model/traceResults';
import { useStale } from './useStale';

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
  const stale = useStale(query, identity);
  return { ...query, rows, stale, partial: query.data?.partial ?? false };
}
