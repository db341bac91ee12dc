// The span results: a virtualised table (only the visible rows are in the DOM), sortable by start
// time and duration, with the user's extra attribute columns, loading the next page as the end
// comes into view. A click opens the span's trace, focused on it.
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef } from 'react';
import { useNavigate } from 'react-router';
import { ERROR_COLOR, serviceColor } from '../../../model/colors';
import { keyTitle } from '../../../model/filters';
import { formatDuration } from '../../../model/format';
import { SortHeader } from '../SortHeader';
import { useTimeZone } from '../../Layout/timeZone';
import type { SearchState, SortBy } from '../../../model/searchState';
import { attributeText, fieldValue, serviceLabel, type Span } from '../../../model/span';

const ROW_HEIGHT = 34;

interface Props {
  rows: Span[];
  state: SearchState;
  onSort: (by: SortBy) => void;
  onRemoveColumn: (key: string) => void;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => void;
  freshIds: ReadonlySet<string>;
  /** The rows belong to a previous search while a new one loads: dimmed, not clickable. */
  stale: boolean;
}

export function ResultsTable({ rows, state, onSort, onRemoveColumn, hasNextPage, isFetchingNextPage, fetchNextPage, freshIds, stale }: Props) {
  const navigate = useNavigate();
  const { formatTime } = useTimeZone();
  const scrollRef = useRef<HTMLDivElement>(null);
  const template = `minmax(260px, 270px) 100px minmax(120px, 180px) minmax(220px, 1fr) 80px 90px${' minmax(140px, 220px)'.repeat(state.columns.length)}`;
  const virtualizer = useVirtualizer({
    count: rows.length + (hasNextPage ? 1 : 0),
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.length ? items[items.length - 1].index : -1;

  useEffect(() => {
    if (lastIndex >= rows.length - 5 && hasNextPage && !isFetchingNextPage) fetchNextPage();
  }, [lastIndex, rows.length, hasNextPage, isFetchingNextPage, fetchNextPage]);

  // Rows of a search that a newer one is replacing are shown dimmed and cannot be opened: a click
  // meant for the new results must not open a span of the old ones.
  const open = (s: Span) => {
    if (!stale) navigate(`/trace/${s.traceId}?spanId=${s.spanId}`);
  };

  return (
    <div
      className={`results-table${stale ? ' results-stale' : ''}`}
      role="table"
      aria-label="Spans"
      aria-rowcount={rows.length}
      aria-busy={stale}
      data-stale={stale ? 'true' : undefined}
    >
      <div className="table-scroll" ref={scrollRef} data-testid="results-scroll">
        <div className="tr thead" role="row" style={{ gridTemplateColumns: template }}>
          <SortHeader by="start" label="Start time" state={state} onSort={onSort} testId="sort-start" />
          <SortHeader by="duration" label="Duration" state={state} onSort={onSort} testId="sort-duration" />
          <div role="columnheader" className="th">Service</div>
          <div role="columnheader" className="th">Span name</div>
          <div role="columnheader" className="th">Status</div>
          <div role="columnheader" className="th">Trace</div>
          {state.columns.map((c) => (
            <div role="columnheader" className="th extra" key={c} title={c} data-testid="extra-column">
              <span>{keyTitle(c)}</span>
              <button type="button" className="link-button small" aria-label={`Remove column ${c}`} onClick={() => onRemoveColumn(c)}>
                ×
              </button>
            </div>
          ))}
        </div>
        <div className="tbody" style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {items.map((item) => {
            if (item.index >= rows.length) {
              return (
                <div key="loader" className="tr loader-row" style={{ transform: `translateY(${item.start}px)`, height: item.size }}>
                  {isFetchingNextPage ? 'Loading more…' : ''}
                </div>
              );
            }
            const s = rows[item.index];
            const service = serviceLabel(s);
            const error = s.statusCode === 'Error';
            return (
              <div
                key={s.id}
                role="row"
                tabIndex={stale ? -1 : 0}
                aria-disabled={stale || undefined}
                className={`tr row${freshIds.has(s.id) ? ' row-new' : ''}${error ? ' row-error' : ''}`}
                style={{ gridTemplateColumns: template, transform: `translateY(${item.start}px)`, height: item.size }}
                onClick={() => open(s)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') open(s);
                }}
                data-testid="result-row"
                data-span-id={s.spanId}
                data-trace-id={s.traceId}
                data-start-ns={s.startNs.toString()}
                aria-rowindex={item.index + 1}
              >
                <div role="cell" className="td mono" data-testid="cell-start">{formatTime(s.startMs)}</div>
                <div role="cell" className="td mono num" data-testid="cell-duration" data-ns={s.durationNs.toString()}>
                  {formatDuration(s.durationNs)}
                </div>
                <div role="cell" className="td service" title={service}>
                  <span className="swatch" style={{ background: serviceColor(service) }} />
                  {service}
                </div>
                <div role="cell" className="td name" title={s.name} data-testid="cell-name">
                  {s.name}
                </div>
                <div role="cell" className="td">
                  <span className={`status status-${s.statusCode.toLowerCase()}`} style={error ? { color: ERROR_COLOR } : undefined}>
                    {s.statusCode}
                  </span>
                </div>
                <div role="cell" className="td mono" title={s.traceId} data-testid="cell-trace">
                  {s.traceId.slice(0, 8)}
                </div>
                {state.columns.map((c) => {
                  const text = attributeText(fieldValue(s, c));
                  return (
                    <div role="cell" className="td" key={c} title={text} data-testid="cell-extra" data-key={c}>
                      {text}
                    </div>
                  );
                })}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
