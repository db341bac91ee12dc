// React Query hooks over the API client: the one place server state enters components.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { getSystemInfo, getTags, getTagStatistics, getTagValues, getWholeTrace, searchSpans, shouldRetry } from './client';
import type { SearchFilter, Timeframe } from './types';

/** A query-key-safe form of a timeframe (BigInts are not serialisable by the key hasher). */
export function timeframeKey(tf: Timeframe | undefined): string {
  return tf ? `${tf.startTimeUnixNanoSec}-${tf.endTimeUnixNanoSec}` : 'all';
}

/** Every tag key with its type; intrinsics included. Cached for a minute. */
export function useTags() {
  return useQuery({
    queryKey: ['tags'],
    queryFn: ({ signal }) => getTags(undefined, signal),
    staleTime: 60_000,
    select: (r) => r.Tags,
  });
}

export function useTagValues(
  tag: string | null,
  body: { timeframe?: Timeframe; filters: SearchFilter[]; limit: number; timeBudgetMs?: number },
  enabled = true,
) {
  return useQuery({
    queryKey: ['tagValues', tag, timeframeKey(body.timeframe), JSON.stringify(body.filters), body.limit, body.timeBudgetMs],
    queryFn: ({ signal }) => getTagValues(tag!, body, signal),
    enabled: enabled && !!tag,
    placeholderData: keepPreviousData,
    staleTime: 5_000,
  });
}

/** Statistics of a numeric key; `approximate` percentiles (duration only) are cached apart from exact ones. */
export function useStatistics(
  tag: string,
  body: { timeframe: Timeframe; filters: SearchFilter[]; desiredStatistics: string[]; approximate?: boolean },
) {
  return useQuery({
    queryKey: ['statistics', tag, timeframeKey(body.timeframe), JSON.stringify(body.filters), body.desiredStatistics, body.approximate ?? false],
    queryFn: ({ signal }) => getTagStatistics(tag, body, signal),
    placeholderData: keepPreviousData,
    staleTime: 5_000,
  });
}

/** The server's id, version and the ingest ports it bound; fixed while it runs. */
export function useSystemInfo(enabled = true) {
  return useQuery({
    queryKey: ['systemInfo'],
    queryFn: ({ signal }) => getSystemInfo(signal),
    enabled,
    staleTime: Infinity,
  });
}

/** Whether the store holds no span at all (for the "how to send data" empty state). */
export function useStoreIsEmpty(enabled: boolean) {
  return useQuery({
    queryKey: ['storeEmpty'],
    queryFn: async ({ signal }) => (await searchSpans({ pageSize: 1 }, signal)).spans.length === 0,
    enabled,
    staleTime: 2_000,
  });
}

/** A whole trace, page by page, with the number of spans loaded so far. */
export function useTrace(traceId: string) {
  const [loaded, setLoaded] = useState(0);
  const query = useQuery({
    queryKey: ['trace', traceId],
    queryFn: ({ signal }) => {
      setLoaded(0);
      return getWholeTrace(traceId, setLoaded, signal);
    },
    staleTime: 30_000,
    retry: shouldRetry,
  });
  return { ...query, loaded };
}
