#!/usr/bin/env bash
# `npm test`: lint, unit + integration + fault corpus, Slurm, packaging, then the end-to-end tests.
# The end-to-end host (code-server, Chromium) installs in the background from the start: it is
# mostly download and a native build, which overlap the unit tests instead of adding to CI time.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p test/e2e/artifacts
host_log=test/e2e/artifacts/install-host.log
# its own process group (setsid), so that a failure below stops the whole install with it
setsid test/e2e/install-host.sh >"$host_log" 2>&1 &
host_pid=$!
trap 'kill -- -"$host_pid" 2>/dev/null || true' EXIT
npm run lint
npm run test:unit
npm run test:slurm
npm run test:package
if ! wait "$host_pid"; then
  cat "$host_log"
  echo "test: installing the end-to-end host failed (log above, also in $host_log)" >&2
  exit 1
fi
cat "$host_log"
E2E_SKIP_PACKAGE=1 npm run test:e2e
