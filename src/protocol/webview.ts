// Messages between the experiment editor's webview and the extension host: one zod schema
// per direction, so both sides validate what arrives (invalid messages are dropped and logged).
// No 'vscode' import: the webview bundle and the unit tests use this file too.
import { z } from 'zod';
import { WORD_LIST_KINDS } from './events';
import {
  galleryImageSchema,
  headlineSplit,
  RUN_STATUSES,
  runGallerySchema,
  runWarningSchema,
  splitMetricsSchema,
  type RunJson,
} from './runRecord';
import { CLIP_VARIANTS } from '../experiment/schema';

export const wordListKindSchema = z.enum(WORD_LIST_KINDS);

/** A word as typed by the user: trimmed, non-empty, no line breaks, bounded. */
export const wordTextSchema = z
  .string()
  .trim()
  .min(1, 'a word must not be empty')
  .max(200, 'a word must be at most 200 characters')
  .refine((s) => !/[\r\n]/.test(s), 'a word must be on one line');

/** Points at one entry; `text` is what the webview showed, so a stale index is detected. */
const wordRef = {
  list: wordListKindSchema,
  group: z.string().min(1),
  index: z.number().int().nonnegative(),
  text: z.string(),
};

export const wordEditSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('add'), list: wordListKindSchema, group: z.string().min(1), text: wordTextSchema }).strict(),
  z.object({ op: z.literal('update'), ...wordRef, newText: wordTextSchema }).strict(),
  z.object({ op: z.literal('delete'), ...wordRef }).strict(),
  z.object({ op: z.literal('lock'), ...wordRef, locked: z.boolean() }).strict(),
]);
export type WordEdit = z.infer<typeof wordEditSchema>;

export const SETUP_FIELD_IDS = ['clip', 'classifier', 'train', 'val', 'test', 'captions'] as const;
export const setupFieldIdSchema = z.enum(SETUP_FIELD_IDS);
export type SetupFieldId = z.infer<typeof setupFieldIdSchema>;

/** A grouping of discovered keywords into values of one spurious attribute, as the Discover tab sends it. */
export const groupingSchema = z
  .object({
    name: z.string().trim().max(200),
    values: z.array(z.object({ name: z.string().trim().max(200), words: z.array(wordTextSchema).max(1000) }).strict()).max(50),
  })
  .strict();

const scope = { list: wordListKindSchema.optional(), group: z.string().min(1).optional() };

/** The Setup tab's option edits: models.clip.variant and models.classifier.preprocessing.resample. */
export const setupOptionSchema = z.discriminatedUnion('option', [
  z.object({ option: z.literal('clipVariant'), value: z.enum(['auto', ...CLIP_VARIANTS]) }).strict(),
  z.object({ option: z.literal('resample'), value: z.enum(['bicubic', 'bilinear']) }).strict(),
]);
export type SetupOption = z.infer<typeof setupOptionSchema>;

export const webviewToHostSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }).strict(),
  z.object({ type: z.literal('edit'), edit: wordEditSchema }).strict(),
  z.object({ type: z.literal('removeFailing'), ...scope }).strict(),
  z.object({ type: z.literal('scoreWords') }).strict(),
  z.object({ type: z.literal('generateWords'), ...scope }).strict(),
  z.object({ type: z.literal('pickPath'), field: setupFieldIdSchema }).strict(),
  z.object({ type: z.literal('setPath'), field: setupFieldIdSchema, value: z.string().trim().min(1).max(4096) }).strict(),
  z.object({ type: z.literal('checkSetup') }).strict(),
  z.object({ type: z.literal('setOption'), set: setupOptionSchema }).strict(),
  z.object({ type: z.literal('startRun') }).strict(),
  z.object({ type: z.literal('openArtifact'), what: z.enum(['report', 'model']), runId: z.string().min(1) }).strict(),
  z.object({ type: z.literal('log'), level: z.enum(['info', 'warn', 'error']), message: z.string().max(10_000) }).strict(),
  z.object({ type: z.literal('discover'), words: z.array(wordTextSchema).max(1000) }).strict(),
  z.object({ type: z.literal('applyGrouping'), grouping: groupingSchema }).strict(),
]);
export type WebviewToHost = z.infer<typeof webviewToHostSchema>;

// ---- host -> webview
// Engine data passes through here: unknown extra fields are stripped rather than rejected.

const wordEntryViewSchema = z.object({ text: z.string(), source: z.enum(['llm', 'user']), locked: z.boolean() });
export type WordEntryView = z.infer<typeof wordEntryViewSchema>;

const setupFieldViewSchema = z.object({
  id: setupFieldIdSchema,
  label: z.string(),
  /** what the picker selects */
  kind: z.enum(['file', 'folder']),
  /** the path as written in the file; '' when absent */
  value: z.string(),
  optional: z.boolean(),
});
export type SetupFieldView = z.infer<typeof setupFieldViewSchema>;

export const docStateSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    fileName: z.string(),
    name: z.string().optional(),
    classes: z.array(z.string()),
    spuriousName: z.string(),
    spuriousValues: z.array(z.string()),
    words: z.object({
      targets: z.record(z.string(), z.array(wordEntryViewSchema)),
      spurious: z.record(z.string(), z.array(wordEntryViewSchema)),
    }),
    setup: z.array(setupFieldViewSchema),
    /** models.clip.variant ('auto' when absent) and the classifier's resample ('bicubic' when absent), as written */
    options: z.object({ clipVariant: z.string(), resample: z.string() }),
    /** schema problems (the words are still editable); undefined when the file is valid */
    problems: z.string().optional(),
  }),
  z.object({ ok: z.literal(false), fileName: z.string(), error: z.string() }),
]);
export type DocState = z.infer<typeof docStateSchema>;

export const wordScoreSchema = z.object({
  list: wordListKindSchema,
  group: z.string(),
  index: z.number().int().nonnegative(),
  text: z.string(),
  clipMargin: z.number(),
  logitMargin: z.number().optional(),
  pass: z.boolean(),
  reason: z.string().optional(),
});

/** A variant a CLIP folder offers (protocol/proposal's ClipVariantOption). */
export const clipVariantOptionSchema = z.object({
  variant: z.enum(CLIP_VARIANTS),
  layout: z.enum(['split', 'single']),
  textModel: z.string(),
  visionModel: z.string(),
});

export const setupCheckSchema = z.object({
  id: z.string(),
  label: z.string(),
  status: z.enum(['ok', 'warn', 'error']),
  message: z.string(),
});

/** run.json's gallery as the webview sees it: each image's path becomes a webview URI (src) and a file name. */
export const galleryViewSchema = runGallerySchema.omit({ perGroup: true, groups: true }).extend({
  groups: z.array(
    runGallerySchema.shape.groups.element.omit({ images: true }).extend({
      images: z.array(galleryImageSchema.omit({ path: true }).extend({ src: z.string(), name: z.string() })),
    }),
  ),
});
export type GalleryView = z.infer<typeof galleryViewSchema>;

export const resultViewSchema = z.object({
  runId: z.string(),
  status: z.enum(RUN_STATUSES),
  split: z.enum(['val', 'test']).nullable(),
  metrics: splitMetricsSchema.nullable(),
  /** how lambda and weight decay were chosen */
  selection: z
    .object({
      mode: z.string(),
      on: z.string(),
      reason: z.string(),
      chosen: z.object({ lambda: z.number(), weightDecay: z.number() }),
      pseudoAgreement: z.number().optional(),
    })
    .optional(),
  warnings: z.array(runWarningSchema).optional(),
  error: z.string().optional(),
  hasReport: z.boolean(),
  hasModel: z.boolean(),
  /** per-group examples of the headline split (image sources only) */
  gallery: galleryViewSchema.optional(),
});
export type ResultView = z.infer<typeof resultViewSchema>;

/** The Discover tab's view of a discovery: the top keywords per class, thumbnails as webview URIs. */
export const discoveryViewSchema = z.object({
  createdAt: z.string(),
  seconds: z.number(),
  level: z.number(),
  scored: z.number().int(),
  skipped: z.number().int(),
  sources: z.record(z.string(), z.number().int()),
  warnings: z.array(z.string()),
  classes: z.array(
    z.object({
      class: z.string(),
      correct: z.number().int(),
      misclassified: z.number().int(),
      note: z.string().optional(),
      keywords: z.array(
        z.object({
          keyword: z.string(),
          sources: z.array(z.string()),
          score: z.number(),
          ci: z.tuple([z.number(), z.number()]),
          misclassifiedImages: z.array(z.object({ src: z.string(), name: z.string(), predicted: z.string() })),
          correctImages: z.array(z.object({ src: z.string(), name: z.string(), predicted: z.string() })),
        }),
      ),
    }),
  ),
});
export type DiscoveryView = z.infer<typeof discoveryViewSchema>;

export const jobViewSchema = z.object({
  kind: z.enum(['score', 'run', 'generate', 'demo', 'discover']),
  label: z.string(),
  /** 0..100 over the whole job; undefined when unknown */
  percent: z.number().min(0).max(100).optional(),
  message: z.string().optional(),
});
export type JobView = z.infer<typeof jobViewSchema>;

export const hostToWebviewSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('document'), doc: docStateSchema }),
  z.object({ type: z.literal('context'), trusted: z.boolean() }),
  /** lambda: the projector the logit margins used (a run's chosen one, or the one `score` picked) */
  z.object({ type: z.literal('scores'), scores: z.array(wordScoreSchema), lambda: z.number().optional() }),
  z.object({ type: z.literal('job'), job: jobViewSchema.nullable() }),
  z.object({ type: z.literal('setup'), checks: z.array(setupCheckSchema).nullable(), error: z.string().optional() }),
  z.object({ type: z.literal('results'), result: resultViewSchema.nullable() }),
  /** the variants the CLIP folder offers; null while unknown (not read yet, Restricted Mode, no folder) */
  z.object({ type: z.literal('clipVariants'), variants: z.array(clipVariantOptionSchema).nullable(), error: z.string().optional() }),
  z.object({ type: z.literal('notice'), level: z.enum(['info', 'warn', 'error']), message: z.string() }),
  z.object({ type: z.literal('discovery'), discovery: discoveryViewSchema.nullable() }),
]);
export type HostToWebview = z.infer<typeof hostToWebviewSchema>;

export type Parsed<T> = { ok: true; message: T } | { ok: false; error: string };

function parseWith<T>(schema: z.ZodType<T>, raw: unknown): Parsed<T> {
  const r = schema.safeParse(raw);
  if (r.success) return { ok: true, message: r.data };
  const first = r.error.issues[0];
  const where = first ? first.path.map(String).join('.') : '';
  return { ok: false, error: `${where ? where + ': ' : ''}${first?.message ?? 'invalid message'}` };
}

export const parseWebviewMessage = (raw: unknown): Parsed<WebviewToHost> => parseWith(webviewToHostSchema, raw);
export const parseHostMessage = (raw: unknown): Parsed<HostToWebview> => parseWith(hostToWebviewSchema, raw);

/** The Results tab's view of a run summary (its headline split, how it chose, what went wrong). */
export function resultView(
  s: {
    runId: string;
    status: ResultView['status'];
    metrics: RunJson['metrics'];
    selection?: RunJson['selection'];
    warnings?: RunJson['warnings'];
    error?: string;
  },
  artifacts: { hasReport: boolean; hasModel: boolean },
): ResultView {
  const metrics = s.metrics ?? {};
  const split = headlineSplit(metrics) ?? null;
  const sel = s.selection;
  return {
    runId: s.runId,
    status: s.status,
    split,
    metrics: split ? metrics[split]! : null,
    ...(sel
      ? {
          selection: {
            mode: sel.mode,
            on: sel.on,
            reason: sel.reason,
            chosen: sel.chosen,
            ...(sel.pseudoLabels?.agreement !== undefined ? { pseudoAgreement: sel.pseudoLabels.agreement } : {}),
          },
        }
      : {}),
    ...(s.warnings?.length ? { warnings: s.warnings } : {}),
    ...(s.error ? { error: s.error } : {}),
    ...artifacts,
  };
}
