// What every step gets: the experiment, the event sink, the abort signal, the cache, and
// helpers that turn work into typed events (step start/end with timings, progress, logs).
import type { EngineEvent, LogLevel, StepId } from '../../protocol/events';
import type { LoadedExperiment } from '../../experiment';
import { EmbeddingCache } from '../cache';
import { defaultCacheDir } from '../runs/store';
import { throwIfAborted } from '../../shared/errors';

const PROGRESS_MS = 100;

export interface StepContext {
  loaded: LoadedExperiment;
  signal?: AbortSignal;
  cache: EmbeddingCache;
  executionProvider?: string;
  threads?: number;
  emit(event: EngineEvent): void;
  log(level: LogLevel, message: string, step?: StepId): void;
  progress(step: StepId, done: number, total: number, message?: string): void;
  /** run one step, reporting start, end and its duration; returns the step's value */
  step<T>(id: StepId, fn: () => Promise<T>, detail?: (value: T) => string | undefined): Promise<T>;
  timings: Partial<Record<StepId, number>>;
}

export function createStepContext(
  loaded: LoadedExperiment,
  opts: { onEvent?: (e: EngineEvent) => void; signal?: AbortSignal; cacheDir?: string; executionProvider?: string; threads?: number },
): StepContext {
  const emit = (e: EngineEvent) => opts.onEvent?.(e);
  const timings: Partial<Record<StepId, number>> = {};
  // Progress is sent at most every PROGRESS_MS per step (and always at the end of a step's
  // work): a warm cache finishes hundreds of batches a second, and every event crosses a
  // process boundary to reach the editor.
  const lastProgress = new Map<StepId, number>();
  const ctx: StepContext = {
    loaded,
    signal: opts.signal,
    cache: new EmbeddingCache(opts.cacheDir ?? defaultCacheDir(loaded.file)),
    executionProvider: opts.executionProvider,
    threads: opts.threads,
    emit,
    log: (level, message, step) => emit({ type: 'log', level, message, step }),
    progress: (step, done, total, message) => {
      const now = performance.now();
      if (done < total && now - (lastProgress.get(step) ?? -Infinity) < PROGRESS_MS) return;
      lastProgress.set(step, now);
      emit({ type: 'progress', step, done, total, message });
    },
    timings,
    async step(id, fn, detail) {
      throwIfAborted(opts.signal);
      emit({ type: 'step-start', step: id });
      const t0 = performance.now();
      const value = await fn();
      const seconds = (performance.now() - t0) / 1000;
      timings[id] = (timings[id] ?? 0) + seconds;
      emit({ type: 'step-end', step: id, status: 'done', seconds, detail: detail?.(value) });
      return value;
    },
  };
  return ctx;
}
