// The span search page: time range, live mode and refresh, filters, facets, a histogram of the
// matching spans over time, and the results table. All of its state is in the URL.
import { useEffect, useMemo, useState } from 'react';
import { useStoreIsEmpty, useSystemInfo, useTags } from '../../api/hooks';
import { formatAgo, spansSummary } from '../../model/format';
import { apiFilters, defaultSearchState, serializeSearchState, timeframeOf } from '../../model/searchState';
import { ErrorMessage } from '../common/ErrorMessage';
import { ColumnPicker } from './ColumnPicker';
import { EmptyStore, NoResults } from './EmptyStates';
import { FacetsSidebar } from './Facets/FacetsSidebar';
import { FilterBuilder } from './FilterBuilder/FilterBuilder';
import { ResultsTable } from './ResultsTable/ResultsTable';
import { SpanHistogram } from './SpanHistogram';
import { TimeRangePicker } from './TimeRangePicker';
import { TracesTable } from './TracesTable/TracesTable';
import { useSearchResults } from './useSearchResults';
import { TRACE_LIMIT, useTraceResults } from './useTraceResults';
import { useSearchState } from './useSearchState';

const LIVE_INTERVAL_MS = 2000;
/** Facets and the histogram refresh every this many live ticks (they are heavier than a page). */
const SLOW_EVERY = 5;

function UpdatedAgo({ at }: { at: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  if (!at) return null;
  return (
    <span className="muted small" data-testid="updated-ago">
      updated {formatAgo(now - at)}
    </span>
  );
}

export function SearchPage() {
  const [state, update] = useSearchState();
  const tags = useTags();

  // Relative ranges end "now": one anchor per search (range and filters), renewed by refresh and
  // by live ticks, so every request of one view (pages, facets, histogram) sees the same window.
  // Sorting, the chart, the mode and the columns only change how the same search is shown: they
  // keep the anchor, so the facets and charts they do not affect are not asked again.
  const searchKey = useMemo(() => {
    const { range, filters, selections, durationMinNs, durationMaxNs } = state;
    return serializeSearchState({ ...defaultSearchState(), range, filters, selections, durationMinNs, durationMaxNs }).toString();
  }, [state]);
  const [tick, setTick] = useState(0);
  const [anchor, setAnchor] = useState({ key: searchKey, ms: Date.now(), slowMs: Date.now() });
  if (anchor.key !== searchKey) setAnchor({ key: searchKey, ms: Date.now(), slowMs: Date.now() });
  const refresh = () => {
    const now = Date.now();
    setAnchor({ key: searchKey, ms: now, slowMs: now });
  };
  useEffect(() => {
    if (!state.live) return;
    const t = setInterval(() => setTick((n) => n + 1), LIVE_INTERVAL_MS);
    return () => clearInterval(t);
  }, [state.live]);
  useEffect(() => {
    if (tick === 0) return;
    const now = Date.now();
    setAnchor((a) => ({ key: a.key, ms: now, slowMs: tick % SLOW_EVERY === 0 ? now : a.slowMs }));
  }, [tick]);

  const timeframe = useMemo(() => timeframeOf(state.range, anchor.ms), [state.range, anchor.ms]);
  const slowTimeframe = useMemo(() => timeframeOf(state.range, anchor.slowMs), [state.range, anchor.slowMs]);
  const filters = useMemo(() => apiFilters(state), [state]);
  const tracesMode = state.mode === 'traces';
  const results = useSearchResults(state, timeframe, filters, !tracesMode);
  const traces = useTraceResults(state, timeframe, filters, tracesMode);
  const active = tracesMode ? traces : results;
  const noRows = !active.isPending && !active.isError && active.rows.length === 0;
  const storeEmpty = useStoreIsEmpty(noRows);
  const systemInfo = useSystemInfo(storeEmpty.data === true);
  const hasFilters = filters.length > 0;
  // Matching spans in the range, from the chart's counts (its timeframe refreshes less often in
  // live mode, so it may trail the rows by a few seconds there).
  const [total, setTotal] = useState<number | undefined>(undefined);

  return (
    <div className="search-page">
      <div className="toolbar">
        <TimeRangePicker nowMs={anchor.ms} range={state.range} onChange={(range) => update((s) => ({ ...s, range, live: range.kind === 'relative' && s.live }))} />
        <label className={`live-toggle${state.range.kind === 'absolute' ? ' disabled' : ''}`} title={state.range.kind === 'absolute' ? 'Live mode needs a relative time range' : 'Poll every 2 s'}>
          <input
            type="checkbox"
            checked={state.live}
            disabled={state.range.kind === 'absolute'}
            onChange={(e) => update((s) => ({ ...s, live: e.target.checked }), { replace: true })}
            data-testid="live-toggle"
          />
          Live {state.live && <span className="live-dot" aria-hidden="true" />}
        </label>
        <button type="button" onClick={refresh} data-testid="refresh" disabled={active.isFetching}>
          ↻ Refresh
        </button>
        <UpdatedAgo at={active.dataUpdatedAt} />
        <div className="header-spacer" />
        <ColumnPicker tags={tags.data} columns={state.columns} onAdd={(k) => update((s) => ({ ...s, columns: [...s.columns, k] }))} />
      </div>
      <FilterBuilder state={state} update={update} tags={tags.data} timeframe={timeframe} />
      {tags.isError && <ErrorMessage error={tags.error} title="Could not load tag keys" />}
      <div className="search-body">
        <FacetsSidebar state={state} update={update} tags={tags.data} timeframe={slowTimeframe} />
        <section className="results" aria-label="Results">
          <SpanHistogram
            timeframe={slowTimeframe}
            filters={filters}
            chart={state.chart}
            onChart={(chart) => update((s) => ({ ...s, chart }))}
            onTotal={setTotal}
            onZoom={(startMs, endMs) => update((s) => ({ ...s, range: { kind: 'absolute', startMs, endMs }, live: false }))}
            onBrush={(range, duration) =>
              update((s) => ({
                ...s,
                ...(range && { range: { kind: 'absolute' as const, ...range }, live: false }),
                ...(duration && { durationMinNs: duration.minNs, durationMaxNs: duration.maxNs }),
              }))
            }
          />
          <div className="results-summary small muted" data-testid="results-summary">
            <div className="segmented" role="group" aria-label="Results">
              <button
                type="button"
                className={tracesMode ? undefined : 'selected'}
                aria-pressed={!tracesMode}
                onClick={() => update((s) => ({ ...s, mode: 'spans' }))}
                data-testid="mode-spans"
              >
                Spans
              </button>
              <button
                type="button"
                className={tracesMode ? 'selected' : undefined}
                aria-pressed={tracesMode}
                onClick={() => update((s) => ({ ...s, mode: 'traces' }))}
                data-testid="mode-traces"
              >
                Traces
              </button>
            </div>
            <span data-testid="results-count">
              {active.isPending
                ? 'Searching…'
                : tracesMode
                  ? `${traces.rows.length.toLocaleString('en-US')} trace${traces.rows.length === 1 ? '' : 's'}${
                      traces.rows.length === TRACE_LIMIT ? ' (the newest; narrow the search for older ones)' : ''
                    }${traces.partial ? ' (search stopped early: narrow it for complete results)' : ''}`
                  : spansSummary(results.rows.length, !!results.hasNextPage, total)}
            </span>
            {tracesMode && (
              <label className="inline-check">
                <input
                  type="checkbox"
                  checked={state.tracesWithErrors}
                  onChange={(e) => update((s) => ({ ...s, tracesWithErrors: e.target.checked }))}
                  data-testid="traces-with-errors"
                />
                with errors only
              </label>
            )}
            {active.isFetching && !active.isPending && <span className="spinner" aria-label="Loading" />}
          </div>
          {active.isError ? (
            <ErrorMessage error={active.error} title="Search failed" />
          ) : noRows ? (
            storeEmpty.data === true ? (
              <EmptyStore ingest={systemInfo.data?.ingest} />
            ) : storeEmpty.data === undefined ? null : (
              <NoResults
                canClear={hasFilters}
                onClear={() => update((s) => ({ ...s, filters: [], selections: {}, durationMinNs: null, durationMaxNs: null }))}
                onWiden={
                  state.range.kind === 'relative' && state.range.preset === '1w'
                    ? undefined
                    : () => update((s) => ({ ...s, range: { kind: 'relative', preset: '1w' } }))
                }
              />
            )
          ) : tracesMode ? (
            <TracesTable
              rows={traces.rows}
              state={state}
              onSort={(by) => update((s) => ({ ...s, sort: { by, ascending: s.sort.by === by ? !s.sort.ascending : false } }))}
              stale={traces.stale}
            />
          ) : (
            <ResultsTable
              rows={results.rows}
              state={state}
              onSort={(by) =>
                update((s) => ({
                  ...s,
                  sort: { by, ascending: s.sort.by === by ? !s.sort.ascending : false },
                }))
              }
              onRemoveColumn={(k) => update((s) => ({ ...s, columns: s.columns.filter((c) => c !== k) }))}
              hasNextPage={!!results.hasNextPage}
              isFetchingNextPage={results.isFetchingNextPage}
              fetchNextPage={() => void results.fetchNextPage()}
              freshIds={results.fresh}
              stale={results.stale}
            />
          )}
        </section>
      </div>
    </div>
  );
}
