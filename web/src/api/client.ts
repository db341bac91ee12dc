// The typed client for the Teletrace v1 API, on the page's own origin.
//
// Every function resolves with the parsed response or rejects with an ApiError whose message is
// readable as it stands: the server's errorMessage for 4xx/5xx, or what went wrong on the way
// (network, non-JSON answer). Every request carries the access token when one is stored
// (api/auth.ts) and reports a 401 there. Nothing here touches React; api/hooks.ts wraps these in
// queries.
import { getApiToken, noteUnauthorized } from './auth';
import { parseApiJson, parseSpansJson, stringifyApiJson } from './json';
import type {
  ErrorBody,
  HistogramRequest,
  HistogramResponse,
  InternalSpan,
  SearchRequest,
  SpansResponse,
  StatisticsRequest,
  SystemInfo,
  TraceSearchRequest,
  TracesResponse,
  DependenciesRequest,
  DependenciesResponse,
  StatisticsResponse,
  TagsResponse,
  TagValuesRequest,
  TagValuesResponse,
  Timeframe,
} from './types';

export class ApiError extends Error {
  /** HTTP status, or 0 when no response arrived. */
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** The request headers: JSON content type for bodies, the access token when there is one. */
function headersFor(hasBody: boolean, token: string | null): Record<string, string> {
  const h: Record<string, string> = {};
  if (hasBody) h['content-type'] = 'application/json';
  if (token !== null) h.authorization = `Bearer ${token}`;
  return h;
}

async function request<T>(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  signal?: AbortSignal,
  parse: (text: string) => T = parseApiJson,
): Promise<T> {
  const payload = body === undefined ? undefined : stringifyApiJson(body);
  let res: Response;
  // At most two attempts: the second only when a new token was stored while the first, sent
  // with an older one (or none), was in flight and got 401 (see noteUnauthorized).
  for (let attempt = 0; ; attempt++) {
    const token = getApiToken();
    try {
      res = await fetch(path, { method, headers: headersFor(payload !== undefined, token), body: payload, signal });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(`Cannot reach the Teletrace server (${String(err)})`, 0);
    }
    if (res.status !== 401) break;
    if (noteUnauthorized(token) !== 'retry' || attempt > 0) break;
    await res.body?.cancel();
  }
  const text = await res.text();
  if (!res.ok) {
    let message = `${method} ${path} failed with HTTP ${res.status}`;
    try {
      const parsed = JSON.parse(text) as Partial<ErrorBody>;
      if (typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
    } catch {
      // not JSON: keep the generic message
    }
    if (res.status === 401) message = `${message}: sign in with the server's access token`;
    throw new ApiError(message, res.status);
  }
  try {
    return parse(text);
  } catch {
    throw new ApiError(`${method} ${path}: the server answered with invalid JSON`, res.status);
  }
}

export function getSystemInfo(signal?: AbortSignal): Promise<SystemInfo> {
  return request('GET', '/v1/system-info', undefined, signal);
}

/** Calls between services in a range, with those that failed (POST /v1/dependencies). */
export function getServiceDependencies(req: DependenciesRequest, signal?: AbortSignal): Promise<DependenciesResponse> {
  return request('POST', '/v1/dependencies', req, signal);
}

export function searchTraces(req: TraceSearchRequest, signal?: AbortSignal): Promise<TracesResponse> {
  return request('POST', '/v1/traces', req, signal);
}

export function searchSpans(req: SearchRequest, signal?: AbortSignal): Promise<SpansResponse> {
  return request('POST', '/v1/search', req, signal, parseSpansJson<SpansResponse>);
}

export function getTracePage(
  traceId: string,
  page: { pageSize?: number; nextToken?: string },
  signal?: AbortSignal,
): Promise<SpansResponse> {
  const q = new URLSearchParams();
  if (page.pageSize !== undefined) q.set('pageSize', String(page.pageSize));
  if (page.nextToken) q.set('nextToken', page.nextToken);
  const qs = q.toString();
  const path = `/v1/trace/${encodeURIComponent(traceId)}${qs ? `?${qs}` : ''}`;
  return request('GET', path, undefined, signal, parseSpansJson<SpansResponse>);
}

/** Page size used to fetch traces: big traces arrive in pieces and show progress. */
export const TRACE_PAGE_SIZE = 20_000;

/**
 * Fetches every span of a trace, page by page; `onProgress` gets the running span count.
 * Resolves with [] when the trace does not exist (the server answers 404).
 */
export async function getWholeTrace(
  traceId: string,
  onProgress?: (loaded: number) => void,
  signal?: AbortSignal,
): Promise<InternalSpan[]> {
  const spans: InternalSpan[] = [];
  let nextToken: string | undefined;
  for (;;) {
    let page: SpansResponse;
    try {
      page = await getTracePage(traceId, { pageSize: TRACE_PAGE_SIZE, nextToken }, signal);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && spans.length === 0) return [];
      throw err;
    }
    for (const s of page.spans) spans.push(s);
    onProgress?.(spans.length);
    if (!page.metadata?.nextToken || page.spans.length === 0) return spans;
    nextToken = page.metadata.nextToken;
  }
}

export function getTags(timeframe?: Timeframe, signal?: AbortSignal): Promise<TagsResponse> {
  let path = '/v1/tags';
  if (timeframe) {
    const q = new URLSearchParams({
      startTimeUnixNanoSec: timeframe.startTimeUnixNanoSec.toString(),
      endTimeUnixNanoSec: timeframe.endTimeUnixNanoSec.toString(),
    });
    path += `?${q}`;
  }
  return request('GET', path, undefined, signal);
}

export function getTagValues(
  tag: string,
  req: TagValuesRequest,
  signal?: AbortSignal,
): Promise<TagValuesResponse> {
  return request('POST', `/v1/tags/${encodeURIComponent(tag)}`, req, signal);
}

export function getTagStatistics(
  tag: string,
  req: StatisticsRequest,
  signal?: AbortSignal,
): Promise<StatisticsResponse> {
  return request('POST', `/v1/tags/${encodeURIComponent(tag)}/statistics`, req, signal);
}

export function getHistograms(req: HistogramRequest, signal?: AbortSignal): Promise<HistogramResponse> {
  return request('POST', '/v1/histograms', req, signal);
}

/**
 * Whether a failed query is worth one more try: not a bad request (400) nor a missing or
 * rejected token (401, which waits for the user to sign in), and only once.
 */
export function shouldRetry(failures: number, error: unknown): boolean {
  return failures < 1 && !(error instanceof ApiError && (error.status === 400 || error.status === 401));
}
