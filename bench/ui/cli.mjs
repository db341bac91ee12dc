// What the UI benchmarks share: their command line (--name=value, a bare --flag is "true"), the
// load generator they fill stores with, medians, and how a benchmark's main ends.
import path from 'node:path';
import { REPO_ROOT } from '../../tests/e2e/lib/server.mjs';

export const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? 'true'];
  }),
);

export const LOADGEN = process.env.TELETRACE_LOADGEN || path.join(REPO_ROOT, 'build', 'release', 'bench', 'teletrace-loadgen');

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Runs `main`, exiting with 1 (and the error) when it fails. */
export function run(main) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
