// What a caller of the engine can set for one call (the CLI, the worker, the benchmark).
import type { EventSink } from '../protocol/events';

export interface EngineOptions {
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** default: <experiment folder>/.tldr/cache */
  cacheDir?: string;
  /** onnxruntime execution provider; 'cpu' everywhere this ships */
  executionProvider?: string;
  /**
   * onnxruntime intra-op threads per session; 0 or undefined = os.availableParallelism().
   * The experiment's settings.threads wins over a number from the editor's setting; the CLI's
   * --threads wins over both (threadsSource says which of the two passed it).
   */
  threads?: number;
  threadsSource?: 'cli' | 'setting';
  /** the engine before thread counts were chosen (threads left to onnxruntime): the benchmark's before/after row */
  legacyThreads?: boolean;
  /** run with this seed instead of settings.seed (the demo's repeated runs); recorded in run.json */
  seed?: number;
}
