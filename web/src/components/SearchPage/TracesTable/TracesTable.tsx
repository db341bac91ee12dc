// Traces mode's table: one row per trace (root service and operation, start, duration, span count,
// services with their span counts, errors). Sorting by start or duration; a click opens the trace;
// ticking two traces' boxes offers to compare them.
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { ERROR_COLOR, serviceColor } from '../../../model/colors';
import { formatDuration } from '../../../model/format';
import { SortHeader } from '../SortHeader';
import type { SearchState, SortBy } from '../../../model/searchState';
import type { TraceRow } from '../../../model/traceResults';
import { useTimeZone } from '../../Layout/timeZone';

interface Props {
  rows: TraceRow[];
  state: SearchState;
  onSort: (by: SortBy) => void;
  /** Rows of a replaced search while the new one loads: dimmed, not clickable. */
  stale: boolean;
}

const MAX_SERVICE_CHIPS = 4;

export function TracesTable({ rows, state, onSort, stale }: Props) {
  const navigate = useNavigate();
  const { formatTime } = useTimeZone();
  const template = 'minmax(260px, 270px) 100px minmax(220px, 1fr) 70px minmax(200px, 1.2fr) 70px 90px';
  const open = (r: TraceRow) => {
    if (!stale) navigate(`/trace/${r.traceId}`);
  };
  // Traces ticked for a comparison, oldest first; a third tick replaces the oldest.
  const [picked, setPicked] = useState<string[]>([]);
  const pick = (id: string, on: boolean) => setPicked((p) => (on ? [...p.filter((x) => x !== id), id].slice(-2) : p.filter((x) => x !== id)));
  return (
    <div
      className={`results-table traces-table${stale ? ' results-stale' : ''}`}
      role="table"
      aria-label="Traces"
      aria-rowcount={rows.length}
      aria-busy={stale}
      data-stale={stale ? 'true' : undefined}
      data-testid="traces-table"
    >
      {picked.length > 0 && (
        <div className="compare-bar small" data-testid="compare-bar">
          {picked.length === 1 ? (
            'Tick one more trace to compare it with.'
          ) : (
            <Link to={`/compare/${picked[0]}/${picked[1]}`} data-testid="compare-picked">
              Compare {picked[0].slice(0, 8)} with {picked[1].slice(0, 8)}
            </Link>
          )}{' '}
          <button type="button" className="link-button" onClick={() => setPicked([])}>
            clear
          </button>
        </div>
      )}
      <div className="table-scroll">
        <div className="tr thead" role="row" style={{ gridTemplateColumns: template }}>
          <SortHeader by="start" label="Start time" state={state} onSort={onSort} testId="trace-sort-start" />
          <SortHeader by="duration" label="Duration" state={state} onSort={onSort} testId="trace-sort-duration" />
          <div role="columnheader" className="th">Root</div>
          <div role="columnheader" className="th num">Spans</div>
          <div role="columnheader" className="th">Services</div>
          <div role="columnheader" className="th num">Errors</div>
          <div role="columnheader" className="th">Trace</div>
        </div>
        <div className="tbody static">
          {rows.map((r) => {
            const root = r.rootService || 'unknown service';
            const more = r.services.length - MAX_SERVICE_CHIPS;
            return (
              <div
                key={r.traceId}
                role="row"
                tabIndex={stale ? -1 : 0}
                aria-disabled={stale || undefined}
                className={`tr row${r.errorCount ? ' row-error' : ''}`}
                style={{ gridTemplateColumns: template }}
                onClick={() => open(r)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') open(r);
                }}
                data-testid="trace-row"
                data-trace-id={r.traceId}
                data-duration-ns={r.durationNs.toString()}
                data-span-count={r.spanCount}
                data-error-count={r.errorCount}
              >
                <div role="cell" className="td mono" data-testid="trace-start">{formatTime(r.startMs)}</div>
                <div role="cell" className="td mono num">{formatDuration(r.durationNs)}</div>
                <div role="cell" className="td name" title={`${root}: ${r.rootName}`} data-testid="trace-root">
                  <span className="swatch" style={{ background: serviceColor(root) }} />
                  <strong>{root}</strong> {r.rootName}
                </div>
                <div role="cell" className="td mono num" title={r.complete ? undefined : 'Summarised from its first 10,000 spans'}>
                  {r.complete ? r.spanCount.toLocaleString('en-US') : `≥ ${r.spanCount.toLocaleString('en-US')}`}
                </div>
                <div role="cell" className="td services" data-testid="trace-services">
                  {r.services.slice(0, MAX_SERVICE_CHIPS).map((s) => (
                    <span key={s.name} className="service-chip" title={`${s.name || 'unknown service'}: ${s.spanCount} spans, ${s.errorCount} errors`}>
                      <span className="swatch" style={{ background: serviceColor(s.name || 'unknown service') }} />
                      {s.name || 'unknown'} {s.spanCount}
                    </span>
                  ))}
                  {more > 0 && <span className="muted small">+{more}</span>}
                </div>
                <div role="cell" className="td mono num" style={r.errorCount ? { color: ERROR_COLOR } : undefined}>
                  {r.errorCount || ''}
                </div>
                <div role="cell" className="td mono" title={r.traceId}>
                  <input
                    type="checkbox"
                    aria-label={`Pick trace ${r.traceId} to compare`}
                    checked={picked.includes(r.traceId)}
                    onClick={(e) => e.stopPropagation()}
                    onKeyDown={(e) => e.stopPropagation()}
                    onChange={(e) => pick(r.traceId, e.target.checked)}
                    data-testid="trace-compare-pick"
                  />{' '}
                  {r.traceId.slice(0, 8)}
                </div>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
