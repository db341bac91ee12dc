// The OCI image (make image) under podman, as a user runs it: loopback-published ports, a named
// volume on /data. Checks the image's metadata, that it runs as the non-root user and its
// HEALTHCHECK passes, sends spans with the official OpenTelemetry JS SDK over gRPC and HTTP, reads
// them back through the API, stops it with SIGTERM (exit 0), runs a new container on the same
// volume and finds every span and the same system id. Run by `make image-test` (tests/README.md);
// not part of the default integration run, which needs no podman.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Api, countAllSpans } from '../lib/api.mjs';
import { makeService, SpanKind } from '../lib/otel.mjs';
import { freePort, REPO_ROOT } from '../lib/server.mjs';

const VERSION = readFileSync(path.join(REPO_ROOT, 'VERSION'), 'utf8').trim();
const IMAGE = process.env.TELETRACE_IMAGE ?? `localhost/teletrace:${VERSION}`;
const NAME = `teletrace-image-test-${process.pid}`;
const VOLUME = `${NAME}-data`;
const SPANS_PER_EXPORTER = 60;

// podman here needs runc (crun fails on this machine's cgroups) and explicit ulimits (its default
// setrlimit is refused): a containers.conf of our own, with the limits the caller has.
const confDir = mkdtempSync(path.join(os.tmpdir(), 'teletrace-podman-'));
const hardNofile = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
writeFileSync(path.join(confDir, 'containers.conf'),
  `[containers]\ndefault_ulimits = ["nofile=${hardNofile}:${hardNofile}", "nproc=4096:4096"]\n` +
  '[engine]\nruntime = "runc"\n');
const ENV = { ...process.env, CONTAINERS_CONF: path.join(confDir, 'containers.conf') };

function podman(...args) {
  const r = spawnSync('podman', args, { env: ENV, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`podman ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout.trim();
}
function inspect(what, format) {
  return JSON.parse(podman(what === 'image' ? 'image' : 'container', 'inspect', '-f', format,
    what === 'image' ? IMAGE : NAME));
}

let ports;
let api;
async function runContainer() {
  podman('run', '-d', '--name', NAME, '--stop-timeout', '30',
    '-p', `127.0.0.1:${ports.grpc}:4317`, '-p', `127.0.0.1:${ports.otlpHttp}:4318`,
    '-p', `127.0.0.1:${ports.http}:8080`, '-v', `${VOLUME}:/data`, IMAGE);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${api.baseUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`not ready in 30 s:\n${podman('logs', NAME)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
function removeContainer() {
  spawnSync('podman', ['rm', '-f', '-t', '0', NAME], { env: ENV });
}

before(async () => {
  ports = { grpc: await freePort(), otlpHttp: await freePort(), http: await freePort() };
  api = new Api(`http://127.0.0.1:${ports.http}`);
  removeContainer();
  spawnSync('podman', ['volume', 'rm', '-f', VOLUME], { env: ENV });
  podman('volume', 'create', VOLUME);
  await runContainer();
});

after(() => {
  removeContainer();
  spawnSync('podman', ['volume', 'rm', '-f', VOLUME], { env: ENV });
  rmSync(confDir, { recursive: true, force: true });
});

describe('the OCI image', () => {
  it('declares the user, ports, volume, health check and labels', () => {
    const config = inspect('image', '{{json .Config}}');
    assert.equal(config.User, '10001:10001');
    assert.deepStrictEqual(Object.keys(config.ExposedPorts).sort(), ['4317/tcp', '4318/tcp', '8080/tcp']);
    assert.deepStrictEqual(Object.keys(config.Volumes), ['/data']);
    assert.deepStrictEqual(config.Entrypoint, ['/opt/teletrace/bin/teletrace']);
    const health = inspect('image', '{{json .HealthCheck}}');
    assert.deepStrictEqual(health.Test, ['CMD', '/opt/teletrace/bin/teletrace', '--probe']);
    assert.equal(health.Interval, 10e9);
    const revision = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    assert.equal(config.Labels['org.opencontainers.image.version'], VERSION);
    assert.equal(config.Labels['org.opencontainers.image.revision'], revision);
    assert.equal(config.Labels['org.opencontainers.image.licenses'], 'Apache-2.0');
    assert.equal(config.Labels['org.opencontainers.image.source'], 'https://github.com/teletrace/teletrace');
    const size = inspect('image', '{{json .Size}}');
    assert.ok(size < 60e6, `image is ${size} bytes, over 60 MB`);
  });

  it('runs as uid 10001 and its HEALTHCHECK (teletrace --probe) passes', () => {
    const pid = inspect('container', '{{json .State.Pid}}');
    const uids = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(.*)$/m)[1].split(/\s+/);
    assert.deepStrictEqual(uids, ['10001', '10001', '10001', '10001']);
    const check = spawnSync('podman', ['healthcheck', 'run', NAME], { env: ENV, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.equal(inspect('container', '{{json .State.Health.Status}}'), 'healthy');
  });

  let systemId;
  it('stores what the OpenTelemetry SDK sends over gRPC and HTTP and answers the API', async () => {
    const endpoints = { grpcUrl: `127.0.0.1:${ports.grpc}`,
      otlpTracesUrl: `http://127.0.0.1:${ports.otlpHttp}/v1/traces` };
    for (const kind of ['grpc', 'proto']) {
      const service = makeService(kind, endpoints, { 'service.name': `image-${kind}` });
      const tracer = service.tracer('image-test', VERSION);
      for (let i = 0; i < SPANS_PER_EXPORTER; i += 1) {
        tracer.startSpan(`op-${i % 3}`, { kind: SpanKind.SERVER, attributes: { i } }).end();
      }
      await service.flush();
      await service.shutdown();
    }
    assert.equal(await countAllSpans(api), 2 * SPANS_PER_EXPORTER);
    const info = await api.systemInfo();
    assert.equal(info.status, 200);
    assert.equal(info.json.version, VERSION);
    systemId = info.json.systemId;
  });

  it('stops cleanly on SIGTERM, and a new container on the same volume has every span', async () => {
    podman('stop', '-t', '30', NAME);
    assert.equal(inspect('container', '{{json .State.ExitCode}}'), 0);
    assert.match(podman('logs', NAME), /\] \[info\] stopped$/m);
    removeContainer();
    await runContainer();
    assert.equal(await countAllSpans(api), 2 * SPANS_PER_EXPORTER);
    const info = await api.systemInfo();
    assert.equal(info.json.systemId, systemId);
  });
});
