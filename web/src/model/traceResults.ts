// Traces mode: the server's trace summaries as the table shows them, sorted by start or duration.
import type { TraceSummary } from '../api/types';
import type { SortBy } from './searchState';
import { nsToMs } from './span';

export interface TraceRow {
  traceId: string;
  rootService: string;
  rootName: string;
  startNs: bigint;
  startMs: number;
  durationNs: bigint;
  spanCount: number;
  errorCount: number;
  services: { name: string; spanCount: number; errorCount: number }[];
  /** False when the server summarised only the first 10,000 spans (counts are lower bounds). */
  complete: boolean;
}

export function toTraceRow(t: TraceSummary): TraceRow {
  const startNs = BigInt(t.startTimeUnixNano);
  return {
    traceId: t.traceId,
    rootService: t.rootServiceName,
    rootName: t.rootName,
    startNs,
    startMs: nsToMs(startNs),
    durationNs: BigInt(t.durationNano),
    spanCount: t.spanCount,
    errorCount: t.errorCount,
    services: t.services,
    complete: t.complete,
  };
}

/** A sorted copy; ties by trace id so the order is stable across refreshes. */
export function sortTraceRows(rows: readonly TraceRow[], by: SortBy, ascending: boolean): TraceRow[] {
  const key = (r: TraceRow) => (by === 'duration' ? r.durationNs : r.startNs);
  return [...rows].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) return (ka < kb) === ascending ? -1 : 1;
    return a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0;
  });
}
