// The engine's only door: the CLI, the worker process, src/llm and the benchmark call these and
// nothing else of src/engine (ESLint's layer rules enforce it).
import * as path from 'node:path';
import type { RunRecord, RunSummary, SetupCheck, WordScores } from '../protocol/events';
import type { RunDetails } from '../protocol/worker';
import type { EngineOptions } from './options';
import { runPipeline, scorePipeline } from './pipeline';
import { runSetupChecks } from './setupChecks';
import { listRuns as listRunFolders, readLastScores, readRun } from './runs/store';
import { writeDemoExperiment } from './demo/experiment';
import { loadClipTokenizer } from './clip/tokenizer';
import { runDiscover, type DiscoverOptions } from './discover';
import { readLatestDiscovery } from './runs/store';
import type { Discovery } from '../protocol/discover';
import { BUILTIN_CONCEPTS, BUILTIN_ORIGIN, candidateKey } from './text/candidates';

export type { EngineOptions } from './options';
export type { DiscoverOptions } from './discover';
export { candidateKey };
export { PACKAGE_VERSION } from './versions';
export { metricsTable, selectionSummary } from './runs/report';

/** The whole pipeline: encode, gap, projector, score, text set, retrain, evaluate, export. */
export async function runExperiment(file: string, opts: EngineOptions = {}): Promise<RunSummary> {
  return runPipeline(file, opts);
}

/** Encode what scoring needs (cached) and score every word; the cache and the last scores are written. */
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

/** CLIP token ids of each text with the tokenizer of a CLIP folder, for debugging words. */
export function tokenize(clipDir: string, texts: string[]): { text: string; ids: number[]; unknown: boolean }[] {
  const tok = loadClipTokenizer(path.join(clipDir, 'tokenizer.json'));
  return texts.map((text) => ({ text, ids: tok.encode(text), unknown: tok.hasUnknown(text) }));
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
