// podman as this machine runs it: runc (crun fails on its cgroups) and explicit ulimits (podman's
// default setrlimit is refused), through a containers.conf of our own with the caller's limits.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const confDir = mkdtempSync(path.join(os.tmpdir(), 'teletrace-podman-'));
const hardNofile = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
writeFileSync(path.join(confDir, 'containers.conf'),
  `[containers]\ndefault_ulimits = ["nofile=${hardNofile}:${hardNofile}", "nproc=4096:4096"]\n` +
  '[engine]\nruntime = "runc"\n');
const ENV = { ...process.env, CONTAINERS_CONF: path.join(confDir, 'containers.conf') };

// Runs podman; throws with its stderr unless it exits 0. Returns stdout, trimmed.
export function podman(...args) {
  const r = spawnSync('podman', args, { env: ENV, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`podman ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout.trim();
}

// Runs podman and returns { status, stdout, stderr } whatever the exit code.
export function podmanStatus(...args) {
  return spawnSync('podman', args, { env: ENV, encoding: 'utf8' });
}

export function inspectJson(kind, name, format) {
  return JSON.parse(podman(kind, 'inspect', '-f', format, name));
}

// The user ids (real, effective, saved, fs) a container's main process runs with, from /proc.
export function processUids(container) {
  const pid = inspectJson('container', container, '{{json .State.Pid}}');
  return readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(.*)$/m)[1].split(/\s+/);
}

// Polls url until it answers 200, for up to timeoutMs; throws with describe() otherwise.
export async function waitFor200(url, timeoutMs, describe) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${url} not 200 within ${timeoutMs} ms\n${describe()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function removePodmanConf() {
  rmSync(confDir, { recursive: true, force: true });
}
