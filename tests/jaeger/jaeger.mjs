// Starts the real Jaeger v2 (built by build_jaeger.sh; $TELETRACE_JAEGER_BIN) from
// jaeger-memory.yaml.in with every port free and on loopback, for the differential tests.
// Returns { url (query HTTP), child, logPath, grpc (OTLP/gRPC URL), zipkin (Zipkin receiver URL) }
// once the query API answers; the process is killed when the test process exits, and its
// directory removed unless the test process failed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { freePort } from '../integration/lib/server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const JAEGER_BIN = process.env.TELETRACE_JAEGER_BIN;

export async function startJaeger() {
  assert.ok(JAEGER_BIN, 'TELETRACE_JAEGER_BIN must point at the jaeger binary (run.sh sets it)');
  const ports = {};
  for (const name of ['OTLP_GRPC_PORT', 'OTLP_HTTP_PORT', 'ZIPKIN_PORT', 'QUERY_HTTP_PORT',
                      'QUERY_GRPC_PORT', 'METRICS_PORT', 'HEALTH_PORT']) {
    ports[name] = await freePort();
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'teletrace-jaeger-'));
  let config = readFileSync(path.join(HERE, 'jaeger-memory.yaml.in'), 'utf8');
  for (const [k, v] of Object.entries(ports)) config = config.replaceAll(`@${k}@`, String(v));
  const configPath = path.join(dir, 'jaeger.yaml');
  writeFileSync(configPath, config);
  const logPath = path.join(dir, 'jaeger.log');
  const fd = openSync(logPath, 'a');
  const child = spawn(JAEGER_BIN, ['--config', configPath], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  process.on('exit', (code) => {
    child.kill('SIGKILL');
    // Its configuration and log stay for a failed run to be read.
    if (code === 0) rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${ports.QUERY_HTTP_PORT}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`jaeger exited: ${readFileSync(logPath, 'utf8').slice(-3000)}`);
    }
    try {
      const res = await fetch(`${url}/api/services`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`jaeger not ready: ${readFileSync(logPath, 'utf8').slice(-3000)}`);
    await sleep(200);
  }
  return {
    url,
    child,
    logPath,
    grpc: `http://127.0.0.1:${ports.OTLP_GRPC_PORT}`,
    zipkin: `http://127.0.0.1:${ports.ZIPKIN_PORT}`,
  };
}
