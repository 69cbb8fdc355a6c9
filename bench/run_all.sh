#!/usr/bin/env bash
# Run every benchmark in sequence (one run, one machine) and rewrite docs/benchmarks.md sections.
# Takes roughly 15-25 minutes on a 2-core machine and needs ~3 GB of free disk for the corpora.
set -euo pipefail
cd "$(dirname "$0")/.."
for b in startup foundation run grade dream playbooks import multiagent redaction; do
  echo "=== bench_${b} ($(date -u +%H:%M:%S))"
  python "bench/bench_${b}.py"
done
echo "=== done ($(date -u +%H:%M:%S))"
