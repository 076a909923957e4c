#!/usr/bin/env bash
# Installs the VS Code host of the end-to-end tests (code-server, see host/package.json) offline:
# only the npm registry and Debian's apt are used. Idempotent: returns at once when the installed
# host matches host/package-lock.json and the Node version.
# Where: $E2E_HOST_DIR, else ${XDG_CACHE_HOME:-~/.cache}/tldr-e2e-host (harness.mjs reads the same).
# Recipe: docs/e2e-vscode-host.md of the shared docs (apt packages, ripgrep cache seeding, npm env).
#
#   test/e2e/install-host.sh          # install when needed
#   E2E_HOST_FORCE=1 test/e2e/install-host.sh   # reinstall
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Outside the repository, like npm's own cache: vsce walks every file of the repository but the root
# node_modules (code-server's 6,300 files made each VSIX cost about 8 s more), and the root `npm ci`
# empties node_modules, so .ci/run can start this install before it. A later run with the same lock
# and Node finds it installed.
dest="${E2E_HOST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tldr-e2e-host}"
mkdir -p "$(dirname "$dest")"
# One install at a time: .ci/run and `npm test` start one in the background and run.sh calls this
# again; a later one waits here, then finds the host installed.
exec 9>"$dest.lock"
flock 9
stamp_file="$dest/node_modules/.tldr-e2e-host-stamp"
stamp="$(cat "$here/host/package.json" "$here/host/package-lock.json" | sha256sum | cut -c1-16) node-$(node -v)"

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/rg ] || need_apt+=(ripgrep)
[ -e /usr/include/krb5.h ] || [ -e /usr/include/gssapi/gssapi.h ] || need_apt+=(libkrb5-dev)
command -v make >/dev/null && command -v g++ >/dev/null || need_apt+=(build-essential)
command -v python3 >/dev/null || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-host: apt-get install ${need_apt[*]}"
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  # A busy CI machine may have another apt (unattended upgrades, a parallel job) holding the lock: wait for it.
  apt_wait=(-o DPkg::Lock::Timeout=900)
  "${sudo_cmd[@]}" apt-get "${apt_wait[@]}" update -qq
  # Without recommends (printers, notifications, avahi, perl modules...): 26 packages instead of 114,
  # 14.5 s against 21.4 s here. Headless Chromium needs none of them.
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get "${apt_wait[@]}" install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if [ -z "${E2E_HOST_FORCE:-}" ] && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ] \
  && [ -x "$dest/node_modules/.bin/code-server" ]; then
  echo "install-host: code-server already installed in $dest"
  exit 0
fi

# @vscode/ripgrep's postinstall downloads rg from GitHub: seed its cache with Debian's rg.
rg_cache="$(node -p "require('os').tmpdir()")/vscode-ripgrep-cache-1.15.11"
rg_tar="$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -s "$rg_tar" ]; then
  mkdir -p "$rg_cache"
  tar -czf "$rg_tar.tmp" -C /usr/bin rg
  mv "$rg_tar.tmp" "$rg_tar"
fi

start=$(date +%s)
rm -rf "$dest"
mkdir -p "$dest"
cp "$here/host/package.json" "$here/host/package-lock.json" "$dest/"
(
  cd "$dest"
  export npm_config_unsafe_perm=true      # code-server's postinstall refuses root otherwise
  export npm_config_nodedir=/usr          # Debian's nodejs ships the headers: node-gyp downloads nothing
  export npm_config_yes=true              # node-pty's install runs `npx node-gyp`
  # Build kerberos from source (its prebuild-install would look on GitHub). Not "true": @parcel/watcher
  # would then compile itself (44 s of CPU) instead of using its npm prebuild (@parcel/watcher-linux-x64-glibc).
  export npm_config_build_from_source=kerberos
  # argon2's node-pre-gyp looks for a prebuild first: a closed local port fails it at once, then it builds.
  export npm_config_argon2_binary_host_mirror=http://127.0.0.1:9/
  export JOBS=max
  npm ci --no-audit --no-fund --loglevel=error
)
echo "$stamp" > "$stamp_file"
echo "install-host: code-server installed in $(( $(date +%s) - start )) s"
