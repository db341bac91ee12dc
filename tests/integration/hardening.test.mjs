// Hardening (issue 9): each attack that used to crash, wedge or expose the server, replayed against
// the real binary, with the exact answer asserted and the server shown to keep serving afterwards
// with the data it held.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Api, countAllSpans, httpRequest } from './lib/api.mjs';
import { RawTraceClient, grpc } from './lib/grpc.mjs';
import { decodeRpcStatus, encodeExportRequest, postTraces, simpleTrace } from './lib/otlp.mjs';
import { startServer } from './lib/server.mjs';

// Sends raw bytes on a fresh connection and resolves with everything the server sent before it
// closed (or `idleMs` passed without more data).
function rawExchange(port, bytes, { idleMs = 1500 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let data = '';
    let timer;
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(data);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(finish, idleMs);
    };
    sock.on('data', (chunk) => {
      data += chunk.toString('latin1');
      arm();
    });
    sock.on('end', finish);
    sock.on('error', (err) => (data ? finish() : reject(err)));
    sock.on('connect', () => {
      sock.write(bytes);
      arm();
    });
  });
}

function statusOf(raw) {
  return Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? NaN);
}

function bodyOf(raw) {
  return raw.slice(raw.indexOf('\r\n\r\n') + 4);
}

async function storeOneTrace(srv, count = 3) {
  const t = simpleTrace({ count, service: 'it-hardening' });
  const res = await postTraces(srv.otlpTracesUrl, encodeExportRequest(t.resourceSpans));
  assert.equal(res.status, 200);
  return t;
}

describe('hardening: API input that used to kill or exhaust the server', () => {
  let srv;
  let api;
  let stored;

  before(async () => {
    srv = await startServer();
    api = new Api(srv.apiUrl);
    stored = await storeOneTrace(srv, 5);
  });
  after(async () => {
    const { code } = await srv.stop();
    assert.equal(code, 0);
  });

  it('20-digit integers in query parameters are 400, not a crash', async () => {
    const cases = [
      ['/v1/tags?startTimeUnixNanoSec=99999999999999999999',
        'startTimeUnixNanoSec: must be at most 18446744073709551615, got "99999999999999999999"'],
      ['/v1/tags?endTimeUnixNanoSec=18446744073709551616',
        'endTimeUnixNanoSec: must be at most 18446744073709551615, got "18446744073709551616"'],
      [`/v1/trace/${stored.traceId}?pageSize=99999999999999999999`,
        'pageSize: must be at most 18446744073709551615, got "99999999999999999999"'],
      ['/v1/tags?startTimeUnixNanoSec=-1', 'startTimeUnixNanoSec: must be a non-negative integer, got "-1"'],
    ];
    for (const [target, message] of cases) {
      const res = await api.get(target);
      assert.equal(res.status, 400, target);
      assert.deepEqual(res.json, { errorMessage: message }, target);
    }
    const ping = await api.ping();
    assert.equal(ping.status, 200);
    assert.equal(ping.text, 'pong');
    assert.equal(await countAllSpans(api), 5);
  });

  it('a histogram with an open end and a 1 ns interval is refused, not one bucket per span', async () => {
    const res = await api.histograms({
      timeframe: { startTimeUnixNanoSec: 0n, endTimeUnixNanoSec: 18446744073709551615n },
      interval: 1,
      aggregations: { c: { func: 'COUNT' } },
    });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, {
      errorMessage: 'interval: 1 ns makes more than 100000 buckets over the timeframe',
    });
  });

  it('a foreign Host (DNS rebinding) is 403 and a cross-site POST is 403 or 415', async () => {
    const port = srv.ports.http;
    const rebinding = await rawExchange(port, 'GET /v1/ping HTTP/1.1\r\nHost: attacker.example:8080\r\n\r\n');
    assert.equal(statusOf(rebinding), 403);
    assert.equal(bodyOf(rebinding),
      '{"errorMessage":"host \\"attacker.example\\" is not allowed (server.allowed_hosts)"}');
    const body = '{"filters":[]}';
    const simple = await rawExchange(port,
      `POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    assert.equal(statusOf(simple), 415);
    assert.equal(bodyOf(simple),
      '{"errorMessage":"Content-Type must be application/json, got \\"text/plain\\""}');
    const cross = await rawExchange(port,
      `POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: https://evil.example\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    assert.equal(statusOf(cross), 403);
    const metrics = await api.get('/metrics');
    assert.match(metrics.text, /teletrace_refusals_total\{listener="http",status="403",reason="guard"\} 2/);
    assert.match(metrics.text, /teletrace_refusals_total\{listener="http",status="415",reason="guard"\} 1/);
  });

  it('Transfer-Encoding other than chunked is 501 and the smuggled request is not served', async () => {
    const smuggled = 'GET /v1/smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    const raw = await rawExchange(srv.ports.http,
      `POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: xchunked\r\n` +
      `Content-Type: application/json\r\n\r\n${smuggled}`);
    assert.equal(statusOf(raw), 501);
    assert.equal(raw.match(/HTTP\/1\.1 /g).length, 1, 'exactly one response: nothing smuggled');
    assert.equal(bodyOf(raw), '{"errorMessage":"unsupported Transfer-Encoding \\"xchunked\\" (only chunked)"}');
  });

  it('UI responses carry the security headers', async () => {
    const res = await httpRequest('GET', `${srv.apiUrl}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  });
});

describe('hardening: --server.ui_dir never serves files outside it', () => {
  let srv;
  let uiDir;

  before(async () => {
    uiDir = mkdtempSync(path.join(os.tmpdir(), 'teletrace-ui-'));
    writeFileSync(path.join(uiDir, 'index.html'), '<html>app</html>');
    srv = await startServer({ extraArgs: [`--server.ui_dir=${uiDir}`] });
  });
  after(async () => {
    await srv.stop();
    rmSync(uiDir, { recursive: true, force: true });
  });

  it('//etc/passwd and /%2Fetc/passwd get the app, not the file', async () => {
    for (const target of ['//etc/passwd', '/%2Fetc/passwd', '/..%2F..%2F..%2Fetc%2Fpasswd', '/assets/..%2F..%2Fetc/passwd']) {
      const raw = await rawExchange(srv.ports.http,
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.ok(!raw.includes('root:'), `${target} leaked /etc/passwd`);
      assert.ok([200, 404].includes(statusOf(raw)), `${target}: ${statusOf(raw)}`);
    }
  });
});

describe('hardening: bearer token on the API', () => {
  let srv;

  before(async () => {
    srv = await startServer({ extraArgs: ['--auth.api_token=it-secret-token'] });
  });
  after(async () => {
    await srv.stop();
  });

  it('the API and /metrics need the token; health and the UI files do not', async () => {
    const none = await httpRequest('GET', `${srv.apiUrl}/v1/ping`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="teletrace"');
    assert.deepEqual(JSON.parse(none.text), { errorMessage: 'missing or invalid bearer token' });
    const wrong = await httpRequest('GET', `${srv.apiUrl}/v1/ping`, { headers: { authorization: 'Bearer it-secret-tokeN' } });
    assert.equal(wrong.status, 401);
    const right = await httpRequest('GET', `${srv.apiUrl}/v1/ping`, { headers: { authorization: 'Bearer it-secret-token' } });
    assert.equal(right.status, 200);
    assert.equal(right.text, 'pong');
    assert.equal((await httpRequest('GET', `${srv.apiUrl}/metrics`)).status, 401);
    assert.equal((await httpRequest('GET', `${srv.apiUrl}/healthz`)).status, 200);
    assert.equal((await httpRequest('GET', `${srv.apiUrl}/`)).status, 200);
  });
});

describe('hardening: bearer token on OTLP ingest', () => {
  let srv;
  let client;

  before(async () => {
    srv = await startServer({ extraArgs: ['--auth.ingest_token=it-ingest-token'] });
    client = new RawTraceClient(srv.grpcUrl);
  });
  after(async () => {
    client.close();
    await srv.stop();
  });

  it('OTLP/HTTP and OTLP/gRPC refuse exports without the token and store nothing', async () => {
    const t = simpleTrace({ count: 2, service: 'it-token' });
    const body = encodeExportRequest(t.resourceSpans);
    const none = await postTraces(srv.otlpTracesUrl, body);
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="teletrace"');
    assert.deepEqual(decodeRpcStatus(none.body), { code: 16, message: 'missing or invalid bearer token' });
    const grpcNone = await client.export(body);
    assert.equal(grpcNone.err?.code, grpc.status.UNAUTHENTICATED);
    assert.equal(grpcNone.err?.details, 'missing or invalid bearer token');
    const api = new Api(srv.apiUrl);
    assert.equal((await api.trace(t.traceId)).status, 404);

    const ok = await postTraces(srv.otlpTracesUrl, body, { headers: { authorization: 'Bearer it-ingest-token' } });
    assert.equal(ok.status, 200);
    const t2 = simpleTrace({ count: 3, service: 'it-token' });
    const grpcOk = await client.export(encodeExportRequest(t2.resourceSpans), { headers: { authorization: 'Bearer it-ingest-token' } });
    assert.equal(grpcOk.err, null);
    assert.equal((await api.trace(t.traceId)).json.spans.length, 2);
    assert.equal((await api.trace(t2.traceId)).json.spans.length, 3);
  });
});

describe('hardening: a connection flood on one port leaves the others serving', () => {
  let srv;
  let api;
  const sockets = [];

  before(async () => {
    srv = await startServer({
      extraArgs: ['--server.max_connections=100', '--server.header_timeout=2s'],
    });
    api = new Api(srv.apiUrl);
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await srv.stop();
  });

  it('past the cap new API connections get 503; ingest works; the port recovers after the header timeout', async () => {
    // 150 connections that start a request header and never finish it (slowloris).
    const closedByServer = [];
    await Promise.all(Array.from({ length: 150 }, () => new Promise((resolve) => {
      const sock = net.connect({ host: '127.0.0.1', port: srv.ports.http });
      sock.on('error', () => {});
      sock.resume(); // read (and drop) the 503s, or 'close' never comes
      closedByServer.push(new Promise((closed) => sock.on('close', closed)));
      sock.on('connect', () => {
        sock.write('GET /v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n');
        sockets.push(sock);
        resolve();
      });
    })));
    const busy = await rawExchange(srv.ports.http, 'GET /v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.equal(statusOf(busy), 503);
    assert.equal(bodyOf(busy), 'too many connections\n');
    // Ingest on its own listener is unaffected while the API port is saturated.
    const t = await storeOneTrace(srv, 2);
    // The header timeout frees the slots (the server closes every held connection, within a
    // bounded wait): the API answers again and has the spans.
    await Promise.race([
      Promise.all(closedByServer),
      new Promise((_, reject) => setTimeout(() => reject(new Error('held connections not closed')), 20_000)),
    ]);
    const ping = await api.ping();
    assert.equal(ping.status, 200);
    const trace = await api.trace(t.traceId);
    assert.equal(trace.json.spans.length, 2);
    const metrics = await api.get('/metrics');
    // Every flood connection and the probe is accounted for exactly once: refused at the cap or
    // closed by the header timeout. (The readiness probe's keep-alive connection may hold one of
    // the 100 slots, so the split is 51/100 or 52/99.)
    const refused = Number(/teletrace_refusals_total\{listener="http",status="503",reason="connections"\} (\d+)/.exec(metrics.text)?.[1]);
    const timedOut = Number(/teletrace_refusals_total\{listener="http",status="408",reason="header_timeout"\} (\d+)/.exec(metrics.text)?.[1]);
    assert.equal(refused + timedOut, 151, `refused ${refused}, timed out ${timedOut}`);
    assert.ok(refused >= 51 && timedOut >= 99, `refused ${refused}, timed out ${timedOut}`);
  });
});


describe('hardening: request bodies on the API port share one 64 MiB budget', () => {
  let srv;
  let api;
  const held = [];

  before(async () => {
    srv = await startServer();
    api = new Api(srv.apiUrl);
  });
  after(async () => {
    for (const s of held) s.destroy();
    await srv.stop();
  });

  const apiInflight = async () =>
    Number(/^teletrace_api_inflight_bytes (\d+)$/m.exec((await api.get('/metrics')).text)?.[1]);

  it('64 announced 1 MiB bodies hold it all: the next is 429, ingest still works, closing frees it', async () => {
    const MiB = 1 << 20;
    // Each connection announces a 1 MiB query body (the API port's maximum) and sends one byte.
    await Promise.all(Array.from({ length: 64 }, () => new Promise((resolve, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port: srv.ports.http });
      sock.on('error', () => {});
      sock.on('connect', () => {
        sock.write(`POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${MiB}\r\n\r\n{`);
        held.push(sock);
        resolve();
      });
      setTimeout(() => reject(new Error('connect timeout')), 5000);
    })));
    const deadline = Date.now() + 10_000;
    while ((await apiInflight()) !== 64 * MiB) {
      assert.ok(Date.now() < deadline, `api inflight ${await apiInflight()}, want ${64 * MiB}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const refused = await rawExchange(srv.ports.http,
      `POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`);
    assert.equal(statusOf(refused), 429);
    assert.match(refused, /\r\nRetry-After: 1\r\n/i);
    assert.match(bodyOf(refused), /in-flight memory limit/);
    // Bodiless requests and ingest, on its own budget, are unaffected.
    assert.equal((await api.ping()).status, 200);
    const t = await storeOneTrace(srv, 2);
    // Closing the holders returns their bytes; the API takes bodies again.
    for (const s of held) s.destroy();
    while ((await apiInflight()) !== 0) {
      assert.ok(Date.now() < deadline + 10_000, `api inflight ${await apiInflight()} after close`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await api.trace(t.traceId)).json.spans.length, 2);
    const page = await api.search({ pageSize: 10 });
    assert.equal(page.status, 200);
    assert.equal(page.json.spans.length, 2);
  });
});
