// The run folder contract: .tldr/runs/<id>/ with run.json (config hash, seed, versions,
// settings, timings, counts, metrics) and the artifacts other tools read. run.json is
// rewritten atomically at the start and the end, so a reader never sees half a file; a run
// whose process died shows as failed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { RunRecord, RunSummary, SplitMetrics } from '../protocol/events';
import type { LoadedExperiment } from '../experiment';
import { sha256 } from './cache';
import { writeJsonAtomic } from '../shared/atomicWrite';
import { versions } from './versions';

export interface RunJson {
  runId: string;
  experiment: string;
  configHash: string;
  seed: number;
  versions: Record<string, string>;
  startedAt: string;
  finishedAt?: string;
  pid: number;
  status: RunSummary['status'] | 'running';
  error?: string;
  settings?: unknown;
  timings?: Record<string, number>;
  counts?: Record<string, number>;
  gap?: { source: string; pairs: number; norm: number };
  relu?: boolean;
  selection?: unknown;
  modelHashes?: Record<string, string>;
  metrics?: { val?: SplitMetrics; test?: SplitMetrics };
  artifacts?: string[];
}

export interface RunFolder {
  id: string;
  dir: string;
  record: RunJson;
  save(): Promise<void>;
}

export const runsDir = (experimentDir: string) => path.join(experimentDir, '.tldr', 'runs');

function newRunId(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}-${randomBytes(2).toString('hex')}`;
}

export async function createRunFolder(loaded: LoadedExperiment): Promise<RunFolder> {
  const id = newRunId();
  const dir = path.join(runsDir(loaded.dir), id);
  await fs.promises.mkdir(dir, { recursive: true });
  const record: RunJson = {
    runId: id,
    experiment: loaded.file,
    configHash: sha256(JSON.stringify(loaded.experiment)),
    seed: loaded.experiment.settings.seed,
    versions: versions(),
    startedAt: new Date().toISOString(),
    pid: process.pid,
    status: 'running',
  };
  const folder: RunFolder = { id, dir, record, save: () => writeJsonAtomic(path.join(dir, 'run.json'), record) };
  await folder.save();
  return folder;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function readRunRecords(file: string): Promise<RunRecord[]> {
  const { file: abs, dir } = loadExperimentPath(file);
  const root = runsDir(dir);
  let names: string[];
  try {
    names = await fs.promises.readdir(root);
  } catch {
    return [];
  }
  const records: RunRecord[] = [];
  for (const name of names) {
    let run: RunJson;
    try {
      run = JSON.parse(await fs.promises.readFile(path.join(root, name, 'run.json'), 'utf8'));
    } catch {
      continue;
    }
    if (run.experiment !== abs) continue;
    const status = run.status === 'running' ? (alive(run.pid) ? undefined : 'failed') : run.status;
    if (!status) continue; // still running: the caller shows live progress instead
    const split = run.metrics?.test ? 'test' : run.metrics?.val ? 'val' : undefined;
    const m = split ? run.metrics![split]! : undefined;
    records.push({
      runId: run.runId,
      runDir: path.join(root, name),
      experiment: run.experiment,
      startedAt: run.startedAt,
      status,
      worstGroup: m && split ? { split, erm: m.erm.worstGroup, tldr: m.tldr.worstGroup } : undefined,
    });
  }
  return records.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

/** Runs are matched by absolute experiment path; the file need not be valid to list them. */
function loadExperimentPath(file: string): { file: string; dir: string } {
  const abs = path.resolve(file);
  return { file: abs, dir: path.dirname(abs) };
}
