// The engine's hot paths, one by one, for the benchmark (bench/run.mjs): exported through api.ts
// as `kernels`, so the benchmark measures exactly the code a run executes without reaching
// around the engine's door. Not for the CLI, the worker or the extension: they run experiments.
import * as path from 'node:path';
import { classifierSchema, clipSchema, type LoadedExperiment } from '../experiment';
import { createStepContext } from './steps/context';
import { loadClassifier, loadClipModels } from './steps/models';
import type { EngineOptions } from './options';
import { chooseThreads, type ModelSchedule } from './onnxSession';

export { EmbeddingCache } from './cache';
export { encodeImages } from './images/encodeImages';
export { chooseThreads, encodeSchedule, threadsRecord, ortSessionOptions } from './onnxSession';
export { OPENAI_IMAGENET_TEMPLATES } from './text/templates';
export { fitProjector, fitProjectorAsync } from './math/projector';
export { createRng, shuffle } from './math/rng';
export { trainLinearHead } from './math/linearHead';
export { buildTextSet } from './text/textSet';
export { tuneDfrC, fitDfrFinal, fitStandardScaler, balancedSubset, WATERBIRDS_C_GRID } from './math/dfr';

/**
 * The classifier and CLIP as a run loads them (image encoders for encodeImages, CLIP's text
 * side), from the experiment file's `models.classifier` and `models.clip` objects (paths
 * absolute). `threads`/`legacyThreads` as EngineOptions (the CLI's strength).
 */
export async function loadImageModels(
  models: { classifier: unknown; clip: unknown },
  opts: Pick<EngineOptions, 'cacheDir' | 'threads' | 'legacyThreads'> & { cacheDir: string; models?: ModelSchedule },
) {
  const experiment = {
    models: { classifier: classifierSchema.parse(models.classifier), clip: clipSchema.parse(models.clip) },
    settings: {},
  };
  const loaded = { file: path.join(opts.cacheDir, 'bench.tldr.json'), experiment, resolve: (p: string) => path.resolve(p) };
  const ctx = createStepContext(loaded as unknown as LoadedExperiment, {
    cacheDir: opts.cacheDir,
    ...(opts.threads ? { threads: opts.threads, threadsSource: 'cli' as const } : {}),
    legacyThreads: opts.legacyThreads,
  });
  // 'in-turn' gives every session exactly opts.threads (the benchmark's onnxruntime references)
  if (opts.models)
    ctx.threads = chooseThreads({ caller: opts.threads, callerSource: 'cli', legacyThreads: opts.legacyThreads, models: opts.models });
  const [classifier, clip] = await Promise.all([loadClassifier(ctx), loadClipModels(ctx)]);
  return {
    classifier,
    clip,
    threads: ctx.threads,
    release: async () => {
      await Promise.all([classifier.release(), clip.model.release()]);
    },
  };
}
