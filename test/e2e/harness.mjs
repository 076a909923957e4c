// End-to-end harness: a fresh code-server (VS Code 1.100.3) per test with the packaged VSIX installed
// offline, driven by Playwright in Debian's Chromium. Recipe: the shared docs' e2e-vscode-host.md.
//
//   import { withHost, runCommand, screenshot } from './harness.mjs';
//   test('…', { timeout: 120_000 }, (t) => withHost(t, {}, async ({ page }) => { … }));
//
// Environment: E2E_VSIX (the VSIX to install; run.sh sets it), E2E_KEEP=1 (keep the run folder),
// E2E_HEADED=1 (show the browser, needs a display), E2E_SLOWMO=<ms>.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import { vsixPath as vsixFor } from '../../tools/vsix-targets.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const artifactsDir = join(here, 'artifacts');
/** code-server where install-host.sh puts it: $E2E_HOST_DIR, else ${XDG_CACHE_HOME:-~/.cache}/tldr-e2e-host */
export const codeServerBin = join(
  process.env.E2E_HOST_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tldr-e2e-host'),
  'node_modules',
  '.bin',
  'code-server',
);
const require = createRequire(join(repoRoot, 'package.json'));
/** @type {import('playwright-core')} */
const { chromium } = require('playwright-core');

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
];

/** User settings that keep the workbench quiet and offline. */
export const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'update.showReleaseNotes': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'git.autoRepositoryDetection': false,
  'git.openRepositoryInParentFolders': 'never',
  'json.schemaDownload.enable': false,
  'npm.fetchOnlinePackageInfo': false,
  'typescript.disableAutomaticTypeAcquisition': true,
  'chat.commandCenter.enabled': false,
  'chat.disableAIFeatures': true,
  'chat.agent.enabled': false,
  'github.copilot.enable': { '*': false },
};

/** Every process group started here, killed on exit if a test forgot to (or crashed). */
const liveGroups = new Set();
process.on('exit', () => {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => res(port));
    });
  });
}

/** The VSIX the tests install: $E2E_VSIX, else the one run.sh packages. */
export function vsixPath() {
  // the VSIX test/e2e/run.sh and test:package build for this machine (tools/vsix-targets.mjs names it)
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const p = resolve(process.env.E2E_VSIX ?? vsixFor(repoRoot, pkg, 'linux-x64'));
  if (!existsSync(p)) throw new Error(`no VSIX at ${p}: run test/e2e/run.sh (or set E2E_VSIX)`);
  return p;
}

function safeName(s) {
  return (
    s
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 80) || 'test'
  );
}

/**
 * @typedef {object} HostOptions
 * @property {string} [vsix] a VSIX to install with code-server's CLI (default: vsixPath(), copied from
 *   $E2E_EXTENSIONS_TEMPLATE when run.sh wrote it)
 * @property {boolean} [installVsix] install the VSIX with code-server's CLI even when the template exists
 * @property {boolean} [workspaceTrust] true: leave Workspace Trust on (the workspace opens untrusted, without the startup prompt); default off (--disable-workspace-trust)
 * @property {Record<string, unknown>} [settings] extra user settings
 * @property {Record<string, string|Buffer>} [files] files to write into the workspace before start (relative paths)
 * @property {number} [timeoutMs] start-up timeout (default 60 s)
 * @property {boolean} [demo] copy the demo that run.sh wrote beforehand ($E2E_DEMO_TEMPLATE: world,
 *   models, experiment and embedding cache) into tldr-demo/, so that "TLDR: Open Demo" reopens it
 *   and only scores the words: for tests of what comes after Open Demo (open-demo.test.mjs covers
 *   writing it)
 *
 * @typedef {object} Host
 * @property {import('playwright-core').Page} page
 * @property {import('playwright-core').BrowserContext} context
 * @property {string} url the workbench URL
 * @property {string} runDir the run folder (removed at teardown unless E2E_KEEP=1)
 * @property {string} workspace the opened folder
 * @property {string} userDataDir
 * @property {string} extensionsDir
 * @property {string} name artifact prefix of this test
 * @property {string[]} offlineViolations requests the page made to anything but 127.0.0.1/localhost
 * @property {string[]} consoleErrors console errors of the page (for the failure report)
 * @property {() => string} serverLog the code-server log so far
 * @property {Record<string, number>} timings start-up phases in ms since the start (extension in place, server ready, workbench shown)
 */

/**
 * Copies the demo that run.sh wrote (`tldr-debias demo --no-run`, then `encode` to fill the
 * embedding cache) into `dest`: of its .tldr/ folder only the cache (the shard records name
 * the template's folder).
 */
function copyDemoTemplate(dest) {
  const template = process.env.E2E_DEMO_TEMPLATE;
  if (!template || !existsSync(join(template, 'demo.tldr.json')))
    throw new Error(`no demo template at E2E_DEMO_TEMPLATE=${template ?? ''}: run the tests with test/e2e/run.sh, which writes it`);
  const state = join(template, '.tldr');
  const cache = join(state, 'cache');
  const keep = (src) => !src.startsWith(state + sep) || src === cache || src.startsWith(cache + sep);
  cpSync(template, dest, { recursive: true, filter: keep });
}

/**
 * A temp folder for one code-server: its config, user data, extensions, workspace, and XDG and HOME
 * folders of its own (nothing of this machine's user is read or written).
 */
function runFolder() {
  const runDir = mkdtempSync(join(tmpdir(), 'tldr-e2e-'));
  const run = {
    runDir,
    config: join(runDir, 'config.yaml'),
    userDataDir: join(runDir, 'user-data'),
    extensionsDir: join(runDir, 'extensions'),
    workspace: join(runDir, 'workspace'),
    env: {
      ...process.env,
      EXTENSIONS_GALLERY: '{}',
      XDG_CONFIG_HOME: join(runDir, 'xdg-config'),
      XDG_DATA_HOME: join(runDir, 'xdg-data'),
      XDG_CACHE_HOME: join(runDir, 'xdg-cache'),
      XDG_STATE_HOME: join(runDir, 'xdg-state'),
      HOME: join(runDir, 'home'),
    },
  };
  delete run.env.VSCODE_IPC_HOOK_CLI; // never talk to an outer VS Code
  for (const d of [
    run.userDataDir,
    join(run.userDataDir, 'User'),
    run.extensionsDir,
    run.workspace,
    run.env.XDG_CONFIG_HOME,
    run.env.XDG_DATA_HOME,
    run.env.XDG_CACHE_HOME,
    run.env.XDG_STATE_HOME,
    run.env.HOME,
  ])
    mkdirSync(d, { recursive: true });
  writeFileSync(run.config, 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
  return run;
}

/** code-server's arguments that point it at the run folder's config, user data and extensions. */
const folderArgs = (run) => ['--config', run.config, '--user-data-dir', run.userDataDir, '--extensions-dir', run.extensionsDir];

/** Installs a VSIX with code-server's CLI (`--install-extension`, offline) into the run folder's extensions. */
function installVsix(run, vsix) {
  const r = spawnSync(codeServerBin, [...folderArgs(run), '--install-extension', vsix, '--force'], {
    env: run.env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const out = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0 || !/successfully installed/i.test(out))
    throw new Error(`installing the VSIX ${vsix} failed (${r.status ?? r.signal}):\n${out}`);
}

/**
 * Installs the VSIX (E2E_VSIX, else vsixPath()) once into `dir`, which each host then copies
 * ($E2E_EXTENSIONS_TEMPLATE): the install cost 2-4 s of CPU per host. run.sh calls this after packaging.
 * @param {string} dir
 */
export function writeExtensionsTemplate(dir) {
  const run = runFolder();
  try {
    installVsix(run, vsixPath());
    rmSync(dir, { recursive: true, force: true });
    cpSync(run.extensionsDir, dir, { recursive: true });
  } finally {
    rmSync(run.runDir, { recursive: true, force: true });
  }
}

/**
 * Copies the extensions that writeExtensionsTemplate installed into `dest`, pointing extensions.json's
 * absolute locations at the copy.
 */
function copyExtensionsTemplate(template, dest) {
  cpSync(template, dest, { recursive: true });
  const file = join(dest, 'extensions.json');
  const entries = JSON.parse(readFileSync(file, 'utf8'));
  for (const e of entries) {
    const p = join(dest, e.relativeLocation);
    e.location = { $mid: 1, fsPath: p, external: pathToFileURL(p).href, path: p, scheme: 'file' };
  }
  writeFileSync(file, JSON.stringify(entries));
}

/**
 * Starts a fresh host with the VSIX installed and a Chromium page on the workbench.
 * Prefer withHost(), which also tears down and keeps the logs of a failure.
 * @param {string} name artifact prefix
 * @param {HostOptions} [opts]
 * @returns {Promise<Host & { close: () => Promise<void> }>}
 */
export async function startHost(name, opts = {}) {
  if (!existsSync(codeServerBin)) throw new Error(`code-server is not installed at ${codeServerBin}: run test/e2e/install-host.sh`);
  const run = runFolder();
  const { runDir } = run;
  const settings = {
    ...QUIET_SETTINGS,
    ...(opts.workspaceTrust ? { 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.banner': 'always' } : {}),
    ...opts.settings,
  };
  writeFileSync(join(run.userDataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  for (const [rel, content] of Object.entries(opts.files ?? {})) {
    mkdirSync(dirname(join(run.workspace, rel)), { recursive: true });
    writeFileSync(join(run.workspace, rel), content);
  }
  if (opts.demo) copyDemoTemplate(join(run.workspace, 'tldr-demo'));

  /** @type {{ pgid?: number, context?: import('playwright-core').BrowserContext, log: string[] }} */
  const live = { log: [] };
  const close = async () => {
    if (live.context) await live.context.close().catch(() => {});
    live.context = undefined;
    if (live.pgid) await killGroup(live.pgid, runDir);
    live.pgid = undefined;
    if (process.env.E2E_KEEP) console.log(`e2e: run folder kept: ${runDir}`);
    else rmSync(runDir, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const t0 = Date.now();
    const timings = {};
    const template = process.env.E2E_EXTENSIONS_TEMPLATE;
    if (opts.installVsix || opts.vsix || !template) installVsix(run, opts.vsix ?? vsixPath());
    else copyExtensionsTemplate(template, run.extensionsDir);
    timings.extensionMs = Date.now() - t0;

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      writeFileSync(run.config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
      const args = [
        ...folderArgs(run),
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-getting-started-override',
        '--ignore-last-opened',
        ...(opts.workspaceTrust ? [] : ['--disable-workspace-trust']),
        run.workspace,
      ];
      // detached: the child calls setsid(), so code-server, its extension host and every other child
      // share one process group that teardown kills as a whole.
      const child = spawn(codeServerBin, args, { cwd: runDir, env: run.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      live.pgid = child.pid;
      liveGroups.add(child.pid);
      child.stdout.on('data', (b) => live.log.push(b.toString()));
      child.stderr.on('data', (b) => live.log.push(b.toString()));
      const exited = new Promise((res) => child.once('exit', (code, sig) => res(`exited (${code ?? sig})`)));
      const listening = waitFor(() => live.log.join('').includes(`HTTP server listening on http://127.0.0.1:${port}/`), timeoutMs).then(
        () => 'ok',
      );
      const outcome = await Promise.race([listening, exited]);
      if (outcome === 'ok') break;
      await killGroup(child.pid, runDir);
      if (attempt < 3 && /EADDRINUSE/.test(live.log.join(''))) continue; // the port was taken in between
      throw new Error(`code-server ${outcome}:\n${live.log.join('')}`);
    }
    const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(run.workspace)}`;
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok, 15_000);
    timings.serverReadyMs = Date.now() - t0;

    const context = await chromium.launchPersistentContext(join(runDir, 'chromium'), {
      executablePath: CHROMIUM,
      headless: !process.env.E2E_HEADED,
      slowMo: Number(process.env.E2E_SLOWMO) || 0,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
      serviceWorkers: 'allow',
    });
    live.context = context;
    context.setDefaultTimeout(Number(process.env.E2E_TIMEOUT_MS) || 60_000); // generous: CI machines are shared
    const offlineViolations = [];
    const consoleErrors = [];
    context.on('request', (req) => {
      const u = new URL(req.url());
      if (['data:', 'blob:', 'about:', 'chrome-extension:', 'vscode-webview:'].includes(u.protocol)) return;
      if (u.hostname === '127.0.0.1' || u.hostname === 'localhost') return;
      // Webview resources use https://*.vscode-cdn.net URLs that the webview's service worker answers
      // from the local server; they are allowed only when the service worker served them.
      if (/(^|\.)vscode-cdn\.net$/.test(u.hostname)) {
        req
          .response()
          .then((r) => {
            if (!r?.fromServiceWorker()) offlineViolations.push(`${req.method()} ${req.url()} (not from the service worker)`);
          })
          .catch(() => {});
        return;
      }
      offlineViolations.push(`${req.method()} ${req.url()}`);
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    await page.goto(url);
    await page.locator('.monaco-workbench').waitFor({ timeout: timeoutMs });
    await page.locator('.activitybar').waitFor({ timeout: timeoutMs });
    timings.workbenchMs = Date.now() - t0;

    return {
      page,
      context,
      url,
      runDir,
      name,
      workspace: run.workspace,
      userDataDir: run.userDataDir,
      extensionsDir: run.extensionsDir,
      offlineViolations,
      consoleErrors,
      timings,
      serverLog: () => live.log.join(''),
      close,
    };
  } catch (e) {
    const err = /** @type {Error} */ (e);
    saveFailureArtifacts({ name, userDataDir: run.userDataDir, serverLog: () => live.log.join('') }, err);
    await close();
    throw err;
  }
}

/**
 * Runs `body` against a fresh host; on failure keeps a screenshot, the code-server log and the
 * VS Code logs (extension host included) in artifacts/failures/<name>/; always tears down.
 * Fails the test when the page requested anything but 127.0.0.1/localhost.
 * @template T
 * @param {{ name: string } | string} t node:test context (its name names the artifacts) or a name
 * @param {HostOptions} opts
 * @param {(host: Host) => Promise<T>} body
 * @returns {Promise<T>}
 */
export async function withHost(t, opts, body) {
  const name = safeName(typeof t === 'string' ? t : t.name);
  const host = await startHost(name, opts);
  if (typeof t !== 'string' && 'diagnostic' in t) /** @type {any} */ (t).diagnostic(`host start-up: ${JSON.stringify(host.timings)}`);
  try {
    const result = await body(host);
    if (host.offlineViolations.length) throw new Error(`the page went off the machine:\n${host.offlineViolations.join('\n')}`);
    return result;
  } catch (e) {
    await host.page.screenshot({ path: join(artifactsDir, 'failures', name, 'failure.png') }).catch(() => {});
    saveFailureArtifacts(host, /** @type {Error} */ (e));
    throw e;
  } finally {
    await host.close();
  }
}

/** @param {{ name: string, userDataDir: string, serverLog: () => string, consoleErrors?: string[], offlineViolations?: string[] }} host @param {Error} err */
function saveFailureArtifacts(host, err) {
  const dir = join(artifactsDir, 'failures', host.name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'error.txt'), `${err.stack ?? err}\n`);
  writeFileSync(join(dir, 'code-server.log'), host.serverLog());
  if (host.consoleErrors?.length) writeFileSync(join(dir, 'browser-console-errors.log'), host.consoleErrors.join('\n') + '\n');
  if (host.offlineViolations?.length) writeFileSync(join(dir, 'offline-violations.log'), host.offlineViolations.join('\n') + '\n');
  const logs = join(host.userDataDir, 'logs');
  if (existsSync(logs)) cpSync(logs, join(dir, 'vscode-logs'), { recursive: true }); // exthost*/, remoteagent.log, output channels
  console.error(`e2e: failure artifacts in ${dir}`);
}

/** Kills a process group (TERM, then KILL) and any straggler that still uses the run folder. */
async function killGroup(pgid, runDir) {
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  for (let i = 0; i < 30 && alive(); i++) await sleep(100);
  if (alive()) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  liveGroups.delete(pgid);
  // A child that made its own session escapes the group: find ours by the run folder in the command line.
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(runDir)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone or not ours */
    }
  }
}

/**
 * Every file under the host's VS Code log folder (remoteagent.log, exthost1/remoteexthost.log, the
 * extensions' log output channels such as exthost1/tldr-debias.tldr-debias/TLDR.log, …).
 * @param {{ userDataDir: string }} host
 * @returns {{ path: string, text: string }[]}
 */
export function vscodeLogs(host) {
  const root = join(host.userDataDir, 'logs');
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .map((path) => ({ path: path.slice(root.length + 1), text: readFileSync(path, 'utf8') }));
}

/** The log file of the "TLDR" LogOutputChannel so far ('' before the extension activated). */
export function tldrLog(host) {
  return vscodeLogs(host)
    .filter((f) => /tldr-debias\.tldr-debias[\\/]TLDR\.log$/.test(f.path))
    .map((f) => f.text)
    .join('');
}

/**
 * pids of the extension's worker processes (dist/worker.js) in this host.
 * @param {{ extensionsDir: string }} host
 */
export function workerPids(host) {
  const pids = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(host.extensionsDir) && /dist[\\/]worker\.js/.test(cmd)) pids.push(Number(pid));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** Polls `pred` until it is truthy. */
export async function waitFor(pred, timeoutMs, intervalMs = 100) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/**
 * Waits until the editor's save has written `file`: its text differs from `before` and parses as JSON
 * (VS Code writes in place, so a read in the middle of the save can see it empty or cut short).
 * @param {string} file
 * @param {string} before the text before the save
 * @param {string} what what failed, for the error
 * @returns {Promise<string>} the saved text
 */
export async function savedJson(file, before, what) {
  let text = before;
  const written = () => {
    text = readFileSync(file, 'utf8');
    if (text === before) return false;
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  };
  await waitFor(written, 15_000).catch(() => {
    throw new Error(`${what}: ${file} was not written (or is not valid JSON)`);
  });
  return text;
}

// ---- UI helpers -------------------------------------------------------------------------------

/**
 * Runs a command from the palette by its full title, e.g. runCommand(page, 'TLDR: Open Demo').
 * The palette lists what was registered when it opened, so while the extension host is still
 * starting it closes and reopens it until the command shows up (or timeoutMs passes).
 * @param {import('playwright-core').Page} page
 * @param {string} title
 * @param {{ timeoutMs?: number }} [opts]
 * @returns {Promise<number>} Date.now() when Enter was pressed (to time what the command does)
 */
export async function runCommand(page, title, opts = {}) {
  const input = page.locator('.quick-input-widget input');
  const rows = page.locator('.quick-input-list .monaco-list-row');
  const label = (row) =>
    row
      .locator('.label-name')
      .first()
      .innerText()
      .then(
        (s) => s.replace(/\u00a0/g, ' ').trim(),
        () => '',
      );
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let row;
  const shown = () =>
    input.waitFor({ state: 'visible', timeout: 3_000 }).then(
      () => true,
      () => false,
    );
  for (;;) {
    // F1, else the title bar's command center: a webview that has just taken the focus may swallow
    // F1, and a click that lands while the workbench moves focus may open nothing. Both are tried
    // again until the palette shows.
    for (let attempt = 0; !(await input.isVisible()); attempt++) {
      if (attempt % 2 === 0) await page.keyboard.press('F1');
      else await page.locator('.titlebar .command-center-center').click();
      if (await shown()) break;
      if (Date.now() > deadline) throw new Error(`the command palette did not open (F1 and the command center, ${attempt + 1} tries)`);
    }
    // The palette can close again right after it showed (a webview taking the focus it was given a
    // moment before): then open it again instead of waiting for it.
    const filled = await input.fill(`>${title}`, { timeout: 3_000 }).then(
      () => true,
      () => false,
    );
    if (!filled) {
      if (Date.now() > deadline) throw new Error(`the command palette closed before "${title}" could be typed into it`);
      continue;
    }
    // The row with exactly this title (a recently used or similar command may be listed first).
    const found = await rows
      .filter({ hasText: title })
      .first()
      .waitFor({ state: 'visible', timeout: 5_000 })
      .then(
        () => true,
        () => false,
      );
    if (found) {
      for (const r of await rows.filter({ hasText: title }).all())
        if ((await label(r)) === title) {
          row = r;
          break;
        }
      if (row) break;
    }
    if (Date.now() > deadline)
      throw new Error(`the command palette does not offer "${title}" (first row: "${found ? await label(rows.first()) : ''}")`);
    await page.keyboard.press('Escape');
    await input.waitFor({ state: 'hidden' });
    await sleep(500);
  }
  // Focus that row with the arrow keys, then Enter.
  const isFocused = async () => /\bfocused\b/.test((await row.getAttribute('class')) ?? '');
  for (let i = 0; i < 20 && !(await isFocused()); i++) await input.press('ArrowDown');
  if (!(await isFocused())) throw new Error(`cannot select "${title}" in the command palette`);
  const entered = Date.now();
  await input.press('Enter');
  // The palette is gone when the quick input hides, or when the command's own quick input (an input
  // box, a picker) takes its place at once: that one does not start with the palette's '>'.
  await page.waitForFunction(
    () => {
      const el = /** @type {HTMLInputElement | null} */ (document.querySelector('.quick-input-widget input'));
      return !el || !el.checkVisibility() || !el.value.startsWith('>');
    },
    undefined,
    { polling: 100 },
  );
  return entered;
}

/**
 * The content frame of a webview (custom editor, panel or view).
 * @param {import('playwright-core').Page} page
 * @param {{ nth?: number }} [opts] which webview when several are open (default: the only one)
 */
export function webviewFrame(page, opts = {}) {
  const outer =
    opts.nth === undefined ? page.frameLocator('iframe.webview.ready') : page.locator('iframe.webview.ready').nth(opts.nth).contentFrame();
  return outer.frameLocator('iframe#active-frame');
}

/**
 * The visible text of the output panel (Monaco renders only the lines in view).
 * @param {import('playwright-core').Page} page
 */
export async function outputText(page) {
  const lines = page.locator('.part.panel .view-lines');
  await lines.first().waitFor({ state: 'visible' });
  return (await lines.first().innerText()).replace(/\u00a0/g, ' ');
}

/**
 * The activity-bar entry of a view container (its aria-label is the title, maybe with a keybinding).
 * @param {import('playwright-core').Page} page
 * @param {string} title
 */
export function activityItem(page, title) {
  return page.locator(`.activitybar a.action-label:is([aria-label="${title}"], [aria-label^="${title} ("])`);
}

/**
 * Opens a view container in the side bar (leaves it open when it already is).
 * @param {import('playwright-core').Page} page
 * @param {string} title
 */
export async function openActivity(page, title) {
  const item = activityItem(page, title);
  await item.waitFor({ state: 'visible' });
  const checked = await item.locator('xpath=..').getAttribute('class');
  if (!/\bchecked\b/.test(checked ?? '')) await item.click();
  await page
    .locator('.part.sidebar .composite.title')
    .filter({ hasText: title.toUpperCase() })
    .or(page.locator('.part.sidebar .composite.title').filter({ hasText: title }))
    .first()
    .waitFor({ state: 'visible' });
}

/**
 * Rows of the tree views in the side bar, optionally only those containing `text`.
 * @param {import('playwright-core').Page} page
 * @param {string} [text]
 */
export function treeRows(page, text) {
  const rows = page.locator('.part.sidebar .monaco-list-row');
  return text === undefined ? rows : rows.filter({ hasText: text });
}

/**
 * Waits until no progress bar runs in the side bar (e.g. a tree view loading its children).
 * @param {import('playwright-core').Page} page
 */
export async function sidebarIdle(page) {
  await page.locator('.part.sidebar .monaco-progress-container.active').first().waitFor({ state: 'detached' });
}

/**
 * Saves a screenshot to test/e2e/artifacts/<name>.png and returns its path.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
export async function screenshot(page, name) {
  mkdirSync(artifactsDir, { recursive: true });
  const path = join(artifactsDir, `${safeName(name)}.png`);
  await page.screenshot({ path });
  return path;
}

/**
 * A notification toast (bottom right) containing `text`.
 * @param {import('playwright-core').Page} page
 * @param {string|RegExp} text
 */
export function notification(page, text) {
  return page.locator('.notifications-toasts .notification-toast').filter({ hasText: text });
}

/**
 * The editor tab whose label contains `label` (class `dirty` while it has unsaved changes).
 * @param {import('playwright-core').Page} page
 * @param {string} label
 */
export function editorTab(page, label) {
  return page.locator('.part.editor .tabs-container .tab').filter({ hasText: label });
}

/**
 * The tree row whose label is exactly `label` (its description: `.label-description`).
 * @param {import('playwright-core').Page} page
 * @param {string} label
 */
export function treeItem(page, label) {
  return page
    .locator('.part.sidebar .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) });
}

/**
 * The description of a tree row ('' when it has none).
 * @param {import('playwright-core').Locator} row
 */
export async function treeDescription(row) {
  const d = row.locator('.label-description');
  return (await d.count()) ? (await d.first().innerText()).replace(/\u00a0/g, ' ').trim() : '';
}

/**
 * Opens the demo with "TLDR: Open Demo" and waits until its editor shows every word scored.
 * @param {import('playwright-core').Page} page
 * @param {{ timeoutMs?: number }} [opts]
 * @returns {Promise<import('playwright-core').FrameLocator>} the editor's webview frame
 */
export async function openDemo(page, opts = {}) {
  await runCommand(page, 'TLDR: Open Demo');
  await editorTab(page, 'demo.tldr.json').waitFor({ state: 'visible', timeout: opts.timeoutMs ?? 180_000 });
  const frame = webviewFrame(page);
  await frame
    .locator('[data-testid=word-row]')
    .first()
    .waitFor({ state: 'visible', timeout: opts.timeoutMs ?? 180_000 });
  await frame
    .locator('[data-testid=words-summary]')
    .filter({ hasText: / 0 unscored$/ })
    .waitFor({ timeout: opts.timeoutMs ?? 180_000 });
  return frame;
}

/**
 * Opens a workspace file with Quick Open (Ctrl+P) in its default editor (the TLDR editor for
 * *.tldr.json) and waits for its tab.
 * @param {import('playwright-core').Page} page
 * @param {string} name the file name
 */
export async function quickOpen(page, name) {
  await page.keyboard.press('Control+p');
  await page.locator('.quick-input-widget input').fill(name);
  await page.locator('.quick-input-list .monaco-list-row.focused').filter({ hasText: name }).waitFor();
  await page.keyboard.press('Enter');
  await editorTab(page, name).waitFor();
}

/**
 * The JSON text of a small experiment (models and data need not exist: enough for the editor,
 * Restricted Mode and Generate Words).
 * @param {{ name?: string, targets?: Record<string, string[]>, spurious?: Record<string, string[]> }} [opts]
 */
export function experimentJson(opts = {}) {
  const targets = opts.targets ?? { landbird: ['sparrow', 'finch'], waterbird: ['duck', 'gull'] };
  const spurious = opts.spurious ?? { land: ['forest'], water: ['ocean'] };
  const entries = (lists) => Object.fromEntries(Object.entries(lists).map(([k, ws]) => [k, ws.map((text) => ({ text, source: 'user' }))]));
  const classes = Object.keys(targets);
  const values = Object.keys(spurious);
  return (
    JSON.stringify(
      {
        version: 1,
        name: opts.name ?? 'E2E birds',
        task: {
          classes,
          spurious: { name: 'background', values },
          targetAnchors: classes.map((c) => `a photo of a ${c}.`),
          spuriousAnchors: values.map((v) => `a photo of a ${v}.`),
          neutralPrompt: 'a photo of a {}.',
        },
        models: { clip: { dir: 'models/clip' }, classifier: { path: 'models/classifier.onnx' } },
        data: { train: { manifest: 'data/train.csv' } },
        words: { targets: entries(targets), spurious: entries(spurious) },
      },
      null,
      2,
    ) + '\n'
  );
}

/**
 * Moves the mouse off the UI and closes hovers, so a screenshot shows no tooltip.
 * @param {import('playwright-core').Page} page
 */
export async function calm(page) {
  await page.mouse.move(1150, 16); // an empty stretch of the title bar: no hover there
  await page
    .locator('.workbench-hover-container')
    .waitFor({ state: 'hidden', timeout: 3_000 })
    .catch(() => {});
  // notification toasts fade and slide in: wait until every toast is opaque and in place
  await page
    .waitForFunction(
      () =>
        [...document.querySelectorAll('.notifications-toasts .notification-toast')].every((el) => {
          const cs = getComputedStyle(el);
          return cs.opacity === '1' && (cs.transform === 'none' || /^matrix\(1, 0, 0, 1, 0, 0\)$/.test(cs.transform));
        }),
      undefined,
      { timeout: 3_000, polling: 100 },
    )
    .catch(() => {});
}
