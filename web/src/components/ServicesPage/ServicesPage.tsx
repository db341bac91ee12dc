// Services overview: per service, over the chosen range, its requests (server and consumer spans)
// and their rate, errors and error rate, p50 and p99 latency, and sparklines of requests and
// errors; a service expands into the same per operation. Three histogram requests give every
// service's (or one service's operations') counts, series and percentiles at once. A name opens
// the search filtered to it.
import { useQuery } from '@tanstack/react-query';
import { Fragment, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { getHistograms, getServiceDependencies } from '../../api/client';
import { timeframeKey } from '../../api/hooks';
import type { SearchFilter, Timeframe } from '../../api/types';
import { servicesCountsRequest, servicesLatencyRequest } from '../../model/chartRequests';
import { ERROR_COLOR, serviceColor } from '../../model/colors';
import { formatDuration } from '../../model/format';
import { defaultSearchState, PRESET_LABELS, PRESET_MS, RANGE_PRESETS, serializeSearchState, type RangePreset } from '../../model/searchState';
import { ERROR_FILTER, REQUEST_FILTER, SERVICE_KEY, groupLatency, serviceRows, servicesGraph, sparkline, type ServiceRow } from '../../model/servicesOverview';
import { msToNs } from '../../model/span';
import { ErrorMessage } from '../common/ErrorMessage';
import { ServiceGraphView } from '../TraceView/ServiceGraph/ServiceGraph';

const SLOTS = 30;
const SPARK_W = 120;
const SPARK_H = 22;

type SortKey = 'requests' | 'errorRate' | 'p99' | 'service';

const OPERATION_KEY = 'span.name';

function countsRequest(timeframe: Timeframe, interval: bigint, filters: SearchFilter[], groupBy: string, signal?: AbortSignal) {
  return getHistograms(servicesCountsRequest(timeframe, interval, filters, groupBy), signal);
}

/** p50 and p99 of the requests' durations per group, the whole range in one bucket (approximate). */
function latencyRequest(timeframe: Timeframe, filters: SearchFilter[], groupBy: string, signal?: AbortSignal) {
  return getHistograms(servicesLatencyRequest(timeframe, filters, groupBy), signal);
}

/** A group's requests, errors, series and percentiles, as the table shows them. */
function useGroups(timeframe: Timeframe, filters: SearchFilter[], groupBy: string, grid: { interval: bigint; gridStart: bigint; slots: number }) {
  const key = [timeframeKey(timeframe), JSON.stringify(filters), groupBy];
  const requests = useQuery({ queryKey: ['services', 'requests', ...key], queryFn: ({ signal }) => countsRequest(timeframe, grid.interval, filters, groupBy, signal) });
  const errors = useQuery({
    queryKey: ['services', 'errors', ...key],
    queryFn: ({ signal }) => countsRequest(timeframe, grid.interval, [...filters, ERROR_FILTER], groupBy, signal),
  });
  const latency = useQuery({ queryKey: ['services', 'latency', ...key], queryFn: ({ signal }) => latencyRequest(timeframe, filters, groupBy, signal) });
  const rows = useMemo(() => {
    const p = groupLatency(latency.data);
    return serviceRows(requests.data, errors.data, grid.gridStart, grid.interval, grid.slots).map((r) => ({
      ...r,
      p50: p.get(r.service)?.p50,
      p99: p.get(r.service)?.p99,
      errorRate: r.requests ? r.errors / r.requests : 0,
    }));
  }, [requests.data, errors.data, latency.data, grid.gridStart, grid.interval, grid.slots]);
  return { rows, requests, errors, latency };
}

type TableRow = ServiceRow & { p50?: number; p99?: number; errorRate: number };

/** Requests per second, or per minute when fewer than one a second. */
function rateText(perSecond: number): string {
  return perSecond >= 1 ? `${perSecond.toFixed(1)}/s` : `${(perSecond * 60).toFixed(2)}/min`;
}

function searchLink(service: string, preset: RangePreset, operation?: string): string {
  const s = defaultSearchState();
  s.range = { kind: 'relative', preset };
  s.selections = { [SERVICE_KEY]: [service], ...(operation !== undefined && { [OPERATION_KEY]: [operation] }) };
  return `/?${serializeSearchState(s)}`;
}

export function ServicesPage() {
  const [params, setParams] = useSearchParams();
  const preset = (RANGE_PRESETS as readonly string[]).includes(params.get('range') ?? '') ? (params.get('range') as RangePreset) : '1h';
  const [anchorMs, setAnchorMs] = useState(() => Date.now());
  const [sort, setSort] = useState<SortKey>('requests');

  const timeframe = useMemo<Timeframe>(
    () => ({ startTimeUnixNanoSec: msToNs(anchorMs - PRESET_MS[preset]), endTimeUnixNanoSec: msToNs(anchorMs) }),
    [anchorMs, preset],
  );
  const interval = (timeframe.endTimeUnixNanoSec - timeframe.startTimeUnixNanoSec) / BigInt(SLOTS) || 1n;
  const gridStart = (timeframe.startTimeUnixNanoSec / interval) * interval;
  const slots = Number((timeframe.endTimeUnixNanoSec - gridStart) / interval) + 1;
  const grid = { interval, gridStart, slots };
  const { rows, requests, errors, latency } = useGroups(timeframe, SERVICE_FILTERS, SERVICE_KEY, grid);
  const deps = useQuery({
    queryKey: ['services', 'dependencies', timeframeKey(timeframe)],
    queryFn: ({ signal }) => getServiceDependencies({ timeframe }, signal),
  });
  const graph = useMemo(() => (deps.data ? servicesGraph(rows, deps.data.dependencies) : null), [rows, deps.data]);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const toggle = (service: string) =>
    setExpanded((e) => {
      const next = new Set(e);
      if (!next.delete(service)) next.add(service);
      return next;
    });
  const seconds = PRESET_MS[preset] / 1000;
  const table = sortRows(rows, sort);
  const latencyPending = latency.isPending;

  const header = (k: SortKey, label: string) => (
    <th aria-sort={sort === k ? (k === 'service' ? 'ascending' : 'descending') : 'none'}>
      <button type="button" className="link-button" onClick={() => setSort(k)} data-testid={`services-sort-${k}`}>
        {label}
        {sort === k ? (k === 'service' ? ' ▲' : ' ▼') : ''}
      </button>
    </th>
  );

  return (
    <div className="services-page" data-testid="services-page">
      <div className="toolbar">
        <div className="segmented" role="group" aria-label="Time range">
          {RANGE_PRESETS.map((r) => (
            <button
              key={r}
              type="button"
              className={r === preset ? 'selected' : undefined}
              aria-pressed={r === preset}
              title={PRESET_LABELS[r]}
              onClick={() => {
                setAnchorMs(Date.now());
                setParams(r === '1h' ? {} : { range: r });
              }}
            >
              {r}
            </button>
          ))}
        </div>
        <button type="button" onClick={() => setAnchorMs(Date.now())} disabled={requests.isFetching || errors.isFetching}>
          ↻ Refresh
        </button>
        <span className="muted small">Requests are server and consumer spans; rates over the {PRESET_LABELS[preset].toLowerCase()}.</span>
      </div>
      {requests.isError || errors.isError ? (
        <ErrorMessage error={requests.error ?? errors.error} title="Could not load services" />
      ) : requests.isPending || errors.isPending ? (
        <div className="page-message muted">Loading services…</div>
      ) : table.length === 0 ? (
        <div className="page-message" data-testid="services-empty">
          <h2>No requests in this range</h2>
          <p className="muted">No server or consumer span started in the {PRESET_LABELS[preset].toLowerCase()}.</p>
        </div>
      ) : (
        <table className="services-table" data-testid="services-table">
          <thead>
            <tr>
              {header('service', 'Service')}
              {header('requests', 'Requests')}
              <th>Rate</th>
              {header('errorRate', 'Errors')}
              <th>p50</th>
              {header('p99', 'p99')}
              <th>Over time</th>
            </tr>
          </thead>
          <tbody>
            {table.map((r) => (
              <Fragment key={r.service}>
                <GroupRow
                  row={r}
                  seconds={seconds}
                  link={searchLink(r.service, preset)}
                  latencyPending={latencyPending}
                  expand={{ open: expanded.has(r.service), toggle: () => toggle(r.service) }}
                />
                {expanded.has(r.service) && <OperationRows service={r.service} timeframe={timeframe} grid={grid} seconds={seconds} preset={preset} sort={sort} />}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      {graph && graph.edges.length > 0 && (
        <section className="services-map" aria-label="Service map" data-testid="services-map">
          <h3>Service map</h3>
          <p className="muted small">
            Calls between services in the range (spans whose parent belongs to another service); red: calls that failed.
            {deps.data?.partial && ' Only the newest 2,000,000 spans were read.'}
          </p>
          <ServiceGraphView graph={graph} countNoun="request" />
        </section>
      )}
    </div>
  );
}

const SERVICE_FILTERS: SearchFilter[] = [REQUEST_FILTER];

function sortRows(rows: TableRow[], sort: SortKey): TableRow[] {
  return [...rows].sort((a, b) => {
    if (sort === 'service') return a.service < b.service ? -1 : 1;
    const k = sort === 'requests' ? 'requests' : sort === 'errorRate' ? 'errorRate' : 'p99';
    return (b[k] ?? -1) - (a[k] ?? -1) || (a.service < b.service ? -1 : 1);
  });
}

/** One service's operations, as rows under it: the same columns, from three requests of their own. */
function OperationRows(props: {
  service: string;
  timeframe: Timeframe;
  grid: { interval: bigint; gridStart: bigint; slots: number };
  seconds: number;
  preset: RangePreset;
  sort: SortKey;
}) {
  const { service, timeframe, grid, seconds, preset, sort } = props;
  const filters = useMemo<SearchFilter[]>(() => [REQUEST_FILTER, { keyValueFilter: { key: SERVICE_KEY, operator: 'equals', value: service } }], [service]);
  const { rows, requests, errors, latency } = useGroups(timeframe, filters, OPERATION_KEY, grid);
  if (requests.isError || errors.isError) {
    return (
      <tr>
        <td colSpan={7}>
          <ErrorMessage error={requests.error ?? errors.error} title={`Could not load the operations of ${service}`} />
        </td>
      </tr>
    );
  }
  if (requests.isPending || errors.isPending) {
    return (
      <tr>
        <td colSpan={7} className="muted small operation-cell">
          Loading operations…
        </td>
      </tr>
    );
  }
  return (
    <>
      {sortRows(rows, sort).map((r) => (
        <GroupRow key={r.service} row={r} seconds={seconds} link={searchLink(service, preset, r.service)} latencyPending={latency.isPending} operationOf={service} />
      ))}
    </>
  );
}

function GroupRow(props: {
  row: TableRow;
  seconds: number;
  link: string;
  latencyPending: boolean;
  /** For a service: whether its operations are shown, and the switch. */
  expand?: { open: boolean; toggle: () => void };
  /** For an operation: its service. */
  operationOf?: string;
}) {
  const { row: r, seconds, link, latencyPending, expand, operationOf } = props;
  const latency = (v: number | undefined) => (v !== undefined ? formatDuration(v) : latencyPending ? '…' : '–');
  return (
    <tr
      className={operationOf !== undefined ? 'operation-row' : undefined}
      data-testid={operationOf !== undefined ? 'operation-row' : 'service-row'}
      data-service={operationOf ?? r.service}
      data-operation={operationOf !== undefined ? r.service : undefined}
      data-requests={r.requests}
      data-errors={r.errors}
      data-p50={r.p50 ?? ''}
      data-p99={r.p99 ?? ''}
    >
      <td className={operationOf !== undefined ? 'operation-cell' : undefined}>
        {expand && (
          <button
            type="button"
            className="link-button expand"
            aria-expanded={expand.open}
            aria-label={`${expand.open ? 'Hide' : 'Show'} the operations of ${r.service}`}
            onClick={expand.toggle}
            data-testid="service-expand"
          >
            {expand.open ? '▾' : '▸'}
          </button>
        )}
        {operationOf === undefined && <span className="swatch" style={{ background: serviceColor(r.service) }} />}{' '}
        <Link to={link} data-testid={operationOf !== undefined ? 'operation-link' : 'service-link'}>
          {r.service}
        </Link>
      </td>
      <td className="num mono">{r.requests.toLocaleString('en-US')}</td>
      <td className="num mono">{rateText(r.requests / seconds)}</td>
      <td className="num mono" style={r.errors ? { color: ERROR_COLOR } : undefined}>
        {r.errors ? `${r.errors.toLocaleString('en-US')} (${(r.errorRate * 100).toFixed(1)}%)` : '0'}
      </td>
      <td className="num mono">{latency(r.p50)}</td>
      <td className="num mono">{latency(r.p99)}</td>
      <td>
        <svg width={SPARK_W} height={SPARK_H} role="img" aria-label={`Requests and errors of ${r.service} over time`}>
          <polyline points={sparkline(r.requestSeries, SPARK_W, SPARK_H - 2)} className="spark" />
          {r.errors > 0 && <polyline points={sparkline(r.errorSeries, SPARK_W, SPARK_H - 2, Math.max(1, ...r.requestSeries))} className="spark spark-errors" />}
        </svg>
      </td>
    </tr>
  );
}
