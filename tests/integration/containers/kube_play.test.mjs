// The Helm chart's SQLite-mode manifests, rendered by helm and run by `podman kube play` against
// the image from `make image`: there is no Kubernetes here, and podman runs Deployments, ConfigMaps
// and PersistentVolumeClaims but not StatefulSets, so tests/helm/validate -kube-play turns the
// StatefulSet into a Deployment with the same pod template and its claim (and publishes the named
// ports on 127.0.0.1). podman does not run probes, so this test calls /healthz and /readyz itself.
// OTLP in through the OpenTelemetry JS SDK, API out, `podman kube down`, play again on the same
// claim: nothing lost. Run by `make chart-test`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Api, countAllSpans } from '../lib/api.mjs';
import { makeService, SpanKind } from '../lib/otel.mjs';
import { freePort, REPO_ROOT } from '../lib/server.mjs';
import { inspectJson, podman, podmanStatus, processUids, removePodmanConf, waitFor200 } from './podman.mjs';

const VERSION = readFileSync(path.join(REPO_ROOT, 'VERSION'), 'utf8').trim();
const RELEASE = `kp${process.pid}`;
const FULLNAME = `${RELEASE}-teletrace`;
const CLAIM = `data-${FULLNAME}-0`;
const SPANS = 80;

const work = mkdtempSync(path.join(os.tmpdir(), 'teletrace-kube-play-'));
// The claim is played once, as Kubernetes keeps a PersistentVolumeClaim across pod restarts; the
// workload (ConfigMap, Deployment) is played, taken down and played again.
const claimFile = path.join(work, 'claim.yaml');
const playFile = path.join(work, 'workload.yaml');
let ports;
let api;
let rendered;

function render() {
  const helm = process.env.TELETRACE_HELM ??
    execFileSync(path.join(REPO_ROOT, 'scripts', 'install-helm.sh'), { encoding: 'utf8' }).trim();
  const validate = path.join(work, 'validate');
  execFileSync('go', ['build', '-o', validate, '.'], { cwd: path.join(REPO_ROOT, 'tests', 'helm', 'validate') });
  const manifests = execFileSync(helm, ['template', RELEASE, path.join(REPO_ROOT, 'deploy', 'helm', 'teletrace'),
    '--kube-version', '1.33.0', '--set', 'storage.sqlite.persistence.size=1Gi'], { encoding: 'utf8' });
  const played = execFileSync(validate, ['-kube-play', '-host-ports',
    `http=${ports.http},otlp-grpc=${ports.grpc},otlp-http=${ports.otlpHttp}`], { input: manifests, encoding: 'utf8' });
  const docs = played.split(/^---\n/m).filter((d) => d.trim() !== '');
  const isClaim = (d) => /^kind: PersistentVolumeClaim$/m.test(d);
  writeFileSync(claimFile, docs.filter(isClaim).map((d) => `---\n${d}`).join(''));
  writeFileSync(playFile, docs.filter((d) => !isClaim(d)).map((d) => `---\n${d}`).join(''));
  return played;
}

function teletraceContainer() {
  return podman('ps', '--format', '{{.Names}}').split('\n')
    .find((n) => n.startsWith(`${FULLNAME}-pod`) && n.endsWith('-teletrace'));
}

async function play() {
  podman('kube', 'play', playFile);
  await waitFor200(`${api.baseUrl}/readyz`, 30_000,
    () => podmanStatus('logs', teletraceContainer() ?? 'none').stderr);
}

function down() {
  podmanStatus('kube', 'down', playFile);
}

before(async () => {
  ports = { http: await freePort(), grpc: await freePort(), otlpHttp: await freePort() };
  api = new Api(`http://127.0.0.1:${ports.http}`);
  rendered = render();
  podmanStatus('volume', 'rm', '-f', CLAIM);
  podman('kube', 'play', claimFile);
});

after(() => {
  down();
  // podman keeps the claim and a volume it made for the ConfigMap (named after it).
  podmanStatus('volume', 'rm', '-f', CLAIM, FULLNAME);
  removePodmanConf();
  rmSync(work, { recursive: true, force: true });
});

describe('the chart (SQLite mode) under podman kube play', () => {
  it('renders the StatefulSet as a Deployment with its claim, published on loopback', () => {
    const text = rendered;
    const kinds = [...text.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]);
    assert.deepStrictEqual(kinds, ['ConfigMap', 'PersistentVolumeClaim', 'Deployment']);
    assert.match(text, new RegExp(`claimName: ${CLAIM}$`, 'm'));
    assert.equal([...text.matchAll(/hostIP: 127\.0\.0\.1$/gm)].length, 3);
  });

  it('starts; /healthz and /readyz answer (podman runs no probes); non-root, read-only root', async () => {
    await play();
    for (const probe of ['/healthz', '/readyz']) {
      const res = await fetch(`${api.baseUrl}${probe}`);
      assert.equal(res.status, 200, probe);
    }
    const container = teletraceContainer();
    assert.ok(container, 'no teletrace container in the pod');
    assert.deepStrictEqual(processUids(container), ['10001', '10001', '10001', '10001']);
    assert.equal(inspectJson('container', container, '{{json .HostConfig.ReadonlyRootfs}}'), true);
    const info = await api.systemInfo();
    assert.equal(info.json.version, VERSION);
  });

  let systemId;
  it('stores what the OpenTelemetry SDK sends and answers the API', async () => {
    const endpoints = { grpcUrl: `127.0.0.1:${ports.grpc}`,
      otlpTracesUrl: `http://127.0.0.1:${ports.otlpHttp}/v1/traces` };
    for (const kind of ['grpc', 'proto']) {
      const service = makeService(kind, endpoints, { 'service.name': `kube-${kind}` });
      const tracer = service.tracer('kube-play-test', VERSION);
      for (let i = 0; i < SPANS / 2; i += 1) {
        tracer.startSpan(`op-${i % 4}`, { kind: SpanKind.CLIENT, attributes: { i } }).end();
      }
      await service.flush();
      await service.shutdown();
    }
    assert.equal(await countAllSpans(api), SPANS);
    systemId = (await api.systemInfo()).json.systemId;
  });

  it('keeps every span on the claim across kube down and play', async () => {
    down();
    assert.equal(podman('volume', 'ls', '--format', '{{.Name}}').split('\n').includes(CLAIM), true);
    await play();
    assert.equal(await countAllSpans(api), SPANS);
    assert.equal((await api.systemInfo()).json.systemId, systemId);
  });
});
