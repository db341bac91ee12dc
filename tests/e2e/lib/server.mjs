// Runs the real `teletrace` binary for a test: free loopback ports, its own temporary SQLite
// directory, and the built web UI (web/dist) as its UI directory.
//
//   const srv = await startTeletrace();   // resolves once GET /readyz answers 200
//   startTeletrace({ extraArgs: ['--auth.api_token=t'] })   // more flags for the binary
//   srv.url            http://127.0.0.1:N   (UI and API)
//   srv.otlpHttpUrl    http://127.0.0.1:N   (OTLP/HTTP; traces at /v1/traces)
//   await srv.stop();  // SIGTERM, waits, removes the temporary directory
//
// A child left running when the test process exits is killed.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../lib/ports.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..');
export const TELETRACE_BIN = process.env.TELETRACE_BIN || path.join(REPO_ROOT, 'build', 'release', 'teletrace');
export const UI_DIR = process.env.TELETRACE_UI_DIR || path.join(REPO_ROOT, 'web', 'dist');

const READY_TIMEOUT_MS = 30_000;

const children = new Set();
process.on('exit', () => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

export async function startTeletrace({ extraArgs = [] } = {}) {
  if (!existsSync(TELETRACE_BIN)) {
    throw new Error(`teletrace binary not found at ${TELETRACE_BIN}: build it or set TELETRACE_BIN`);
  }
  if (!existsSync(path.join(UI_DIR, 'index.html'))) {
    throw new Error(`built UI not found at ${UI_DIR}: run "npm ci && npm run build" in web/ or set TELETRACE_UI_DIR`);
  }
  const [http, grpc, otlpHttp] = [await freePort(), await freePort(), await freePort()];
  const work = mkdtempSync(path.join(os.tmpdir(), 'teletrace-e2e-'));
  const logPath = path.join(work, 'server.log');
  const log = openSync(logPath, 'a');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TELETRACE_')));
  const child = spawn(
    TELETRACE_BIN,
    [
      '--server.host=127.0.0.1',
      `--server.http_port=${http}`,
      `--server.otlp_grpc_port=${grpc}`,
      `--server.otlp_http_port=${otlpHttp}`,
      `--storage.sqlite.path=${path.join(work, 'data')}`,
      `--server.ui_dir=${UI_DIR}`,
      ...extraArgs,
    ],
    { cwd: work, env, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  children.add(child);
  child.once('exit', () => children.delete(child));

  const logTail = () => {
    try {
      return readFileSync(logPath, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const url = `http://127.0.0.1:${http}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`teletrace exited during start-up (${child.exitCode ?? child.signalCode})\n${logTail()}`);
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`teletrace not ready within ${READY_TIMEOUT_MS} ms\n${logTail()}`);
    }
    await sleep(100);
  }

  return {
    url,
    otlpHttpUrl: `http://127.0.0.1:${otlpHttp}`,
    ports: { http, grpc, otlpHttp },
    logTail,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await new Promise((resolve) => child.once('exit', resolve));
        clearTimeout(timer);
      }
      if (!process.env.TELETRACE_E2E_KEEP) rmSync(work, { recursive: true, force: true });
    },
  };
}

/** `teletrace --help`, for tests that need a setting only newer binaries have. */
export function teletraceHelp() {
  if (!existsSync(TELETRACE_BIN)) return '';
  const r = spawnSync(TELETRACE_BIN, ['--help'], { encoding: 'utf8', timeout: 10_000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}
