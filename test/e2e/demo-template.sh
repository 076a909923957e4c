#!/usr/bin/env bash
# The demo that the e2e tests of what follows Open Demo start from (harness.mjs, withHost's `demo`
# option): written once by this build's CLI (`tldr-debias demo --no-run`), its embedding cache filled
# (every split: scoring encodes train and captions only, the tests' runs and Discover need val and test
# too). Rewritten when dist/cli.js or this script changes. Its runs try one weight decay instead of
# four, which quarters the retraining step of the run and Slurm tests (these test the UI around a run;
# the grid's choices are tested in test/integration).
#
#   test/e2e/demo-template.sh    # run.sh calls it; `npm test` starts it early, in the background
# Where: $E2E_DEMO_TEMPLATE, else node_modules/.cache/tldr-e2e-demo (outside vsce's walk).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
template="${E2E_DEMO_TEMPLATE:-$root/node_modules/.cache/tldr-e2e-demo}"
mkdir -p "$(dirname "$template")" "$here/artifacts"
# One writer at a time: a second call waits, then finds the template current.
exec 9>"$template.lock"
flock 9
stamp="$(cat dist/cli.js "$here/demo-template.sh" | sha256sum | cut -c1-16)"
[ "$(cat "$template.stamp" 2>/dev/null)" = "$stamp" ] && exit 0
rm -rf "$template" "$template.stamp"
log="$here/artifacts/demo-template.log"
exp="$template/demo.tldr.json"
one_decay="const f = process.argv[1], e = JSON.parse(require('fs').readFileSync(f, 'utf8'));
e.settings = { ...e.settings, retrain: { ...e.settings?.retrain, weightDecay: [0] } };
require('fs').writeFileSync(f, JSON.stringify(e, null, 2) + '\\n');"
if ! { node dist/cli.js demo --no-run --out "$template" && node -e "$one_decay" "$exp" && node dist/cli.js encode "$exp" --shard 0/1; } >"$log" 2>&1; then
  cat "$log"
  echo "e2e: writing the demo template failed (log above, also in $log)" >&2
  exit 1
fi
echo "$stamp" >"$template.stamp"
echo "e2e: demo template written in $template"
