#!/usr/bin/env bash
# `npm test`: lint, unit + integration + fault corpus, Slurm, packaging, then the end-to-end tests.
# The end-to-end host (code-server, Chromium) installs in the background from the start: it is
# mostly download and a native build, which overlap the unit tests instead of adding to CI time.
# The Slurm tests mostly wait for the scheduler (about one core busy), so packaging and the e2e demo
# template run beside them.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p test/e2e/artifacts
logs=test/e2e/artifacts
bg=()
# each in its own process group (setsid), so that a failure below stops the whole of it
start_bg() {
  setsid "$@" &
  bg+=($!)
}
trap 'for p in "${bg[@]}"; do kill -- -"$p" 2>/dev/null || true; done' EXIT
t0=$(date +%s)
phase() { echo "test: $1 at +$(($(date +%s) - t0)) s"; }
# wait_bg PID LOG WHAT: prints LOG; fails with WHAT when PID failed
wait_bg() {
  local status=0
  wait "$1" || status=$?
  cat "$2"
  if [ "$status" != 0 ]; then
    echo "test: $3 failed (log above, also in $2)" >&2
    exit 1
  fi
}

start_bg bash -c 'exec test/e2e/install-host.sh >"$0" 2>&1' "$logs/install-host.log"
host_pid=${bg[-1]}
npm run lint
phase "lint done"
npm run test:unit # compiles and builds dist/, which the next three use
phase "test:unit done"
start_bg bash -c 'exec npm run test:package >"$0" 2>&1' "$logs/test-package.log"
package_pid=${bg[-1]}
start_bg bash -c 'exec test/e2e/demo-template.sh >"$0" 2>&1' "$logs/demo-template-bg.log"
template_pid=${bg[-1]}
npm run test:slurm
phase "test:slurm done"
wait_bg "$package_pid" "$logs/test-package.log" "test:package"
wait_bg "$template_pid" "$logs/demo-template-bg.log" "writing the e2e demo template"
wait_bg "$host_pid" "$logs/install-host.log" "installing the end-to-end host"
phase "packaging, demo template and host ready"
E2E_SKIP_PACKAGE=1 npm run test:e2e
phase "test:e2e done"
