// What a run leaves in `.tldr/runs/<id>/run.json`, as zod schemas: the engine writes it (through
// its run store), the worker and the CLI read it back validated, and the host receives it typed.
// The metrics types every layer uses are inferred from here.
import { z } from 'zod';

export const groupMetricSchema = z.object({ label: z.string(), spurious: z.string(), n: z.number(), accuracy: z.number() });
export type GroupMetric = z.infer<typeof groupMetricSchema>;

export const headMetricsSchema = z.object({
  groups: z.array(groupMetricSchema),
  worstGroup: z.number(),
  /** weighted by the train split's group shares, as the reference */
  average: z.number(),
  classBalanced: z.number(),
  /** plain accuracy over the split's own mix */
  overall: z.number(),
});
export type HeadMetrics = z.infer<typeof headMetricsSchema>;

export const splitMetricsSchema = z.object({ erm: headMetricsSchema, tldr: headMetricsSchema, dfr: headMetricsSchema.optional() });
export type SplitMetrics = z.infer<typeof splitMetricsSchema>;

export const runMetricsSchema = z.object({ val: splitMetricsSchema.optional(), test: splitMetricsSchema.optional() });
export type RunMetrics = z.infer<typeof runMetricsSchema>;

export const RUN_STATUSES = ['succeeded', 'failed', 'cancelled'] as const;
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
  sampling: z.enum(['balanced-with-replacement', 'downsample']),
  templateAugmentation: z.boolean(),
  weightDecay: z.array(z.number()),
});
export type RetrainResolved = z.infer<typeof retrainResolvedSchema>;

/** The settings the run actually used, after defaults and presets. */
export const runSettingsSchema = z.object({
  seed: z.number(),
  lambda: z.array(z.number()),
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

export const selectionRecordSchema = z.object({
  on: z.string(),
  candidates: z.array(
    z.object({ lambda: z.number(), weightDecay: z.number(), valWorstGroup: z.number().optional(), finalLoss: z.number().optional() }),
  ),
  chosen: z.object({ lambda: z.number(), weightDecay: z.number() }),
});

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
  status: z.enum(['running', ...RUN_STATUSES]),
  error: z.string().optional(),
  settings: runSettingsSchema.optional(),
  timings: z.record(z.string(), z.number()).optional(),
  counts: runCountsSchema.optional(),
  gap: gapRecordSchema.optional(),
  relu: z.boolean().optional(),
  selection: selectionRecordSchema.optional(),
  modelHashes: z.record(z.string(), z.string()).optional(),
  metrics: runMetricsSchema.optional(),
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
