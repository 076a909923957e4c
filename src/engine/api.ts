// The engine's only door: the CLI, the worker process, src/llm and the benchmark call these and
// nothing else of src/engine (ESLint's layer rules enforce it).
import * as path from 'node:path';
import type { RunRecord, RunSummary, SetupCheck, WordScores } from '../protocol/events';
import type { RunDetails } from '../protocol/worker';
import type { EngineOptions } from './options';
import { runPipeline, scorePipeline } from './pipeline';
import { runSetupChecks } from './setupChecks';
import { findJobRun, listRuns as listRunFolders, readLastScores, readRun, readShardRecords } from './runs/store';
import {
  dryRunScripts,
  slurmQueue as slurmQueueStates,
  submitSlurm as submitSlurmJobs,
  type SlurmJobState,
  type SlurmOptions,
  type SlurmScripts,
  type SlurmSubmission,
} from './slurm';
import { encodeShardImages, parseShard, slurmShard, type ShardResult, type ShardSpec } from './shard';
import { writeDemoExperiment } from './demo/experiment';
import { loadClipTokenizer } from './clip/tokenizer';
import { tokenizerFiles } from './clip/exportLayout';
import { proposeExperiment as propose, type ProposeParams, type Proposal } from './propose';
import { runDiscover, type DiscoverOptions } from './discover';
import { readLatestDiscovery } from './runs/store';
import type { Discovery } from '../protocol/discover';
import { BUILTIN_CONCEPTS, BUILTIN_ORIGIN, candidateKey } from './text/candidates';

export type { EngineOptions } from './options';
export type { ShardResult, ShardSpec } from './shard';
export type { SlurmJobState, SlurmOptions, SlurmScripts, SlurmSubmission } from './slurm';
export type { ShardRecord } from './runs/store';
export type { DiscoverOptions } from './discover';
export { candidateKey };
export { PACKAGE_VERSION } from './versions';
export { metricsTable, selectionSummary } from './runs/report';
export type { ClassifierProposal, ClipProposal, ProposeParams, Proposal } from './propose';
export { defaultExperimentFile } from './propose';
export { listClipVariants, type ClipVariantFiles } from './clip/exportLayout';

/** The whole pipeline: encode, gap, projector, score, text set, retrain, evaluate, export. */
export async function runExperiment(file: string, opts: EngineOptions = {}): Promise<RunSummary> {
  return runPipeline(file, opts);
}

/** Encode what scoring needs (train and the caption pairs, cached) and score every word; the cache and the last scores are written. */
export async function scoreWords(file: string, opts: EngineOptions = {}): Promise<WordScores> {
  return scorePipeline(file, opts);
}

/** Cheap checks for the editor's Setup tab: no image is encoded. */
export async function checkSetup(file: string, opts: Pick<EngineOptions, 'executionProvider'> = {}): Promise<SetupCheck[]> {
  return runSetupChecks(file, opts);
}

/** Past runs of this experiment, newest first. */
export async function listRuns(file: string): Promise<RunRecord[]> {
  return listRunFolders(file);
}

/** One past run: its summary and the paths of its report and exported model. */
export function runDetails(runDir: string): RunDetails {
  return readRun(runDir);
}

/** The word scores of the last `score` or run of this experiment (empty when none). */
export function lastScores(file: string): WordScores | null {
  return readLastScores(file);
}

/** Write the demo world (images, models, words, experiment) into `dir`; returns the experiment file. */
export async function createDemo(dir: string, opts: Pick<EngineOptions, 'onEvent' | 'signal'> = {}): Promise<string> {
  return writeDemoExperiment(dir, opts);
}

/**
 * An experiment from a CLIP folder, a classifier and a data folder or file (the New Experiment
 * wizard, `tldr-debias init`): layouts, classes and the spurious attribute detected, notes for the rest.
 */
export async function proposeExperiment(params: ProposeParams): Promise<Proposal> {
  return propose(params);
}

/**
 * CLIP token ids of each text with the tokenizer of a CLIP folder, for debugging words: its
 * tokenizer.json, or vocab.json + merges.txt, found as a run finds them (`tokenizer` overrides
 * the file name, relative to the folder, as models.clip.tokenizer does).
 */
export function tokenize(
  clipDir: string,
  texts: string[],
  tokenizer = 'tokenizer.json',
): { text: string; ids: number[]; unknown: boolean }[] {
  const files = tokenizerFiles(path.resolve(clipDir), tokenizer);
  const tok = loadClipTokenizer(files.tokenizer, files.merges);
  return texts.map((text) => ({ text, ids: tok.encode(text), unknown: tok.hasUnknown(text) }));
}

/** The engine's hot paths one by one, for the benchmark (bench/run.mjs) only: see kernels.ts. */
export * as kernels from './kernels';

/**
 * Encode one shard of the experiment's images into the cache (`encode --shard I/N`): `shard` is "I/N"
 * (I from 0), or "slurm" for this Slurm array task's shard (SLURM_ARRAY_TASK_ID, _COUNT, _MIN in `env`).
 * N such calls, in any order or at once, leave a cache from which `runExperiment` encodes nothing.
 */
export async function encodeShard(
  file: string,
  shard: string | ShardSpec,
  opts: EngineOptions & { env?: NodeJS.ProcessEnv } = {},
): Promise<ShardResult> {
  const spec = typeof shard !== 'string' ? shard : shard.trim() === 'slurm' ? slurmShard(opts.env ?? process.env) : parseShard(shard);
  return encodeShardImages(file, spec, opts);
}

/** The records `encodeShard` left for this experiment, by shard count and index. */
export function shardRecords(file: string): ReturnType<typeof readShardRecords> {
  return readShardRecords(file);
}

/** The run a batch job started (by its job id), once its run.json exists. */
export function jobRun(file: string, jobId: string): ReturnType<typeof findJobRun> {
  return findJobRun(file, jobId);
}

/**
 * Submit the experiment to Slurm: an array of `tasks` encode shards, then a run job that waits for
 * all of them (afterok). Scripts, logs and the submission record go to .tldr/slurm/<id>/.
 */
export async function submitSlurm(file: string, opts: SlurmOptions, env?: NodeJS.ProcessEnv): Promise<SlurmSubmission> {
  return submitSlurmJobs(file, opts, env);
}

/** The two job scripts `submitSlurm` would write (into a folder that is not created), for --dry-run. */
export function slurmDryRun(file: string, opts: SlurmOptions): SlurmScripts {
  return dryRunScripts(file, opts);
}

/** squeue's state of these jobs and their array tasks (finished ones are absent). */
export async function slurmQueue(jobIds: string[], env?: NodeJS.ProcessEnv): Promise<SlurmJobState[]> {
  return slurmQueueStates(jobIds, env);
}

/**
 * Rank candidate keywords per class by the B2T score on val (misclassified vs correct images):
 * what the classifier leans on. Written to `.tldr/discover/<id>.json`; needs class labels on val only.
 */
export async function discoverBiases(file: string, opts: DiscoverOptions = {}): Promise<{ path: string; discovery: Discovery }> {
  return runDiscover(file, opts);
}

/** The newest discovery of this experiment (null when none). */
export function lastDiscovery(file: string): { path: string; discovery: Discovery } | null {
  return readLatestDiscovery(file);
}

/** The built-in candidate list and where it comes from. */
export function builtinConcepts(): { origin: string; concepts: readonly string[] } {
  return { origin: BUILTIN_ORIGIN, concepts: BUILTIN_CONCEPTS };
}
