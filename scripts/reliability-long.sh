#!/usr/bin/env bash
# The long reliability run (issue 9): the same suite as `npx vitest run test/reliability`, with
# 100,000 jobs through the two worker processes, 1,000 jobs through the Redis restart and 50 jobs
# in flight when a worker is SIGKILLed. Figures land in var/reliability-figures.json.
# Needs PostgreSQL and Redis as for `npm test`. Takes three to five minutes on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
RELIABILITY_LONG=1 npx vitest run test/reliability --testTimeout 900000 "$@"
echo "figures (var/reliability-figures.json):"
cat var/reliability-figures.json
