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
# That VSIX installed once, with code-server's CLI, into a folder each host copies (install.test.mjs
# still installs it itself): an install costs 2-4 s of CPU per host.
export E2E_EXTENSIONS_TEMPLATE="$root/node_modules/.cache/tldr-e2e-extensions"
node -e 'import("./test/e2e/harness.mjs").then((h) => h.writeExtensionsTemplate(process.env.E2E_EXTENSIONS_TEMPLATE))'

# The demo that tests of what follows Open Demo start from (demo-template.sh says how and why).
export E2E_DEMO_TEMPLATE="${E2E_DEMO_TEMPLATE:-$root/node_modules/.cache/tldr-e2e-demo}"
"$here/demo-template.sh"

if [ $# -gt 0 ]; then tests=("$@"); else tests=("$here"/*.test.mjs); fi
status=0
node --test --test-concurrency="${E2E_CONCURRENCY:-2}" "${tests[@]}" || status=$?
echo "e2e: finished in $(( $(date +%s) - start )) s (exit $status); artifacts in ${here#"$root"/}/artifacts/"
exit $status
