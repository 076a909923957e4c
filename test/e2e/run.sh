#!/usr/bin/env bash
# The end-to-end tests: installs the host when needed, builds and packages the VSIX, runs
# test/e2e/*.test.mjs two at a time (each starts its own code-server and Chromium; E2E_CONCURRENCY=1
# for one at a time).
#
#   test/e2e/run.sh                       # everything
#   test/e2e/run.sh test/e2e/install.test.mjs    # some test files
#   E2E_SKIP_PACKAGE=1 test/e2e/run.sh    # reuse the linux-x64 VSIX packaged last (npm test: by test:package)
# Screenshots and failure logs: test/e2e/artifacts/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

start=$(date +%s)
"$here/install-host.sh"

mkdir -p "$here/artifacts"
rm -rf "$here/artifacts/failures"
# Where `npm run package` writes the linux-x64 VSIX: vsix/<name>-linux-x64-<version>.vsix.
export E2E_VSIX="${E2E_VSIX:-$root/vsix/$(node -p "const m = require('./package.json'); m.name + '-linux-x64-' + m.version").vsix}"
if [ -z "${E2E_SKIP_PACKAGE:-}" ] || [ ! -f "$E2E_VSIX" ]; then
  node tools/package-vsix.mjs --target linux-x64 --out "$E2E_VSIX"
fi

# The demo that tests of what follows Open Demo start from (withHost's `demo` option): written once
# by this build's CLI, its embedding cache filled (every split: scoring encodes train and captions
# only, the tests' runs and Discover need val and test too); rewritten when dist/cli.js or this script
# changes. Its runs try one weight decay instead of four, which quarters the retraining step of the
# run and Slurm tests (these test the UI around a run; the grid's choices are tested in
# test/integration).
export E2E_DEMO_TEMPLATE="${E2E_DEMO_TEMPLATE:-$root/node_modules/.cache/tldr-e2e-demo}"
demo_stamp="$(cat dist/cli.js "$here/run.sh" | sha256sum | cut -c1-16)"
if [ "$(cat "$E2E_DEMO_TEMPLATE.stamp" 2>/dev/null)" != "$demo_stamp" ]; then
  rm -rf "$E2E_DEMO_TEMPLATE" "$E2E_DEMO_TEMPLATE.stamp"
  demo_log="$here/artifacts/demo-template.log"
  exp="$E2E_DEMO_TEMPLATE/demo.tldr.json"
  one_decay="const f = process.argv[1], e = JSON.parse(require('fs').readFileSync(f, 'utf8'));
e.settings = { ...e.settings, retrain: { ...e.settings?.retrain, weightDecay: [0] } };
require('fs').writeFileSync(f, JSON.stringify(e, null, 2) + '\\n');"
  if ! { node dist/cli.js demo --no-run --out "$E2E_DEMO_TEMPLATE" && node -e "$one_decay" "$exp" && node dist/cli.js encode "$exp" --shard 0/1; } >"$demo_log" 2>&1; then
    cat "$demo_log"
    echo "e2e: writing the demo template failed (log above, also in $demo_log)" >&2
    exit 1
  fi
  echo "$demo_stamp" >"$E2E_DEMO_TEMPLATE.stamp"
  echo "e2e: demo template written in $E2E_DEMO_TEMPLATE"
fi

if [ $# -gt 0 ]; then tests=("$@"); else tests=("$here"/*.test.mjs); fi
status=0
node --test --test-concurrency="${E2E_CONCURRENCY:-2}" "${tests[@]}" || status=$?
echo "e2e: finished in $(( $(date +%s) - start )) s (exit $status); artifacts in ${here#"$root"/}/artifacts/"
exit $status
