#!/usr/bin/env bash
# `npm test`: lint, unit + integration + fault corpus, Slurm, packaging, then the end-to-end tests.
# The end-to-end host (code-server, Chromium) installs in the background from the start, and the
# lint runs beside the unit tests: both only read the sources, and overlap instead of adding up.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p test/e2e/artifacts
host_log=test/e2e/artifacts/install-host.log
# its own process group (setsid), so that a failure below stops the whole install with it
setsid test/e2e/install-host.sh >"$host_log" 2>&1 &
host_pid=$!
trap 'kill -- -"$host_pid" 2>/dev/null || true; kill "${lint_pid:-}" 2>/dev/null || true' EXIT
lint_log=test/e2e/artifacts/lint.log
npm run lint >"$lint_log" 2>&1 &
lint_pid=$!
npm run test:unit
if ! wait "$lint_pid"; then
  cat "$lint_log"
  echo "test: lint failed (ESLint or Prettier, log above)" >&2
  exit 1
fi
cat "$lint_log"
npm run test:slurm
# before packaging: vsce walks the repository, and the host is written under test/e2e/.host
if ! wait "$host_pid"; then
  cat "$host_log"
  echo "test: installing the end-to-end host failed (log above, also in $host_log)" >&2
  exit 1
fi
cat "$host_log"
npm run test:package
E2E_SKIP_PACKAGE=1 npm run test:e2e
