#!/usr/bin/env bash
# Fails when C++ sources call a throwing or unchecked number parser. Untrusted bytes must never
# reach a parser that throws (std::sto* throw out_of_range/invalid_argument: one such call on a
# query parameter used to terminate the whole server) or one that cannot report an error (ato*).
# Use absl::SimpleAtoi / SimpleAtod and check the result instead. Run by ctest (banned_calls).
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='std::sto(i|l|ll|ul|ull|f|d|ld)\s*\(|(^|[^A-Za-z0-9_])(std::)?(atoi|atol|atoll|atof)\s*\('
if hits=$(grep -rnE "$pattern" src bench --include='*.cc' --include='*.h'); then
  echo "banned number parsers (use absl::SimpleAtoi and check the result):"
  echo "$hits"
  exit 1
fi
echo "banned_calls: no std::sto*/ato* calls in src/ or bench/"
