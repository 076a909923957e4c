// What a run leaves in `.tldr/runs/<id>/run.json`, as zod schemas: the engine writes it (through
// its run store), the worker and the CLI read it back validated, and the host receives it typed.
// The metrics types every layer uses are inferred from here.
import { z } from 'zod';

/** An accuracy; NaN where nothing was measured (a group with no rows), which JSON writes as null. */
const fraction = z
  .number()
  .nullable()
  .transform((v) => v ?? NaN);

export const groupMetricSchema = z.object({ label: z.string(), spurious: z.string(), n: z.number(), accuracy: fraction });
export type GroupMetric = z.infer<typeof groupMetricSchema>;

export const headMetricsSchema = z.object({
  groups: z.array(groupMetricSchema),
  worstGroup: fraction,
  /** group accuracies weighted by the train split's group shares (as the reference), or by the split's own when train has no spurious labels */
  average: fraction,
  averageOver: z.enum(['train-mix', 'split-mix']).default('train-mix'),
  classBalanced: fraction,
  /** plain accuracy over the split's own mix */
  overall: fraction,
});
export type HeadMetrics = z.infer<typeof headMetricsSchema>;

/** Which val groups the DFR reference was fit on. */
export const DFR_GROUPINGS = ['val-groups', 'pseudo-groups'] as const;

export const splitMetricsSchema = z.object({
  erm: headMetricsSchema,
  tldr: headMetricsSchema,
  /** fit on val, so reported on test only */
  dfr: headMetricsSchema.optional(),
  dfrGroups: z.enum(DFR_GROUPINGS).optional(),
  /** CLIP zero-shot with the class anchor prompts on the split's images */
  clipZeroShot: headMetricsSchema.optional(),
});
export type SplitMetrics = z.infer<typeof splitMetricsSchema>;

export const runMetricsSchema = z.object({ val: splitMetricsSchema.optional(), test: splitMetricsSchema.optional() });
export type RunMetrics = z.infer<typeof runMetricsSchema>;

/**
 * How a run ended. `interrupted` is never written: readers give it to a record still saying
 * `running` whose process is gone from this host (killed, crashed, machine restarted).
 */
export const RUN_STATUSES = ['succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** The split a run is judged on: test when it was evaluated, else val. */
export function headlineSplit(metrics: RunMetrics): 'test' | 'val' | undefined {
  return metrics.test ? 'test' : metrics.val ? 'val' : undefined;
}

const retrainResolvedSchema = z.object({
  preset: z.enum(['converge', 'reference']),
  optimizer: z.enum(['adamw', 'sgd']),
  lr: z.number(),
  batchSize: z.number(),
  epochs: z.number(),
  examplesPerEpoch: z.number(),
  /** reference preset: optimiser steps in all (the official epoch's), drawn as repeated downsampled passes */
  steps: z.number().optional(),
  sampling: z.enum(['balanced-with-replacement', 'downsample']),
  templateAugmentation: z.boolean(),
  weightDecay: z.array(z.number()),
});
export type RetrainResolved = z.infer<typeof retrainResolvedSchema>;

/** The settings the run actually used, after defaults and presets. */
export const runSettingsSchema = z.object({
  seed: z.number(),
  lambda: z.array(z.number()),
  selection: z.enum(['auto', 'val-groups', 'pseudo-groups', 'class-balanced', 'worst-class']),
  ablations: z.object({ noGapConstraint: z.boolean(), noWordFilter: z.boolean(), noTemplates: z.boolean() }),
  relu: z.enum(['auto', 'on', 'off']),
  normalize: z.enum(['none', 'clip']),
  templates: z.enum(['openai80', 'neutral']),
  batchSize: z.number(),
  retrain: retrainResolvedSchema,
});
export type RunSettings = z.infer<typeof runSettingsSchema>;

export const runCountsSchema = z.object({
  images: z.number(),
  encoded: z.number(),
  cached: z.number(),
  train: z.number(),
  val: z.number(),
  test: z.number(),
  words: z.number().optional(),
  promptsEncoded: z.number().optional(),
});

export const gapRecordSchema = z.object({ source: z.enum(['captions', 'train-class-prompts']), pairs: z.number(), norm: z.number() });

export const SELECTION_USED = ['val-groups', 'pseudo-groups', 'class-balanced', 'worst-class', 'none'] as const;
export type SelectionUsed = (typeof SELECTION_USED)[number];

export const pseudoLabelRecordSchema = z.object({
  /** val rows given each spurious value by CLIP zero-shot */
  counts: z.array(z.object({ value: z.string(), n: z.number() })),
  /** when val has true spurious labels: the share of rows whose pseudo-label is right, overall and per true value */
  agreement: z.number().optional(),
  perValue: z.array(z.object({ value: z.string(), n: z.number(), agreement: z.number() })).optional(),
  /** how each value's prototype was built */
  prototypes: z.array(z.object({ value: z.string(), words: z.number() })),
});
export type PseudoLabelRecord = z.infer<typeof pseudoLabelRecordSchema>;

export const selectionRecordSchema = z.object({
  /** what settings.selection asked for and what ran (auto resolves to one of the others) */
  requested: z.string(),
  mode: z.enum(SELECTION_USED),
  /** why this mode ran, in words */
  reason: z.string(),
  /** the val score that chose, in words, e.g. "val worst pseudo-group accuracy" */
  on: z.string(),
  candidates: z.array(
    z.object({
      lambda: z.number(),
      weightDecay: z.number(),
      /** the selection score on val */
      valScore: z.number().optional(),
      /** worst-group accuracy on val with true groups, when val has them (reported, not used unless mode is val-groups) */
      valWorstGroup: z.number().optional(),
      finalLoss: z.number().optional(),
      collapsed: z.boolean().optional(),
    }),
  ),
  chosen: z.object({ lambda: z.number(), weightDecay: z.number() }),
  /** lambdas left out because with them some class had no accepted target word */
  skippedLambdas: z.array(z.number()).optional(),
  pseudoLabels: pseudoLabelRecordSchema.optional(),
});

export const runWarningSchema = z.object({
  code: z.enum(['collapsed-head', 'gap-from-training-images', 'no-selection', 'pseudo-groups-degenerate', 'artifact-not-written']),
  message: z.string(),
  /** what to change */
  fix: z.string(),
});
export type RunWarning = z.infer<typeof runWarningSchema>;

export const dfrRecordSchema = z.object({
  groups: z.enum(DFR_GROUPINGS),
  chosenC: z.number(),
  cGrid: z.array(z.number()),
  tuning: z.array(z.object({ C: z.number(), heldoutWorstGroup: z.number(), nonZeroWeights: z.number() })),
  scaler: z.enum(['train', 'val']),
  finalSubsets: z.number(),
  subsetSize: z.number(),
  nonZeroWeights: z.number(),
  converged: z.boolean(),
});

/** The onnxruntime threads a run used (every session of the run gets the same). */
export const threadsRecordSchema = z.object({
  /** intra-op threads per session; null = left to onnxruntime's default (the engine before issue 15) */
  intraOpThreads: z.number().nullable(),
  /** where the number came from: the CLI's --threads, the experiment's settings.threads, the editor's tldr.onnx.threads, os.availableParallelism() */
  source: z.enum(['cli', 'slurm', 'experiment', 'setting', 'cores', 'onnxruntime-default']),
  /** os.availableParallelism() on the machine that ran it */
  cores: z.number(),
  /** how the classifier and CLIP's vision tower share the cores while encoding images */
  models: z.enum(['in-turn', 'side-by-side']),
  /** sharp's (libvips') threads per image operation while decoding beside the models */
  imageDecoding: z.number(),
});
export type ThreadsRecord = z.infer<typeof threadsRecordSchema>;

/** One example of the Results tab's per-group gallery: an image of the headline split and both heads' predictions. */
export const galleryImageSchema = z.object({
  /** absolute path of the image */
  path: z.string(),
  /** true class */
  label: z.string(),
  /** class the ERM head (the model as given) predicts */
  erm: z.string(),
  /** class the retrained TLDR head predicts */
  tldr: z.string(),
});
export type GalleryImage = z.infer<typeof galleryImageSchema>;

/** A few images per group (class x spurious value) of the headline split; rows where the heads disagree first. */
export const runGallerySchema = z.object({
  split: z.enum(['val', 'test']),
  /** the most images kept per group */
  perGroup: z.number(),
  groups: z.array(
    z.object({
      label: z.string(),
      spurious: z.string(),
      /** rows of the group in the split */
      n: z.number(),
      /** rows of the group whose ERM and TLDR predictions differ */
      changed: z.number(),
      images: z.array(galleryImageSchema),
    }),
  ),
});
export type RunGallery = z.infer<typeof runGallerySchema>;

export const runJsonSchema = z.object({
  runId: z.string(),
  /** absolute path of the experiment file */
  experiment: z.string(),
  configHash: z.string(),
  seed: z.number(),
  versions: z.record(z.string(), z.string()),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  /** the process that runs it, so a reader can tell a run whose process died */
  pid: z.number(),
  host: z.string().optional(),
  /** the batch job that ran it, e.g. a Slurm job id (a run on another host is judged by its record, not its pid) */
  job: z.object({ scheduler: z.literal('slurm'), id: z.string() }).optional(),
  status: z.enum(['running', ...RUN_STATUSES]),
  error: z.string().optional(),
  settings: runSettingsSchema.optional(),
  timings: z.record(z.string(), z.number()).optional(),
  threads: threadsRecordSchema.optional(),
  counts: runCountsSchema.optional(),
  gap: gapRecordSchema.optional(),
  relu: z.boolean().optional(),
  selection: selectionRecordSchema.optional(),
  dfr: dfrRecordSchema.optional(),
  warnings: z.array(runWarningSchema).optional(),
  modelHashes: z.record(z.string(), z.string()).optional(),
  metrics: runMetricsSchema.optional(),
  /** per-group examples of the headline split (image sources only; absent in runs before it and for precomputed embeddings) */
  gallery: runGallerySchema.optional(),
  artifacts: z.array(z.string()).optional(),
});
export type RunJson = z.infer<typeof runJsonSchema>;

/** Artifacts of a run folder, by file name. */
export const ARTIFACTS = {
  record: 'run.json',
  model: 'model.debiased.onnx',
  head: 'head.safetensors',
  projector: 'projector.safetensors',
  trainEmbeddings: 'train-embeddings.safetensors',
  scores: 'scores.json',
  report: 'report.md',
} as const;

/** What `encode --shard I/N` leaves in `.tldr/shards/<planHash>/<I>-of-<N>.json`. */
export const shardRecordSchema = z.object({
  /** absolute path of the experiment file */
  experiment: z.string(),
  /** hash of the sorted image list every shard cuts from: shards of one plan fit together */
  planHash: z.string(),
  index: z.number(),
  count: z.number(),
  /** images in the whole plan, and this shard's slice [start, end) of them */
  total: z.number(),
  start: z.number(),
  end: z.number(),
  images: z.number(),
  encoded: z.number(),
  cached: z.number(),
  unreadable: z.number(),
  host: z.string(),
  pid: z.number(),
  startedAt: z.string(),
  finishedAt: z.string(),
  /** the shard's images, relative to the experiment's folder */
  paths: z.array(z.string()),
});
export type ShardRecord = z.infer<typeof shardRecordSchema>;
