// The run store: the one owner of `.tldr/` beside an experiment file. It creates run folders,
// writes run.json (atomically, at the start and the end of a run), lists and reads runs back
// validated by the zod schema in src/protocol/runRecord.ts, keeps the last word scores and the
// discoveries (`.tldr/discover/<id>.json`, schema in src/protocol/discover.ts).
// Nothing else reads or writes these files.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { RunRecord, RunSummary, WordScores } from '../../protocol/events';
import {
  ARTIFACTS,
  headlineSplit,
  runJsonSchema,
  shardRecordSchema,
  type RunJson,
  type ShardRecord,
  type ThreadsRecord,
} from '../../protocol/runRecord';
import type { RunDetails } from '../../protocol/worker';
import { wordScoreSchema } from '../../protocol/webview';
import type { LoadedExperiment } from '../../experiment';
import { discoverySchema, type Discovery } from '../../protocol/discover';
import { writeFileAtomic, writeJsonAtomic } from '../../shared/atomicWrite';
import { InputError } from '../../shared/errors';
import { sha256 } from '../cache';
import { versions } from '../versions';

export const tldrDir = (experimentFile: string) => path.join(path.dirname(path.resolve(experimentFile)), '.tldr');
const runsDir = (experimentFile: string) => path.join(tldrDir(experimentFile), 'runs');
/** Where embeddings are cached unless the user chose a folder. */
export const defaultCacheDir = (experimentFile: string) => path.join(tldrDir(experimentFile), 'cache');
/** Shard records of `encode --shard`, one folder per image plan. */
const shardsDir = (experimentFile: string) => path.join(tldrDir(experimentFile), 'shards');
/** Batch-job submissions (`tldr-debias slurm`): scripts, logs and the submission record, one folder each. */
const slurmDir = (experimentFile: string) => path.join(tldrDir(experimentFile), 'slurm');
/** The last scores of an experiment, shown again by the editor after a reload. */
const scoresPath = (experimentFile: string) => path.join(tldrDir(experimentFile), 'scores', `${path.basename(experimentFile)}.json`);

export interface RunFolder {
  id: string;
  dir: string;
  /** absolute path of an artifact of this run */
  artifact(name: (typeof ARTIFACTS)[keyof typeof ARTIFACTS]): string;
  /** writes run.json with the record as it stands */
  save(record: RunJson): Promise<void>;
}

/**
 * Before the first step: `.tldr/`, its runs folder and the cache folder exist (created here)
 * and are writable, so a run never does minutes of work it cannot keep. The last-scores folder
 * is left out: it is optional, and a run that cannot write it warns and goes on.
 */
export function checkWritable(experimentFile: string, cacheDir = defaultCacheDir(experimentFile)): void {
  for (const dir of [tldrDir(experimentFile), runsDir(experimentFile), cacheDir]) {
    try {
      fs.mkdirSync(dir, { recursive: true });
      fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      const exists = fs.existsSync(dir);
      throw new InputError(
        `${dir}: ${exists ? 'the folder is not writable' : 'cannot create the folder'} (${code}). TLDR keeps its runs and cached embeddings in .tldr/ beside the experiment file: make ${exists ? 'that folder' : path.dirname(dir)} writable for this user, or copy the experiment to a folder you can write.`,
      );
    }
  }
}

function newRunId(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const day = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}`;
  return `${day}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}-${randomBytes(2).toString('hex')}`;
}

export type { ShardRecord } from '../../protocol/runRecord';

/** A new run folder and the record it starts with (status running, this process's pid and host). */
export async function startRun(
  loaded: LoadedExperiment,
  extra: { threads?: ThreadsRecord; job?: RunJson['job'] } = {},
): Promise<{ folder: RunFolder; record: RunJson }> {
  const id = newRunId();
  const dir = path.join(runsDir(loaded.file), id);
  await fs.promises.mkdir(dir, { recursive: true });
  const folder: RunFolder = {
    id,
    dir,
    artifact: (name) => path.join(dir, name),
    save: (record) => writeJsonAtomic(path.join(dir, ARTIFACTS.record), record),
  };
  const record: RunJson = {
    runId: id,
    experiment: loaded.file,
    configHash: sha256(JSON.stringify(loaded.experiment)),
    seed: loaded.experiment.settings.seed,
    versions: versions(),
    startedAt: new Date().toISOString(),
    pid: process.pid,
    host: os.hostname(),
    ...(extra.job ? { job: extra.job } : {}),
    status: 'running',
    ...(extra.threads ? { threads: extra.threads } : {}),
  };
  await folder.save(record);
  return { folder, record };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readRunJson(dir: string): RunJson | undefined {
  try {
    const parsed = runJsonSchema.safeParse(JSON.parse(fs.readFileSync(path.join(dir, ARTIFACTS.record), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A record still saying `running` whose process is gone from this host ended without saying
 * so (SIGKILL, a crash, a restart): it is `interrupted`. A run of this host that is alive, or
 * of another host (whose processes cannot be seen from here), is still running: undefined.
 */
export function effectiveStatus(run: RunJson, host = os.hostname()): RunRecord['status'] | undefined {
  if (run.status !== 'running') return run.status;
  if (run.host !== undefined && run.host !== host) return undefined;
  return alive(run.pid) ? undefined : 'interrupted';
}

/** The run folders' names of an experiment (none when .tldr/runs does not exist yet). */
function runFolderNames(absFile: string): string[] {
  try {
    return fs.readdirSync(runsDir(absFile));
  } catch {
    return [];
  }
}

/** The run a batch job started (by its job id), whatever its state; undefined until its run.json exists. */
export function findJobRun(file: string, jobId: string): { runDir: string; status: RunJson['status'] } | undefined {
  const abs = path.resolve(file);
  const names = runFolderNames(abs);
  for (const name of names) {
    const run = readRunJson(path.join(runsDir(abs), name));
    if (run?.experiment === abs && run.job?.id === jobId)
      return { runDir: path.join(runsDir(abs), name), status: effectiveStatus(run) ?? 'running' };
  }
  return undefined;
}

/** Writes a shard's record; returns its path. */
export async function writeShardRecord(file: string, record: ShardRecord): Promise<string> {
  const target = path.join(shardsDir(file), record.planHash, `${record.index}-of-${record.count}.json`);
  await writeJsonAtomic(target, record);
  return target;
}

/** Every shard record of the experiment's plan `planHash` (all plans when omitted), by index. */
export function readShardRecords(file: string, planHash?: string): ShardRecord[] {
  const root = shardsDir(file);
  const out: ShardRecord[] = [];
  let plans: string[];
  try {
    plans = planHash ? [planHash] : fs.readdirSync(root);
  } catch {
    return [];
  }
  for (const plan of plans) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(path.join(root, plan)).filter((n) => n.endsWith('.json'));
    } catch {}
    for (const n of names) {
      try {
        const parsed = shardRecordSchema.safeParse(JSON.parse(fs.readFileSync(path.join(root, plan, n), 'utf8')));
        if (parsed.success) out.push(parsed.data);
      } catch {}
    }
  }
  return out.sort((a, b) => a.count - b.count || a.index - b.index);
}

/** Past runs of an experiment, newest first; runs still in progress are left to the live view. */
export async function listRuns(file: string): Promise<RunRecord[]> {
  const abs = path.resolve(file);
  const root = runsDir(abs);
  let names: string[];
  try {
    names = await fs.promises.readdir(root);
  } catch {
    return [];
  }
  const records: RunRecord[] = [];
  for (const name of names) {
    const run = readRunJson(path.join(root, name));
    if (!run || run.experiment !== abs) continue;
    const status = effectiveStatus(run);
    if (!status) continue;
    const split = run.metrics && headlineSplit(run.metrics);
    const m = split && run.metrics![split]!;
    records.push({
      runId: run.runId,
      runDir: path.join(root, name),
      experiment: run.experiment,
      startedAt: run.startedAt,
      status,
      ...(split && m ? { worstGroup: { split, erm: m.erm.worstGroup, tldr: m.tldr.worstGroup } } : {}),
    });
  }
  return records.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

/** A past run's summary and artifacts; no summary while it runs or when its folder holds none. */
export function readRun(runDir: string): RunDetails {
  const run = readRunJson(runDir);
  const status = run && effectiveStatus(run);
  const summary: RunSummary | null =
    run && status
      ? {
          runId: run.runId,
          runDir,
          status,
          metrics: run.metrics ?? {},
          ...(run.selection ? { selection: run.selection } : {}),
          ...(run.warnings?.length ? { warnings: run.warnings } : {}),
          ...(run.gallery ? { gallery: run.gallery } : {}),
          ...(run.error ? { error: run.error } : {}),
        }
      : null;
  const at = (name: string) => (fs.existsSync(path.join(runDir, name)) ? path.join(runDir, name) : undefined);
  const reportPath = at(ARTIFACTS.report);
  const modelPath = at(ARTIFACTS.model);
  return { summary, ...(reportPath ? { reportPath } : {}), ...(modelPath ? { modelPath } : {}) };
}

const savedScoresSchema = z.object({ lambda: z.number(), scores: z.array(wordScoreSchema) });

/** The scores the engine saved last for this experiment (none when missing or from another version). */
export function readLastScores(file: string): WordScores | null {
  try {
    const parsed = savedScoresSchema.safeParse(JSON.parse(fs.readFileSync(scoresPath(file), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export async function writeLastScores(file: string, scores: WordScores): Promise<void> {
  await writeJsonAtomic(scoresPath(file), { experiment: path.resolve(file), scoredAt: new Date().toISOString(), ...scores });
}

/** The lambda the newest successful run of this experiment chose. */
export function lastChosenLambda(file: string): number | undefined {
  const abs = path.resolve(file);
  const names = runFolderNames(abs);
  const runs = names
    .map((n) => readRunJson(path.join(runsDir(abs), n)))
    .filter((r): r is RunJson => !!r && r.experiment === abs && r.status === 'succeeded' && !!r.selection)
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  return runs[0]?.selection?.chosen.lambda;
}

/** A new submission folder's path under .tldr/slurm/ (not created), sortable by time like run ids. */
export const newSlurmSubmissionDir = (file: string) => path.join(slurmDir(file), newRunId());

/** Writes a submission's job scripts (into its folder, created here). */
export async function saveSlurmScripts(scripts: { path: string; text: string }[]): Promise<void> {
  for (const s of scripts) await writeFileAtomic(s.path, s.text);
}

/** Writes a submission's record, `submission.json`, beside its scripts. */
export async function saveSlurmSubmission(dir: string, submission: object): Promise<void> {
  await writeJsonAtomic(path.join(dir, 'submission.json'), submission);
}

const discoverDir = (experimentFile: string) => path.join(tldrDir(experimentFile), 'discover');

/** A new discovery id, sortable by time like run ids. */
export const newDiscoveryId = () => newRunId();

/** Writes `.tldr/discover/<id>.json`; returns its path. */
export async function saveDiscovery(discovery: Discovery): Promise<string> {
  const file = path.join(discoverDir(discovery.experiment), `${discovery.id}.json`);
  await writeJsonAtomic(file, discovery);
  return file;
}

/** The newest discovery of this experiment that still reads with this version's schema, or null. */
export function readLatestDiscovery(file: string): { path: string; discovery: Discovery } | null {
  const abs = path.resolve(file);
  let names: string[];
  try {
    names = fs.readdirSync(discoverDir(abs)).filter((n) => n.endsWith('.json'));
  } catch {
    return null;
  }
  for (const name of names.sort().reverse()) {
    const p = path.join(discoverDir(abs), name);
    try {
      const parsed = discoverySchema.safeParse(JSON.parse(fs.readFileSync(p, 'utf8')));
      if (parsed.success && parsed.data.experiment === abs) return { path: p, discovery: parsed.data };
    } catch {
      // unreadable: try an older one
    }
  }
  return null;
}
