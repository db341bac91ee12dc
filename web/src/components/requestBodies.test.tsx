// The statistics and histogram requests the components really send (fetch stubbed): approximate
// duration percentiles where a chart, a facet or a span's rank shows them, and no flag on the
// other requests.
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, waitFor } from '@testing-library/react';
import type { ReactNode } from 'react';
import { MemoryRouter } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Timeframe } from '../api/types';
import { defaultSearchState, type ChartKind } from '../model/searchState';
import { DurationFacet } from './SearchPage/Facets/DurationFacet';
import { SpanHistogram } from './SearchPage/SpanHistogram';
import { ServicesPage } from './ServicesPage/ServicesPage';
import { OperationRank } from './TraceView/SpanDetails/SpanDetails';

interface Sent {
  path: string;
  body: string;
}

let sent: Sent[];

/** Every POST's path and body as sent; empty answers of the right shape. */
function fakeServer() {
  return vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const path = String(input);
    sent.push({ path, body: String(init?.body ?? '') });
    const answer = path.endsWith('/statistics')
      ? '{"statistics":{}}'
      : path === '/v1/histograms'
        ? '{"histograms":[]}'
        : path === '/v1/dependencies'
          ? '{"dependencies":[]}'
          : '{}';
    return new Response(answer, { status: 200, headers: { 'content-type': 'application/json' } });
  });
}

function renderWithClient(ui: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter>{ui}</MemoryRouter>
    </QueryClientProvider>,
  );
}

const TF: Timeframe = { startTimeUnixNanoSec: 1_700_000_000_000_000_000n, endTimeUnixNanoSec: 1_700_003_600_000_000_000n };
const TF_JSON = '{"startTimeUnixNanoSec":1700000000000000000,"endTimeUnixNanoSec":1700003600000000000}';

beforeEach(() => {
  sent = [];
  localStorage.clear();
  vi.stubGlobal('fetch', fakeServer());
});
afterEach(() => vi.unstubAllGlobals());

describe('DurationFacet', () => {
  it('asks for the duration statistics with approximate percentiles', async () => {
    renderWithClient(<DurationFacet state={defaultSearchState()} update={() => {}} timeframe={TF} />);
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).toEqual({
      path: '/v1/tags/externalFields.durationNano/statistics',
      body: `{"timeframe":${TF_JSON},"filters":[],"desiredStatistics":["count","min","p50","p90","p99","max"],"approximate":true}`,
    });
  });
});

describe('OperationRank', () => {
  it('asks for approximate percentiles of the operation within 30 minutes of the span', async () => {
    renderWithClient(<OperationRank service="payment" name="Charge" startMs={1_700_000_000_000} durationNs={5_000_000n} />);
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).toEqual({
      path: '/v1/tags/externalFields.durationNano/statistics',
      body:
        '{"timeframe":{"startTimeUnixNanoSec":1699998200000000000,"endTimeUnixNanoSec":1700001800000000000},' +
        '"filters":[{"keyValueFilter":{"key":"span.name","operator":"equals","value":"Charge"}},' +
        '{"keyValueFilter":{"key":"resource.attributes.service.name","operator":"equals","value":"payment"}}],' +
        '"desiredStatistics":["count","p10","p25","p50","p75","p90","p95","p99"],"approximate":true}',
    });
  });
});

describe('SpanHistogram', () => {
  const SPANS = '"spans":{"func":"COUNT","groupBy":"span.status.code","maxGroups":3}';
  const head = `{"timeframe":${TF_JSON},"filters":[],"interval":60000000000,"intervalKey":"span.startTimeUnixNano","aggregations":{${SPANS}`;

  async function bodyFor(chart: ChartKind): Promise<string> {
    renderWithClient(<SpanHistogram timeframe={TF} filters={[]} chart={chart} onChart={() => {}} onZoom={() => {}} onBrush={() => {}} />);
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0].path).toBe('/v1/histograms');
    return sent[0].body;
  }

  it('counts spans by status without the flag', async () => {
    expect(await bodyFor('count')).toBe(`${head}}}`);
  });

  it('asks for approximate percentiles on the latency chart', async () => {
    expect(await bodyFor('latency')).toBe(
      `${head},"latency":{"func":"PERCENTILES","key":"externalFields.durationNano","aggregationParameters":{"percentiles":[50,90,99]}}},"approximate":true}`,
    );
  });

  it('leaves the heatmap without the flag', async () => {
    const body = await bodyFor('heatmap');
    expect(body).toMatch(/^\{.*"heat":\{"func":"RANGE_COUNT",.*\}\}\}\}$/);
    expect(body).not.toContain('approximate');
  });
});

describe('ServicesPage', () => {
  it('asks for approximate p50/p99 and exact request and error counts', async () => {
    renderWithClient(<ServicesPage />);
    await waitFor(() => expect(sent.filter((s) => s.path === '/v1/histograms')).toHaveLength(3));
    const histograms = sent.filter((s) => s.path === '/v1/histograms').map((s) => JSON.parse(s.body) as Record<string, unknown>);
    const latency = histograms.filter((h) => 'latency' in (h.aggregations as object));
    const counts = histograms.filter((h) => 'requests' in (h.aggregations as object));
    expect(latency).toHaveLength(1);
    expect(latency[0].approximate).toBe(true);
    expect(latency[0].aggregations).toStrictEqual({
      latency: {
        func: 'PERCENTILES',
        key: 'externalFields.durationNano',
        groupBy: 'resource.attributes.service.name',
        maxGroups: 1000,
        aggregationParameters: { percentiles: [50, 99] },
      },
    });
    expect(counts).toHaveLength(2);
    for (const c of counts) expect(c).not.toHaveProperty('approximate');
  });
});
