// What a caller of the engine can set for one call (the CLI, the worker, the benchmark).
import type { EventSink } from '../protocol/events';

export interface EngineOptions {
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** default: <experiment folder>/.tldr/cache */
  cacheDir?: string;
  /** onnxruntime execution provider; 'cpu' everywhere this ships */
  executionProvider?: string;
  /** onnxruntime's intra-op threads for the models (the CLI sets it from SLURM_CPUS_PER_TASK in a Slurm job) */
  threads?: number;
  /** run with this seed instead of settings.seed (the demo's repeated runs); recorded in run.json */
  seed?: number;
  /** the batch job running this call (the CLI sets it from SLURM_JOB_ID); recorded in run.json */
  job?: { scheduler: 'slurm'; id: string };
}
