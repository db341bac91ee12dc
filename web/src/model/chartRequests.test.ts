import { stringifyApiJson } from '../api/json';
import type { SearchFilter, Timeframe } from '../api/types';
import {
  durationFacetRequest,
  hasDurationPercentiles,
  histogramRequest,
  servicesCountsRequest,
  servicesLatencyRequest,
  spanHistogramRequest,
} from './chartRequests';
import { DURATION_BOUNDS_NS } from './heatmap';
import { ERROR_FILTER, REQUEST_FILTER } from './servicesOverview';

// The bodies exactly as they go on the wire (key order included; an absent field is absent).
const TF: Timeframe = { startTimeUnixNanoSec: 1_700_000_000_000_000_000n, endTimeUnixNanoSec: 1_700_003_600_000_000_000n };
const TF_JSON = '{"startTimeUnixNanoSec":1700000000000000000,"endTimeUnixNanoSec":1700003600000000000}';
const FILTERS: SearchFilter[] = [{ keyValueFilter: { key: 'span.name', operator: 'equals', value: 'GET /' } }];
const FILTERS_JSON = '[{"keyValueFilter":{"key":"span.name","operator":"equals","value":"GET /"}}]';
const INTERVAL = 60_000_000_000n;
const SPANS_JSON = '"spans":{"func":"COUNT","groupBy":"span.status.code","maxGroups":3}';

describe('durationFacetRequest', () => {
  it('asks for count, min, the percentiles and max of the duration, percentiles approximate', () => {
    expect(stringifyApiJson(durationFacetRequest(TF, FILTERS))).toBe(
      `{"timeframe":${TF_JSON},"filters":${FILTERS_JSON},"desiredStatistics":["count","min","p50","p90","p99","max"],"approximate":true}`,
    );
  });
});

describe('spanHistogramRequest', () => {
  it('counts spans by status without the flag on the spans chart', () => {
    const body = stringifyApiJson(spanHistogramRequest(TF, FILTERS, INTERVAL, 'count'));
    expect(body).toBe(
      `{"timeframe":${TF_JSON},"filters":${FILTERS_JSON},"interval":60000000000,"intervalKey":"span.startTimeUnixNano","aggregations":{${SPANS_JSON}}}`,
    );
    expect(body).not.toContain('approximate');
  });

  it('asks for approximate duration percentiles on the latency chart', () => {
    expect(stringifyApiJson(spanHistogramRequest(TF, FILTERS, INTERVAL, 'latency'))).toBe(
      `{"timeframe":${TF_JSON},"filters":${FILTERS_JSON},"interval":60000000000,"intervalKey":"span.startTimeUnixNano","aggregations":{${SPANS_JSON},` +
        '"latency":{"func":"PERCENTILES","key":"externalFields.durationNano","aggregationParameters":{"percentiles":[50,90,99]}}},"approximate":true}',
    );
  });

  it('leaves the heatmap (duration ranges, no percentile) exact', () => {
    const body = stringifyApiJson(spanHistogramRequest(TF, [], INTERVAL, 'heatmap'));
    expect(body).toBe(
      `{"timeframe":${TF_JSON},"filters":[],"interval":60000000000,"intervalKey":"span.startTimeUnixNano","aggregations":{${SPANS_JSON},` +
        `"heat":{"func":"RANGE_COUNT","key":"externalFields.durationNano","aggregationParameters":{"bounds":${JSON.stringify(DURATION_BOUNDS_NS)}}}}}`,
    );
    expect(body).not.toContain('approximate');
  });
});

describe('services overview requests', () => {
  it('counts requests and errors per service without the flag', () => {
    expect(stringifyApiJson(servicesCountsRequest(TF, INTERVAL, [REQUEST_FILTER], 'resource.attributes.service.name'))).toBe(
      `{"timeframe":${TF_JSON},"filters":[{"keyValueFilter":{"key":"span.kind","operator":"in","value":["Server","Consumer"]}}],` +
        '"interval":60000000000,"intervalKey":"span.startTimeUnixNano",' +
        '"aggregations":{"requests":{"func":"COUNT","groupBy":"resource.attributes.service.name","maxGroups":1000}}}',
    );
    expect(servicesCountsRequest(TF, INTERVAL, [REQUEST_FILTER, ERROR_FILTER], 'span.name')).not.toHaveProperty('approximate');
  });

  it('asks for approximate p50 and p99 per service in one bucket', () => {
    expect(stringifyApiJson(servicesLatencyRequest(TF, [REQUEST_FILTER], 'resource.attributes.service.name'))).toBe(
      `{"timeframe":${TF_JSON},"filters":[{"keyValueFilter":{"key":"span.kind","operator":"in","value":["Server","Consumer"]}}],` +
        '"interval":9223372036854775808,"intervalKey":"span.startTimeUnixNano",' +
        '"aggregations":{"latency":{"func":"PERCENTILES","key":"externalFields.durationNano","groupBy":"resource.attributes.service.name",' +
        '"maxGroups":1000,"aggregationParameters":{"percentiles":[50,99]}}},"approximate":true}',
    );
  });
});

describe('hasDurationPercentiles', () => {
  it('is true only for a PERCENTILES of the span duration', () => {
    expect(hasDurationPercentiles({ p: { func: 'PERCENTILES', key: 'externalFields.durationNano', aggregationParameters: { percentiles: [50] } } })).toBe(true);
    expect(hasDurationPercentiles({ p: { func: 'PERCENTILES', key: 'span.attributes.size', aggregationParameters: { percentiles: [50] } } })).toBe(false);
    expect(hasDurationPercentiles({ r: { func: 'RANGE_COUNT', key: 'externalFields.durationNano', aggregationParameters: { bounds: [0] } } })).toBe(false);
    expect(hasDurationPercentiles({ c: { func: 'COUNT' } })).toBe(false);
  });

  it('keeps percentiles of other keys exact', () => {
    const req = histogramRequest(TF, [], INTERVAL, {
      size: { func: 'PERCENTILES', key: 'span.attributes.size', aggregationParameters: { percentiles: [50] } },
    });
    expect(req).not.toHaveProperty('approximate');
  });
});
