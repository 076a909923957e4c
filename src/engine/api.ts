// The engine's public surface: the CLI, the worker process and the benchmarks call only these.
import type { EventSink, RunRecord, RunSummary, SetupCheck, WordScore } from '../protocol/events';
import { runPipeline, scorePipeline } from './pipeline';
import { runSetupChecks } from './setupChecks';
import { readRunRecords } from './runFolder';
import { writeDemoExperiment } from './demo/experiment';
import { loadClipTokenizer } from './clip/tokenizer';
import * as path from 'node:path';

export { PACKAGE_VERSION } from './versions';
export { metricsTable } from './report';

export interface EngineOptions {
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** default: <experiment folder>/.tldr/cache */
  cacheDir?: string;
  /** onnxruntime execution provider; 'cpu' everywhere this ships */
  executionProvider?: string;
  /** run with this seed instead of settings.seed (the demo's repeated runs); recorded in run.json */
  seed?: number;
}

/** The whole pipeline: encode, gap, projector, score, text set, retrain, evaluate, export. */
export async function runExperiment(file: string, opts: EngineOptions = {}): Promise<RunSummary> {
  return runPipeline(file, opts);
}

/** Encode what scoring needs (cached) and score every word; nothing is written but the cache. */
export async function scoreWords(file: string, opts: EngineOptions = {}): Promise<WordScore[]> {
  return scorePipeline(file, opts);
}

/** Cheap checks for the editor's Setup tab: no image is encoded. */
export async function checkSetup(file: string, opts: Pick<EngineOptions, 'executionProvider'> = {}): Promise<SetupCheck[]> {
  return runSetupChecks(file, opts);
}

/** Past runs of this experiment, newest first. */
export async function listRuns(file: string): Promise<RunRecord[]> {
  return readRunRecords(file);
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
