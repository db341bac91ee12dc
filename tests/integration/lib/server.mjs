// Starts the real `teletrace` binary on free loopback ports with its own temporary data directory.
//
//   const srv = await startServer();           // waits until GET /readyz answers 200
//   srv.apiUrl, srv.otlpHttpUrl, srv.grpcUrl    // http://127.0.0.1:N, ..., 127.0.0.1:N
//   await srv.restart();                        // same data dir, fresh ports
//   await srv.kill9();                          // SIGKILL, no drain
//   const { code } = await srv.stop();          // SIGTERM, waits for exit; removes the data dir
//
// Every live child is SIGKILLed when the test process exits, so a failing test leaves nothing
// running even if it forgets stop().
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../lib/ports.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..');
export const TELETRACE_BIN =
  process.env.TELETRACE_BIN || path.join(REPO_ROOT, 'build', 'release', 'teletrace');

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 20_000;

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

export { freePort };

async function freePorts(n) {
  const ports = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  return ports;
}

function waitExit(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
}

// Options: extraArgs (more --section.key=value flags), dataDir (reuse an existing directory).
export async function startServer({ extraArgs = [], dataDir } = {}) {
  if (!existsSync(TELETRACE_BIN)) {
    throw new Error(
      `teletrace binary not found at ${TELETRACE_BIN}; build it or set TELETRACE_BIN`,
    );
  }
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'teletrace-it-'));
  const srv = new Server(workDir, dataDir ?? path.join(workDir, 'data'), extraArgs);
  await srv.start();
  return srv;
}

class Server {
  constructor(workDir, dataDir, extraArgs) {
    this.workDir = workDir;
    this.dataDir = dataDir;
    this.extraArgs = extraArgs;
    this.child = null;
    this.starts = 0;
    this.logPath = null;
  }

  get apiUrl() {
    return `http://127.0.0.1:${this.ports.http}`;
  }
  get otlpHttpUrl() {
    return `http://127.0.0.1:${this.ports.otlpHttp}`;
  }
  get otlpTracesUrl() {
    return `${this.otlpHttpUrl}/v1/traces`;
  }
  get grpcUrl() {
    return `127.0.0.1:${this.ports.grpc}`;
  }

  async start() {
    const [http, grpc, otlpHttp] = await freePorts(3);
    this.ports = { http, grpc, otlpHttp };
    this.starts += 1;
    this.logPath = path.join(this.workDir, `server-${this.starts}.log`);
    const logFd = openSync(this.logPath, 'a');
    const args = [
      '--server.host=127.0.0.1',
      `--server.http_port=${http}`,
      `--server.otlp_grpc_port=${grpc}`,
      `--server.otlp_http_port=${otlpHttp}`,
      `--storage.sqlite.path=${this.dataDir}`,
      ...this.extraArgs,
    ];
    // Hermetic: no TELETRACE_* settings from the caller's environment reach the server.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('TELETRACE_')),
    );
    const child = spawn(TELETRACE_BIN, args, {
      cwd: this.workDir,
      env,
      stdio: ['ignore', logFd, logFd],
    });
    closeSync(logFd);
    this.child = child;
    live.add(child);
    child.once('exit', () => live.delete(child));
    child.once('error', () => live.delete(child));
    await this.waitReady();
  }

  async waitReady() {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `teletrace exited during start-up (code ${this.child.exitCode}, signal ` +
            `${this.child.signalCode})\n${this.logTail()}`,
        );
      }
      try {
        const res = await fetch(`${this.apiUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
        last = `status ${res.status}`;
      } catch (err) {
        last = err.cause?.code ?? err.message;
      }
      await sleep(100);
    }
    this.child.kill('SIGKILL');
    await waitExit(this.child);
    throw new Error(
      `teletrace not ready within ${READY_TIMEOUT_MS} ms (last: ${last})\n${this.logTail()}`,
    );
  }

  logTail(lines = 40) {
    try {
      const text = readFileSync(this.logPath, 'utf8').trimEnd().split('\n');
      return `--- ${this.logPath} (last ${lines} lines) ---\n${text.slice(-lines).join('\n')}`;
    } catch {
      return '(no server log)';
    }
  }

  get running() {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  // SIGTERM and wait for the exit; SIGKILL after STOP_TIMEOUT_MS. Returns { code, signal }.
  async terminate() {
    if (!this.child) return { code: null, signal: null };
    const child = this.child;
    if (this.running) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    const result = await waitExit(child);
    clearTimeout(timer);
    return result;
  }

  async kill9() {
    if (!this.child) return { code: null, signal: null };
    if (this.running) this.child.kill('SIGKILL');
    return waitExit(this.child);
  }

  // Stops (gracefully) if running, then starts again on the same data directory.
  async restart() {
    await this.terminate();
    await this.start();
  }

  // Graceful stop, then removes the temporary directory (kept when TELETRACE_IT_KEEP is set or
  // the exit was not clean, so the log can be read).
  async stop() {
    const result = await this.terminate();
    if (!process.env.TELETRACE_IT_KEEP && result.code === 0) {
      rmSync(this.workDir, { recursive: true, force: true });
    }
    return result;
  }
}
