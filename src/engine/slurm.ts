// `tldr-debias slurm EXP --tasks N`: a Slurm array of N `encode --shard slurm` tasks, then one
// `run` job that starts only when every task succeeded (--dependency=afterok). The scripts,
// the logs and a submission record go to .tldr/slurm/<id>/ beside the experiment, a folder the
// cluster's nodes must see (a shared filesystem), as they must see the cache.
//
// The scripts call the CLI by absolute paths (this Node binary and this dist/cli.js), so the
// nodes run the same version as the login node that submitted them.
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { loadExperiment } from '../experiment';
import type { SlurmSubmissionInfo } from '../protocol/worker';
import { InputError } from '../shared/errors';
import { newSlurmSubmissionDir, saveSlurmScripts, saveSlurmSubmission } from './runs/store';

export interface SlurmOptions {
  tasks: number;
  partition?: string;
  /** Slurm's --time, e.g. 30:00 or 1-00:00:00 */
  time?: string;
  cpusPerTask?: number;
  /** the CLI the jobs call: a Node binary and the bundled dist/cli.js */
  cli: { node: string; script: string };
}

export interface SlurmScripts {
  dir: string;
  encode: { path: string; text: string };
  run: { path: string; text: string };
}

/** What the worker sends the host (SlurmSubmissionInfo; its logs have Slurm's %A/%a/%j filled in), and the scripts' paths. */
export interface SlurmSubmission extends SlurmSubmissionInfo {
  scripts: { encode: string; run: string };
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function checkOptions(o: SlurmOptions): void {
  if (!Number.isInteger(o.tasks) || o.tasks < 1 || o.tasks > 100000)
    throw new InputError(`--tasks ${o.tasks}: give a whole number of array tasks from 1 up (e.g. --tasks 8).`);
  if (o.cpusPerTask !== undefined && (!Number.isInteger(o.cpusPerTask) || o.cpusPerTask < 1))
    throw new InputError(`--cpus-per-task ${o.cpusPerTask}: give a whole number of CPUs from 1 up.`);
  for (const [flag, v] of [
    ['--partition', o.partition],
    ['--time', o.time],
  ] as const)
    if (v !== undefined && !/^[A-Za-z0-9_.:,+-]+$/.test(v))
      throw new InputError(`${flag} "${v}": only letters, digits and _ . : , + - are allowed (e.g. --time 2:00:00).`);
}

/** The two job scripts for a submission folder `dir` (nothing is written). */
export function slurmScripts(file: string, dir: string, o: SlurmOptions): SlurmScripts {
  checkOptions(o);
  const exp = path.resolve(file);
  const common = [
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    ...(o.time ? [`#SBATCH --time=${o.time}`] : []),
    ...(o.cpusPerTask ? [`#SBATCH --cpus-per-task=${o.cpusPerTask}`] : []),
  ];
  // Node inside an Electron host (VS Code's own) runs as plain Node with this variable
  const electron = process.versions.electron ? ['export ELECTRON_RUN_AS_NODE=1'] : [];
  const call = (args: string) => `exec ${quote(o.cli.node)} ${quote(o.cli.script)} ${args}`;
  const body = (args: string) => ['set -eu', ...electron, `cd ${quote(path.dirname(exp))}`, call(args), ''];
  const encode = [
    '#!/bin/bash',
    `#SBATCH --job-name=tldr-encode`,
    `#SBATCH --array=0-${o.tasks - 1}`,
    `#SBATCH --output=${path.join(dir, 'encode-%A_%a.out')}`,
    ...common,
    `# one shard of ${path.basename(exp)}'s images per array task, into the shared cache`,
    ...body(`encode ${quote(exp)} --shard slurm`),
  ].join('\n');
  const run = [
    '#!/bin/bash',
    `#SBATCH --job-name=tldr-run`,
    `#SBATCH --output=${path.join(dir, 'run-%j.out')}`,
    // submitted with --dependency=afterok:<array>; a failed shard cancels this job instead of leaving it pending
    '#SBATCH --kill-on-invalid-dep=yes',
    ...common,
    `# the whole pipeline; every image vector comes from the cache the array filled`,
    ...body(`run ${quote(exp)}`),
  ].join('\n');
  return { dir, encode: { path: path.join(dir, 'encode.sbatch'), text: encode }, run: { path: path.join(dir, 'run.sbatch'), text: run } };
}

/** The scripts a submission would write, for --dry-run: the experiment is read (and must be valid), nothing is written. */
export function dryRunScripts(file: string, o: SlurmOptions): SlurmScripts {
  const loaded = loadExperiment(file);
  return slurmScripts(loaded.file, newSlurmSubmissionDir(loaded.file), o);
}

interface Completed {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a Slurm command; ENOENT becomes our error naming the command. */
export function slurmCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Completed> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new InputError(
              `${cmd} was not found on PATH, so no Slurm job can be submitted from here. Run this on a machine where Slurm's commands work (a cluster's login node), or add Slurm's bin folder to PATH.`,
            )
          : err,
      ),
    );
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function sbatch(script: string, extra: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await slurmCommand('sbatch', ['--parsable', ...extra, script], env);
  // --parsable prints "<job id>" or "<job id>;<cluster>"
  const id = r.stdout.trim().split('\n').at(-1)?.split(';')[0] ?? '';
  if (r.code !== 0 || !/^\d+$/.test(id))
    throw new InputError(
      `sbatch refused ${script} (exit ${r.code}): ${(r.stderr.trim() || r.stdout.trim() || 'no message').split('\n').join(' ')}. ` +
        'Check the partition (--partition, see sinfo), the time limit (--time) and your account, or submit the script by hand to see more.',
    );
  return id;
}

/** Writes the scripts into a new .tldr/slurm/<id>/, submits the array and the dependent run job, records both. */
export async function submitSlurm(file: string, o: SlurmOptions, env?: NodeJS.ProcessEnv): Promise<SlurmSubmission> {
  const loaded = loadExperiment(file); // a broken experiment fails here, not on the cluster
  const dir = newSlurmSubmissionDir(loaded.file);
  const scripts = slurmScripts(loaded.file, dir, o);
  await saveSlurmScripts([scripts.encode, scripts.run]);
  const arrayJobId = await sbatch(scripts.encode.path, [], env);
  let runJobId: string;
  try {
    runJobId = await sbatch(scripts.run.path, [`--dependency=afterok:${arrayJobId}`], env);
  } catch (err) {
    // no run would follow: take the array back rather than leave it encoding for nothing
    await slurmCommand('scancel', [arrayJobId], env).catch(() => undefined);
    throw new InputError(`${(err as Error).message} The encode array ${arrayJobId} was cancelled.`);
  }
  const submission: SlurmSubmission = {
    id: path.basename(dir),
    experiment: loaded.file,
    dir,
    tasks: o.tasks,
    arrayJobId,
    runJobId,
    scripts: { encode: scripts.encode.path, run: scripts.run.path },
    logs: {
      encode: Array.from({ length: o.tasks }, (_, i) => path.join(dir, `encode-${arrayJobId}_${i}.out`)),
      run: path.join(dir, `run-${runJobId}.out`),
    },
    submittedAt: new Date().toISOString(),
  };
  await saveSlurmSubmission(dir, submission);
  return submission;
}

export interface SlurmJobState {
  /** "123_4" for an array task, "123" for a job; a pending array's remaining tasks show as "123_[5-7]" */
  id: string;
  /** PENDING, RUNNING, COMPLETING, ... as squeue prints it */
  state: string;
  /** why it waits (squeue's %r), e.g. Resources, Dependency, None */
  reason: string;
}

/** What squeue says about these jobs and their array tasks; finished jobs are absent. */
export async function slurmQueue(jobIds: string[], env?: NodeJS.ProcessEnv): Promise<SlurmJobState[]> {
  if (!jobIds.length) return [];
  const r = await slurmCommand('squeue', ['-h', '-j', jobIds.join(','), '-o', '%i|%T|%r'], env);
  if (r.code !== 0) {
    // squeue refuses ids it has already forgotten (finished jobs): nothing is queued
    if (/invalid job id/i.test(r.stderr)) return [];
    throw new InputError(`squeue failed (exit ${r.code}): ${r.stderr.trim().split('\n').join(' ')}`);
  }
  return r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [id, state, reason] = l.trim().split('|');
      return { id, state, reason: reason ?? '' };
    });
}
