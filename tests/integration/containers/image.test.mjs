// The OCI image (make image) under podman, as a user runs it: loopback-published ports, a named
// volume on /data. Checks the image's metadata, that it runs as the non-root user and its
// HEALTHCHECK passes, sends spans with the official OpenTelemetry JS SDK over gRPC and HTTP, reads
// them back through the API, stops it with SIGTERM (exit 0), runs a new container on the same
// volume and finds every span and the same system id. Run by `make image-test` (tests/README.md);
// not part of the default integration run, which needs no podman.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Api, countAllSpans } from '../lib/api.mjs';
import { makeService, SpanKind } from '../lib/otel.mjs';
import { freePort, REPO_ROOT } from '../lib/server.mjs';
import { inspectJson, podman, podmanStatus, processUids, removePodmanConf, waitFor200 } from './podman.mjs';

const VERSION = readFileSync(path.join(REPO_ROOT, 'VERSION'), 'utf8').trim();
const IMAGE = process.env.TELETRACE_IMAGE ?? `localhost/teletrace:${VERSION}`;
const NAME = `teletrace-image-test-${process.pid}`;
const VOLUME = `${NAME}-data`;
const SPANS_PER_EXPORTER = 60;
const inspect = (what, format) => inspectJson(what, what === 'image' ? IMAGE : NAME, format);

let ports;
let api;
async function runContainer() {
  podman('run', '-d', '--name', NAME, '--stop-timeout', '30',
    '-p', `127.0.0.1:${ports.grpc}:4317`, '-p', `127.0.0.1:${ports.otlpHttp}:4318`,
    '-p', `127.0.0.1:${ports.http}:8080`, '-v', `${VOLUME}:/data`, IMAGE);
  await waitFor200(`${api.baseUrl}/readyz`, 30_000, () => podman('logs', NAME));
}
function removeContainer() {
  podmanStatus('rm', '-f', '-t', '0', NAME);
}

before(async () => {
  ports = { grpc: await freePort(), otlpHttp: await freePort(), http: await freePort() };
  api = new Api(`http://127.0.0.1:${ports.http}`);
  removeContainer();
  podmanStatus('volume', 'rm', '-f', VOLUME);
  podman('volume', 'create', VOLUME);
  await runContainer();
});

after(() => {
  removeContainer();
  podmanStatus('volume', 'rm', '-f', VOLUME);
  removePodmanConf();
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
    assert.deepStrictEqual(processUids(NAME), ['10001', '10001', '10001', '10001']);
    const check = podmanStatus('healthcheck', 'run', NAME);
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
