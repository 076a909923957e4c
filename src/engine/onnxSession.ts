// The one place that creates onnxruntime sessions (the classifier, both CLIP towers, the
// projector's double-precision products, anything added later), so every session gets the
// same execution provider and the same, chosen, thread count.
//
// onnxruntime's own default for intra-op threads follows the physical cores, which is one on
// many virtual machines (2 logical cores here): left alone, every model ran on one thread. The
// engine sets intraOpNumThreads to os.availableParallelism() unless the user set a number (the
// CLI's --threads, the experiment's settings.threads, the editor's tldr.onnx.threads).
// While encoding images the classifier and CLIP's vision tower are given their batches together,
// each session with all the threads; onnxruntime-node runs every inference on the JS thread, so
// they still execute one after the other (bench/README.md, "Threads" and "Encoding: what was tried").
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import { InputError } from '../shared/errors';
import type { ThreadsRecord } from '../protocol/runRecord';

/** Where the thread count came from, in the order that wins. */
export const THREAD_SOURCES = ['cli', 'slurm', 'experiment', 'setting', 'cores', 'onnxruntime-default'] as const;
export type ThreadSource = (typeof THREAD_SOURCES)[number];

export interface ThreadChoice {
  /** intra-op threads of every session; null = left to onnxruntime (legacy only) */
  intraOpThreads: number | null;
  source: ThreadSource;
  /** os.availableParallelism() when the choice was made */
  cores: number;
  /** how the classifier and CLIP's vision tower share the threads while encoding images (see MODEL_SCHEDULE) */
  models: ModelSchedule;
}

export type ModelSchedule = 'in-turn' | 'side-by-side';

export interface SessionOptions {
  executionProvider?: string;
  threads?: ThreadChoice;
}

/**
 * The threads every session gets. `caller` is the number the CLI (--threads) or the editor
 * (tldr.onnx.threads) passed; `experiment` the experiment file's settings.threads. 0 or
 * undefined means "not set". `legacyThreads` reproduces the engine before the choice (threads
 * left to onnxruntime's default): the benchmark's before/after row only.
 */
export function chooseThreads(
  o: {
    caller?: number;
    callerSource?: 'cli' | 'slurm' | 'setting';
    experiment?: number;
    legacyThreads?: boolean;
    models?: ModelSchedule;
  } = {},
): ThreadChoice {
  const cores = os.availableParallelism();
  if (o.legacyThreads) return { intraOpThreads: null, source: 'onnxruntime-default', cores, models: 'in-turn' };
  const models = o.models ?? MODEL_SCHEDULE;
  const set = (n: number | undefined) => n !== undefined && n > 0;
  if ((o.callerSource === 'cli' || o.callerSource === 'slurm') && set(o.caller))
    return { intraOpThreads: o.caller!, source: o.callerSource, cores, models };
  if (set(o.experiment)) return { intraOpThreads: o.experiment!, source: 'experiment', cores, models };
  if (set(o.caller)) return { intraOpThreads: o.caller!, source: o.callerSource ?? 'setting', cores, models };
  return { intraOpThreads: cores, source: 'cores', cores, models };
}

/** The options handed to InferenceSession.create. */
export function ortSessionOptions(opts: SessionOptions = {}): ort.InferenceSession.SessionOptions {
  const threads = opts.threads ?? chooseThreads();
  return {
    executionProviders: [opts.executionProvider ?? 'cpu'],
    graphOptimizationLevel: 'all',
    ...(threads.intraOpThreads !== null
      ? {
          intraOpNumThreads: threads.intraOpThreads,
          // one graph at a time per session: the inter-op pool would only compete with the intra-op one
          interOpNumThreads: 1,
          executionMode: 'sequential' as const,
          // idle pool threads sleep instead of spinning: on a shared machine a spinning thread
          // takes the core its partner (or sharp's decoder) needs (bench/README.md, "Threads")
          extra: { session: { intra_op: { allow_spinning: '0' } } },
        }
      : {}),
  };
}

export type SessionObserver = (label: string, options: ort.InferenceSession.SessionOptions) => void;
const observers = new Set<SessionObserver>();

/** Called with the options of every session created from now on (tests, diagnostics); returns the unsubscribe. */
export function observeSessions(fn: SessionObserver): () => void {
  observers.add(fn);
  return () => observers.delete(fn);
}

export async function createSession(model: string | Uint8Array, label: string, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  const options = ortSessionOptions(opts);
  for (const fn of observers) fn(label, options);
  try {
    return await ort.InferenceSession.create(model as never, options);
  } catch (err) {
    throw new InputError(
      `${label}: onnxruntime cannot load this model (${(err as Error).message.split('\n')[0]}). Check that it is a valid ONNX file exported with opset <= 21.`,
    );
  }
}

export const ortVersion = (): string => ort.env.versions?.common ?? 'unknown';

/**
 * How encodeImages hands a batch to the classifier and CLIP's vision tower: one after the other
 * ('in-turn') or both at once ('side-by-side'). onnxruntime-node runs each inference on the JS
 * thread, so both execute in turn either way; side by side measured as fast or faster
 * (bench/README.md, "Threads").
 */
export const MODEL_SCHEDULE: ModelSchedule = 'side-by-side';

/** sharp's threads per image operation; decoding of the next batch overlaps the models' work. */
export const IMAGE_DECODING_THREADS = 1;

/** What run.json records of the threads a run used. */
export function threadsRecord(choice: ThreadChoice): ThreadsRecord {
  const legacy = choice.intraOpThreads === null;
  return {
    intraOpThreads: choice.intraOpThreads,
    source: choice.source,
    cores: choice.cores,
    models: choice.models,
    imageDecoding: legacy ? choice.cores : IMAGE_DECODING_THREADS,
  };
}

/** encodeImages' schedule for a run's thread choice (the legacy choice keeps the old one: in turn, sharp's default). */
export function encodeSchedule(choice: ThreadChoice): { models: ModelSchedule; imageDecoding?: number } {
  if (choice.intraOpThreads === null) return { models: 'in-turn' };
  return { models: choice.models, imageDecoding: IMAGE_DECODING_THREADS };
}
