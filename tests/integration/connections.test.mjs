// Many idle keep-alive connections must not stall ingest or the API (an asynchronous server, not
// a thread per connection): hold 1,000 idle connections to the API port and 200 to the OTLP/HTTP
// port, then ingest through the SDK and query, each within a few seconds.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';

import { ALL_TIME, Api } from './lib/api.mjs';
import { ROOT_CONTEXT, makeService, trace } from './lib/otel.mjs';
import { startServer } from './lib/server.mjs';

const API_CONNECTIONS = 1_000;
const OTLP_CONNECTIONS = 200;
const OPEN_BATCH = 100;
const DEADLINE_MS = 5_000;

let srv;
let api;
const sockets = [];

// Opens a TCP connection. With `ping`, sends one keep-alive GET /v1/ping and waits for the whole
// response, leaving the connection open and idle; without, the connection never sends a byte.
function openConnection(port, { ping = false } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.setTimeout(15_000, () => sock.destroy(new Error('connection setup timed out')));
    sock.once('error', reject);
    sock.once('connect', () => {
      sockets.push(sock);
      if (!ping) {
        sock.setTimeout(0);
        resolve(sock);
        return;
      }
      let data = '';
      const onData = (chunk) => {
        data += chunk.toString('latin1');
        const end = data.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = Number(/content-length:\s*(\d+)/i.exec(data.slice(0, end))?.[1] ?? NaN);
        if (data.length >= end + 4 + len) {
          sock.off('data', onData);
          sock.setTimeout(0);
          if (!data.startsWith('HTTP/1.1 200')) reject(new Error(`ping answered ${data.split('\r\n')[0]}`));
          else if (!data.slice(end + 4).startsWith('pong')) reject(new Error('ping body is not pong'));
          else resolve(sock);
        }
      };
      sock.on('data', onData);
      sock.write('GET /v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    });
  });
}

async function openMany(port, count, opts) {
  for (let i = 0; i < count; i += OPEN_BATCH) {
    const n = Math.min(OPEN_BATCH, count - i);
    await Promise.all(Array.from({ length: n }, () => openConnection(port, opts)));
  }
}

async function within(ms, what, fn) {
  const t0 = Date.now();
  const result = await fn();
  const elapsed = Date.now() - t0;
  assert.ok(elapsed <= ms, `${what} took ${elapsed} ms (limit ${ms} ms)`);
  return result;
}

before(async () => {
  srv = await startServer();
  api = new Api(srv.apiUrl);
});

after(async () => {
  for (const s of sockets) s.destroy();
  if (srv) await srv.stop();
});

describe('with 1,200 idle connections open', () => {
  it('opens them', { timeout: 120_000 }, async () => {
    await openMany(srv.ports.http, API_CONNECTIONS / 2, { ping: true }); // served, then idle
    await openMany(srv.ports.http, API_CONNECTIONS / 2); // never send a byte
    await openMany(srv.ports.otlpHttp, OTLP_CONNECTIONS);
    assert.equal(sockets.length, API_CONNECTIONS + OTLP_CONNECTIONS);
  });

  it('the API still answers', async () => {
    await within(DEADLINE_MS, 'ping', async () => {
      const res = await api.ping();
      assert.equal(res.status, 200);
      assert.equal(res.text, 'pong');
    });
  });

  it('ingest over OTLP/HTTP and gRPC still succeeds and is queryable', { timeout: 60_000 }, async () => {
    const traceIds = [];
    for (const kind of ['proto', 'json', 'grpc']) {
      const svc = makeService(kind, srv, { 'service.name': `it-conn-${kind}` }, { record: false });
      try {
        const tracer = svc.tracer('it-conn', '1.0.0');
        const root = tracer.startSpan('conn root', {}, ROOT_CONTEXT);
        const ctx = trace.setSpan(ROOT_CONTEXT, root);
        for (let i = 0; i < 99; i++) tracer.startSpan(`conn child ${i}`, {}, ctx).end();
        root.end();
        await within(DEADLINE_MS, `export over ${kind}`, () => svc.flush());
        traceIds.push(root.spanContext().traceId);
      } finally {
        await svc.shutdown();
      }
    }
    for (const id of traceIds) {
      const res = await within(DEADLINE_MS, 'trace query', () => api.trace(id));
      assert.equal(res.status, 200);
      assert.equal(res.json.spans.length, 100);
    }
    const res = await within(DEADLINE_MS, 'search', () =>
      api.search({ timeframe: ALL_TIME, filters: [{ keyValueFilter: { key: 'span.name', operator: 'equals', value: 'conn root' } }] }),
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.spans.length, 3);
  });

  it('the served keep-alive connections still work', async (t) => {
    // Reuse a connection that has been idle since its first request.
    const sock = sockets[0];
    if (sock.destroyed) {
      t.diagnostic('the server closed the idle connection (an idle timeout is legitimate)');
      return;
    }
    const answer = await within(DEADLINE_MS, 'ping on an idle keep-alive connection', () =>
      new Promise((resolve, reject) => {
        let data = '';
        sock.on('data', (c) => {
          data += c.toString('latin1');
          if (data.includes('\r\n\r\n') && data.endsWith('pong')) resolve(data);
        });
        sock.once('error', reject);
        sock.once('close', () => resolve(data));
        sock.write('GET /v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      }),
    );
    if (answer === '') t.diagnostic('the server closed the idle connection (an idle timeout is legitimate)');
    else assert.match(answer, /^HTTP\/1\.1 200/);
  });

  it('closing them all leaves the server healthy', async () => {
    for (const s of sockets) s.destroy();
    const res = await api.get('/healthz');
    assert.equal(res.status, 200);
    const { code } = await srv.stop();
    assert.equal(code, 0, srv.logTail());
    srv = null;
  });
});
