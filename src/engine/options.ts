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
   * The CLI's --threads wins over all; then the CPUs of the Slurm job (SLURM_CPUS_PER_TASK, set by
   * the CLI); then the experiment's settings.threads; then the editor's setting. threadsSource
   * says where the number came from.
   */
  threads?: number;
  threadsSource?: 'cli' | 'slurm' | 'setting';
  /** the engine before thread counts were chosen (threads left to onnxruntime): the benchmark's before/after row */
  legacyThreads?: boolean;
  /** run with this seed instead of settings.seed (the demo's repeated runs); recorded in run.json */
  seed?: number;
  /** the batch job running this call (the CLI sets it from SLURM_JOB_ID); recorded in run.json */
  job?: { scheduler: 'slurm'; id: string };
}
