// The fault corpus's machinery: one small demo world built (and run once, to warm its cache)
// per test file, a fresh copy of it per case, the CLI run as a child process (optionally as an
// unprivileged user, with a signal sent when its output reaches a point, or twice at once),
// and the checks every case gets: the exit code, the message, no stack trace, the experiment
// file's and the models' bytes unchanged, a readable cache, no temp file left.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { makeSmallDemo } from '../helpers/smallDemo';
import { repoRoot, tempDir } from '../helpers/paths';
import { decodeSafetensors } from '../../src/engine/io/safetensors';

export const cli = path.join(repoRoot, 'dist', 'cli.js');

export interface World {
  /** the case's own folder: a copy of the demo world */
  dir: string;
  /** its experiment file */
  exp: string;
  /** rewrite the experiment file's JSON */
  edit(fn: (e: any) => void): void;
  /** a path inside the case's folder */
  at(...parts: string[]): string;
}

export interface Outcome {
  /** exit code, or the signal that ended the process */
  exit: number | NodeJS.Signals;
  stdout: string;
  stderr: string;
}

export interface SpawnSpec {
  args: string[];
  env?: Record<string, string>;
  /** run as an unprivileged user (nobody) */
  asNobody?: boolean;
  /** send `signal` once `when` matches what the process printed so far (stdout + stderr) */
  interrupt?: { signal: NodeJS.Signals; when: RegExp };
}

/** One row of the corpus. */
export interface FaultCase {
  name: string;
  /** what the case does to its copy of the demo world before the command */
  setup?: (w: World) => void | Promise<void>;
  /** the CLI arguments (one process), or several to run at once */
  run: (w: World) => SpawnSpec | SpawnSpec[];
  /** expected exit code (or signal) of every process */
  exit: number | NodeJS.Signals;
  /** the message, matched against stderr then stdout */
  message: RegExp;
  /** a case that adds words: the experiment file may change */
  experimentChanges?: boolean;
  /** run the CLI normally afterwards: it must succeed from the cache left behind */
  nextRun?: boolean;
  /** temp files an uncatchable signal leaves are allowed (they are checked after aging them and a next run) */
  tempFilesAllowed?: boolean;
  /** extra checks after the common ones */
  check?: (w: World, out: Outcome[]) => void | Promise<void>;
  /** why the case cannot run here (e.g. it needs a non-root user and no way to become one) */
  skip?: () => string | false;
  /** start from the warm cache of the base world (else the copy has no .tldr at all) */
  warm?: boolean;
  /** copy the images too, not a link to the base world's (for a case whose path matters) */
  deepCopy?: boolean;
  /** the message column of the results table, when the output has no message line (a killed process) */
  describe?: string;
}

export interface Row {
  name: string;
  exit: string;
  message: string;
}

let base: string;
let tempRoot: string;
let counter = 0;

/** The demo world every case copies, built and run once (so copies start with a warm cache). */
export async function buildBaseWorld(): Promise<{ base: string; metrics: unknown }> {
  tempRoot = tempDir('tldr-faults-');
  fs.chmodSync(tempRoot, 0o755); // an unprivileged user must reach the cases' folders
  base = path.join(tempRoot, 'base');
  fs.mkdirSync(base);
  await makeSmallDemo(base);
  const r = spawnSync(process.execPath, [cli, 'run', path.join(base, 'demo.tldr.json'), '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  fs.rmSync(path.join(base, '.tldr', 'runs'), { recursive: true, force: true });
  fs.rmSync(path.join(base, '.tldr', 'scores'), { recursive: true, force: true });
  return { base, metrics: result.summary.metrics };
}

export function removeTempRoot(): void {
  if (tempRoot) fs.rmSync(tempRoot, { recursive: true, force: true });
}

/**
 * A fresh copy of the base world, under `name` (which may hold any characters): the experiment
 * file and the models copied, the images linked (copied with deepCopy), the cache copied only
 * when the case wants it warm. Copying everything for every case made ~65k files to write and
 * delete, minutes on a busy machine.
 */
export function copyWorld(name = `case-${++counter}`, opts: { warm?: boolean; deepCopy?: boolean } = {}): World {
  const dir = path.join(tempRoot, name);
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(base, 'demo.tldr.json'), path.join(dir, 'demo.tldr.json'));
  fs.cpSync(path.join(base, 'models'), path.join(dir, 'models'), { recursive: true });
  if (opts.deepCopy) fs.cpSync(path.join(base, 'world'), path.join(dir, 'world'), { recursive: true });
  else fs.symlinkSync(path.join(base, 'world'), path.join(dir, 'world'), 'dir');
  if (opts.warm) fs.cpSync(path.join(base, '.tldr', 'cache'), path.join(dir, '.tldr', 'cache'), { recursive: true });
  const exp = path.join(dir, 'demo.tldr.json');
  return {
    dir,
    exp,
    at: (...parts) => path.join(dir, ...parts),
    edit(fn) {
      const e = JSON.parse(fs.readFileSync(exp, 'utf8'));
      fn(e);
      fs.writeFileSync(exp, JSON.stringify(e, null, 2));
    },
  };
}

/** How this process can run a command as `nobody`, or why it cannot. */
export function nobodyPrefix(): string[] | string {
  if (process.getuid?.() !== 0) return []; // not root: permissions apply to us already
  const setpriv = spawnSync('setpriv', ['--version'], { encoding: 'utf8' });
  if (setpriv.status !== 0) return 'running as root and util-linux setpriv is not installed, so no unprivileged user can be used';
  const id = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
  if (id.status !== 0) return 'running as root and there is no user "nobody"';
  return ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'];
}

let permissionSkipReason: string | false | undefined;

/** Why the permission cases cannot run here, or false; found once. */
export const permissionSkip = (): string | false => {
  if (permissionSkipReason !== undefined) return permissionSkipReason;
  const p = nobodyPrefix();
  if (typeof p === 'string') return (permissionSkipReason = p);
  // the unprivileged user must be able to run the CLI from this checkout (no private parent folder)
  const r = spawnSync(p[0] ?? process.execPath, [...p.slice(1), ...(p.length ? [process.execPath] : []), cli, '--version'], {
    encoding: 'utf8',
  });
  permissionSkipReason =
    r.status === 0 ? false : `the user nobody cannot run ${cli} (is a parent folder private?): ${(r.stderr || '').split('\n')[0]}`;
  return permissionSkipReason;
};

/** Hand the case's folder to nobody (when we are root and will run as nobody). */
export function giveToNobody(dir: string): void {
  if (process.getuid?.() !== 0) return;
  spawnSync('chown', ['-R', 'nobody', dir]);
}

export function spawnCli(spec: SpawnSpec): Promise<Outcome> {
  const prefix = spec.asNobody ? nobodyPrefix() : [];
  if (typeof prefix === 'string') throw new Error(prefix);
  const argv = [...prefix, process.execPath, cli, ...spec.args];
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '', NODE_OPTIONS: '', ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let sent = false;
  const maybeInterrupt = () => {
    if (!spec.interrupt || sent || !spec.interrupt.when.test(stdout + stderr)) return;
    sent = true;
    child.kill(spec.interrupt.signal);
  };
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
    maybeInterrupt();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
    maybeInterrupt();
  });
  return new Promise((resolve, reject) => {
    const hang = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tldr-debias ${spec.args.join(' ')} did not end within 120 s: it hangs\n${stderr}`));
    }, 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(hang);
      resolve({ exit: code ?? signal ?? -1, stdout, stderr });
    });
  });
}

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((n) => path.join(dir, n)).filter((f) => fs.statSync(f).isFile());
}

/** Hashes of the experiment file and of every model file. */
function fingerprint(w: World): Map<string, string> {
  const files = [w.exp, ...filesUnder(w.at('models'))];
  return new Map(files.filter((f) => fs.existsSync(f)).map((f) => [f, sha(f)]));
}

/** A stack frame as Node prints them: "    at fn (file:line:col)". */
const STACK = /^\s+at .*(?::\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m;

export function tempFiles(dir: string): string[] {
  return filesUnder(dir).filter((f) => f.endsWith('.tmp'));
}

/** Every cache entry decodes. */
export function assertCacheReadable(w: World): void {
  for (const f of filesUnder(w.at('.tldr', 'cache')).filter((f) => f.endsWith('.safetensors')))
    assert.doesNotThrow(() => decodeSafetensors(fs.readFileSync(f)), `cache entry ${f} decodes`);
}

/**
 * The line where the message starts: the line of the match in stderr (else stdout), or the
 * "error: " line the match belongs to (a message of several lines names the file first).
 */
function messageLine(out: Outcome, message: RegExp): string {
  for (const text of [out.stderr, out.stdout]) {
    const m = message.exec(text);
    if (m) {
      const errorAt = text.lastIndexOf('error: ', m.index);
      const start = errorAt >= 0 && (errorAt === 0 || text[errorAt - 1] === '\n') ? errorAt : text.lastIndexOf('\n', m.index) + 1;
      const end = text.indexOf('\n', start);
      return text.slice(start, end < 0 ? undefined : end).trim();
    }
  }
  return (out.stderr.trim() || out.stdout.trim()).split('\n')[0] ?? '';
}

/** Runs one case and returns its row of the results table. */
export async function runCase(c: FaultCase, name?: string): Promise<Row> {
  const w = copyWorld(name, c);
  await c.setup?.(w);
  const before = fingerprint(w);
  const specs = c.run(w);
  const outs = await Promise.all((Array.isArray(specs) ? specs : [specs]).map(spawnCli));
  for (const out of outs) {
    const all = `--- stderr\n${out.stderr}\n--- stdout\n${out.stdout.slice(0, 4000)}`;
    assert.equal(out.exit, c.exit, `exit code\n${all}`);
    assert.match(out.stderr + '\n' + out.stdout, c.message, all);
    assert.doesNotMatch(out.stderr, STACK, `no stack trace\n${all}`);
    assert.doesNotMatch(out.stdout, STACK, `no stack trace\n${all}`);
    assert.doesNotMatch(out.stderr, /MaxListenersExceededWarning/, all);
  }
  const after = fingerprint(w);
  for (const [f, h] of before) {
    if (c.experimentChanges && f === w.exp) continue;
    assert.equal(after.get(f), h, `${path.relative(w.dir, f)} is unchanged`);
  }
  assertCacheReadable(w);
  if (!c.tempFilesAllowed) assert.deepEqual(tempFiles(w.dir), [], 'no temp file left');
  await c.check?.(w, outs);
  if (c.nextRun) {
    const next = await spawnCli({ args: ['run', w.exp, '--json'] });
    assert.equal(next.exit, 0, `the next normal run succeeds\n${next.stderr}`);
    assertCacheReadable(w);
    assert.deepEqual(tempFiles(w.dir), [], 'no temp file left after the next run');
  }
  fs.rmSync(w.dir, { recursive: true, force: true }); // kept when the case fails, to look at
  return { name: c.name, exit: String(outs[0]!.exit), message: c.describe ?? messageLine(outs[0]!, c.message) };
}

/** The results table, with the machine's temp paths, ports and run ids replaced so it is stable. */
export function resultsTable(rows: Row[]): string {
  const clean = (s: string) =>
    s
      .split(tempRoot)
      .join('<dir>')
      .replace(/<dir>\/case-\d+/g, '<case>')
      .split(repoRoot)
      .join('<repo>')
      .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
      .replace(/\d{8}-\d{6}-[0-9a-f]{4}/g, '<run>')
      .replace(/\b(pid|process) \d+/g, '$1 <pid>')
      .replace(/\|/g, '\\|');
  const lines = rows.map((r) => `| ${r.name} | ${r.exit} | ${clean(r.message)} |`);
  return [
    '# Fault corpus results',
    '',
    'Written by `npm run test:faults` (test/faults/corpus.test.ts); one row per case: the exit code',
    '(or the signal the test sent when the process cannot exit by itself) and the first line of the',
    'message. Every case also checks: no stack trace, the experiment file and the models unchanged,',
    'the cache readable, no temp file left.',
    '',
    '| case | exit | first line of the message |',
    '| --- | --- | --- |',
    ...lines,
    '',
  ].join('\n');
}

export { os };
