// Services overview: per service, over the chosen range, its requests (server and consumer spans)
// and their rate, errors and error rate, p50 and p99 latency, and sparklines of requests and
// errors. Two histogram requests give every service's counts and series at once; the latency
// percentiles are one statistics request per service. A service's name opens the search filtered
// to it.
import { useQueries, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { getDependencies, getHistograms, getTagStatistics } from '../../api/client';
import { timeframeKey } from '../../api/hooks';
import type { SearchFilter, Timeframe } from '../../api/types';
import { ERROR_COLOR, serviceColor } from '../../model/colors';
import { formatDuration } from '../../model/format';
import { defaultSearchState, PRESET_LABELS, PRESET_MS, RANGE_PRESETS, serializeSearchState, type RangePreset } from '../../model/searchState';
import { ERROR_FILTER, REQUEST_FILTER, SERVICE_KEY, serviceRows, servicesGraph, sparkline } from '../../model/servicesOverview';
import { msToNs } from '../../model/span';
import { ErrorMessage } from '../common/ErrorMessage';
import { ServiceGraphView } from '../TraceView/ServiceGraph/ServiceGraph';

const SLOTS = 30;
const SPARK_W = 120;
const SPARK_H = 22;

type SortKey = 'requests' | 'errorRate' | 'p99' | 'service';

function countsRequest(timeframe: Timeframe, interval: bigint, filters: SearchFilter[]) {
  return getHistograms({
    timeframe,
    filters,
    interval,
    intervalKey: 'span.startTimeUnixNano',
    aggregations: { requests: { func: 'COUNT', groupBy: SERVICE_KEY, maxGroups: 1000 } },
  });
}

/** Requests per second, or per minute when fewer than one a second. */
function rateText(perSecond: number): string {
  return perSecond >= 1 ? `${perSecond.toFixed(1)}/s` : `${(perSecond * 60).toFixed(2)}/min`;
}

function searchLink(service: string, preset: RangePreset): string {
  const s = defaultSearchState();
  s.range = { kind: 'relative', preset };
  s.selections = { [SERVICE_KEY]: [service] };
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
  const key = timeframeKey(timeframe);
  const requests = useQuery({ queryKey: ['services', 'requests', key], queryFn: () => countsRequest(timeframe, interval, [REQUEST_FILTER]) });
  const errors = useQuery({ queryKey: ['services', 'errors', key], queryFn: () => countsRequest(timeframe, interval, [REQUEST_FILTER, ERROR_FILTER]) });
  const deps = useQuery({
    queryKey: ['services', 'dependencies', key],
    queryFn: ({ signal }) => getDependencies(anchorMs, PRESET_MS[preset], signal),
  });
  const rows = useMemo(() => serviceRows(requests.data, errors.data, gridStart, interval, slots), [requests.data, errors.data, gridStart, interval, slots]);
  const latency = useQueries({
    queries: rows.map((r) => ({
      queryKey: ['services', 'latency', key, r.service],
      queryFn: ({ signal }: { signal: AbortSignal }) =>
        getTagStatistics(
          'externalFields.durationNano',
          {
            timeframe,
            filters: [REQUEST_FILTER, { keyValueFilter: { key: SERVICE_KEY, operator: 'equals', value: r.service } }],
            desiredStatistics: ['p50', 'p99'],
          },
          signal,
        ),
    })),
  });
  const graph = useMemo(() => (deps.data ? servicesGraph(rows, deps.data.data ?? []) : null), [rows, deps.data]);
  const p = (i: number, name: 'p50' | 'p99') => {
    const v = latency[i]?.data?.statistics[name];
    return v === undefined ? undefined : Number(v);
  };
  const seconds = PRESET_MS[preset] / 1000;
  const table = rows.map((r, i) => ({ ...r, p50: p(i, 'p50'), p99: p(i, 'p99'), errorRate: r.requests ? r.errors / r.requests : 0 }));
  table.sort((a, b) => {
    if (sort === 'service') return a.service < b.service ? -1 : 1;
    const k = sort === 'requests' ? 'requests' : sort === 'errorRate' ? 'errorRate' : 'p99';
    return (b[k] ?? -1) - (a[k] ?? -1) || (a.service < b.service ? -1 : 1);
  });

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
              <tr
                key={r.service}
                data-testid="service-row"
                data-service={r.service}
                data-requests={r.requests}
                data-errors={r.errors}
                data-p50={r.p50 ?? ''}
                data-p99={r.p99 ?? ''}
              >
                <td>
                  <span className="swatch" style={{ background: serviceColor(r.service) }} />{' '}
                  <Link to={searchLink(r.service, preset)} data-testid="service-link">
                    {r.service}
                  </Link>
                </td>
                <td className="num mono">{r.requests.toLocaleString('en-US')}</td>
                <td className="num mono">{rateText(r.requests / seconds)}</td>
                <td className="num mono" style={r.errors ? { color: ERROR_COLOR } : undefined}>
                  {r.errors ? `${r.errors.toLocaleString('en-US')} (${(r.errorRate * 100).toFixed(1)}%)` : '0'}
                </td>
                <td className="num mono">{r.p50 === undefined ? '…' : formatDuration(r.p50)}</td>
                <td className="num mono">{r.p99 === undefined ? '…' : formatDuration(r.p99)}</td>
                <td>
                  <svg width={SPARK_W} height={SPARK_H} role="img" aria-label={`Requests and errors of ${r.service} over time`}>
                    <polyline points={sparkline(r.requestSeries, SPARK_W, SPARK_H - 2)} className="spark" />
                    {r.errors > 0 && <polyline points={sparkline(r.errorSeries, SPARK_W, SPARK_H - 2, Math.max(1, ...r.requestSeries))} className="spark spark-errors" />}
                  </svg>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {graph && graph.edges.length > 0 && (
        <section className="services-map" aria-label="Service map" data-testid="services-map">
          <h3>Service map</h3>
          <p className="muted small">Calls between services in the range (spans whose parent belongs to another service).</p>
          <ServiceGraphView graph={graph} countNoun="request" />
        </section>
      )}
    </div>
  );
}
