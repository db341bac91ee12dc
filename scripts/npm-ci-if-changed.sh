#!/usr/bin/env bash
# npm ci in each given directory, only when its package-lock.json changed since the last install
# there (a stamp in node_modules records the lock's hash), so repeated runs cost nothing.
set -euo pipefail
for dir in "$@"; do
  [[ -f "$dir/package-lock.json" ]] || continue
  stamp="$dir/node_modules/.teletrace-lock.sha256"
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
done
