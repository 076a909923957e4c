// The one source of truth for the `*.tldr.json` experiment file. The JSON Schema the
// manifest contributes (schemas/experiment.schema.json) is generated from this file.
import { z } from 'zod';

export const wordEntrySchema = z
  .object({
    text: z.string().trim().min(1, 'a word must not be empty'),
    source: z.enum(['llm', 'user']).default('user'),
    locked: z.boolean().optional(),
  })
  .strict();
export type WordEntry = z.infer<typeof wordEntrySchema>;

const nonEmptyName = z.string().trim().min(1);

export const taskSchema = z
  .object({
    classes: z.array(nonEmptyName).min(2, 'a task needs at least two classes'),
    spurious: z
      .object({
        name: nonEmptyName.describe('the spurious attribute, e.g. "background"'),
        values: z.array(nonEmptyName).min(2, 'a spurious attribute needs at least two values'),
      })
      .strict(),
    targetAnchors: z.array(z.string().min(1)).describe('one CLIP anchor prompt per class, e.g. "a photo of a landbird."'),
    spuriousAnchors: z.array(z.string().min(1)).describe('one CLIP anchor prompt per spurious value'),
    neutralPrompt: z
      .string()
      .includes('{}', { message: 'the neutral prompt must contain {} where the word goes' })
      .default('a photo of a {}.'),
    lowercaseWords: z.boolean().default(true).describe('lowercase words before prompting, as the reference does'),
  })
  .strict();

const ioNames = z
  .object({
    inputIds: z.string().optional(),
    attentionMask: z.string().optional(),
    textEmbeds: z.string().optional(),
    pixelValues: z.string().optional(),
    imageEmbeds: z.string().optional(),
  })
  .strict();

/** The transformers.js file variants: `text_model.onnx` is fp32, `text_model_<variant>.onnx` the others. */
export const CLIP_VARIANTS = ['fp32', 'fp16', 'quantized', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'] as const;

export const clipSchema = z
  .object({
    dir: z.string().min(1).describe('a folder with a CLIP export: Hugging Face / transformers.js or optimum-cli layout'),
    variant: z
      .enum(['auto', ...CLIP_VARIANTS])
      .default('auto')
      .describe(
        'which transformers.js file variant to load (model_fp16.onnx, ..._quantized.onnx, ...); auto: the most precise one present',
      ),
    textModel: z.string().optional().describe('the text tower, relative to dir (default: found in dir, e.g. onnx/text_model.onnx)'),
    visionModel: z.string().optional().describe('the vision tower, relative to dir (default: found in dir, e.g. onnx/vision_model.onnx)'),
    model: z.string().optional().describe('one file holding both towers, relative to dir (default: found in dir, e.g. model.onnx)'),
    tokenizer: z.string().default('tokenizer.json'),
    preprocessor: z.string().default('preprocessor_config.json'),
    names: ioNames.default({}).describe('override the detected input and output names'),
  })
  .strict();

export const preprocessingSchema = z
  .object({
    resize: z.number().int().positive().default(256).describe('shortest edge after resizing'),
    crop: z.number().int().positive().default(224).describe('centre crop size'),
    mean: z.tuple([z.number(), z.number(), z.number()]).default([0.485, 0.456, 0.406]),
    std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).default([0.229, 0.224, 0.225]),
    resample: z
      .enum(['bicubic', 'bilinear'])
      .default('bicubic')
      .describe('resizing filter; torchvision models are trained with bilinear, timm and CLIP mostly with bicubic'),
  })
  .strict();

export const classifierSchema = z
  .object({
    path: z.string().min(1).describe('ONE ONNX file of the whole classifier, logits as output'),
    preprocessing: preprocessingSchema.default(() => preprocessingSchema.parse({})),
    input: z.string().optional().describe('override the image input name'),
    logits: z.string().optional().describe('override the logits output name'),
  })
  .strict();

export const manifestSourceSchema = z
  .object({
    manifest: z.string().min(1).describe('CSV, JSONL, or a Waterbirds metadata.csv'),
    format: z.enum(['auto', 'csv', 'jsonl', 'waterbirds']).default('auto'),
    root: z.string().optional().describe("folder the image paths are relative to (default: the manifest's folder)"),
    split: z.string().optional().describe('keep only rows of this split (Waterbirds: train, val, test; or 0, 1, 2)'),
  })
  .strict();

export const imageFolderSourceSchema = z
  .object({
    imageFolder: z
      .string()
      .min(1)
      .describe(
        "a folder of class folders, <folder>/<class>/*.jpg, as torchvision's ImageFolder reads it; folder names are class names (any case) or indices",
      ),
    split: z.string().optional().describe('the split folder to read, for <folder>/<split>/<class>/ (e.g. train, val, test)'),
  })
  .strict();

export const celebaSourceSchema = z
  .object({
    celeba: z
      .string()
      .min(1)
      .describe("the CelebA folder: list_attr_celeba.txt, list_eval_partition.txt and img_align_celeba/ (or the Kaggle copy's CSV files)"),
    target: z.string().min(1).describe('the attribute that is the class, e.g. "Blond_Hair": -1 is task.classes[0], 1 is task.classes[1]'),
    spurious: z
      .string()
      .min(1)
      .optional()
      .describe('the spurious attribute, e.g. "Male": -1 is task.spurious.values[0], 1 is task.spurious.values[1]'),
    split: z.enum(['train', 'val', 'test']).optional().describe('keep only this split of list_eval_partition.txt'),
    root: z.string().optional().describe('folder of the images (default: img_align_celeba in the CelebA folder)'),
  })
  .strict();

export const embeddingSourceSchema = z
  .object({
    embeddings: z.string().min(1).describe('safetensors with clip [N,d], features [N,D], optional labels [N] and spurious [N]'),
  })
  .strict();

const SOURCE_KINDS = ['manifest', 'imageFolder', 'celeba', 'embeddings'] as const;

/** A failed union says only "Invalid input": name the form the key chooses, and that form's own problems. */
function sourceError(issue: { input?: unknown; errors?: { path: PropertyKey[]; message: string }[][] }): string {
  const input = issue.input;
  const kinds = SOURCE_KINDS.filter((k) => typeof input === 'object' && input !== null && k in input);
  if (kinds.length !== 1)
    return `a data source needs exactly one of ${SOURCE_KINDS.map((k) => `"${k}"`).join(', ')}${kinds.length ? `; this one has ${kinds.join(' and ')}` : ''}`;
  const problems = (issue.errors?.[SOURCE_KINDS.indexOf(kinds[0])] ?? []).map((p) => {
    const message = p.message.endsWith('received undefined') ? 'required' : p.message;
    return p.path.length ? `${p.path.join('.')}: ${message}` : message;
  });
  return `the "${kinds[0]}" form: ${problems.join('; ')}`;
}

export const dataSourceSchema = z.union([manifestSourceSchema, imageFolderSourceSchema, celebaSourceSchema, embeddingSourceSchema], {
  error: sourceError,
});
export type DataSource = z.infer<typeof dataSourceSchema>;

/** Caption pairs used for the modality gap when the experiment sets no `limit`. */
export const DEFAULT_CAPTION_PAIRS = 1000;

export const captionsSchema = z
  .object({
    path: z.string().min(1).describe('CSV or JSONL of (image, caption) pairs, or a COCO captions file such as captions_val2014.json'),
    format: z.enum(['auto', 'csv', 'jsonl', 'coco']).default('auto').describe('auto: COCO for .json, else by extension'),
    root: z
      .string()
      .optional()
      .describe(
        "folder the image paths are relative to (default: the file's folder; for COCO, the <split> folder beside annotations/, e.g. val2014)",
      ),
    limit: z
      .number()
      .int()
      .positive()
      .default(DEFAULT_CAPTION_PAIRS)
      .describe("pairs used for the gap: a random sample seeded by settings.seed, as the reference's n_gap_estimates"),
  })
  .strict();

export const dataSchema = z
  .object({
    train: dataSourceSchema,
    val: dataSourceSchema.optional(),
    test: dataSourceSchema.optional(),
    captions: captionsSchema.optional(),
  })
  .strict();

/**
 * The default projector lambda candidates, chosen with settings.selection. Kept after measuring
 * single lambda 50 vs this grid on the birds demo, fruit-small and fruit-3 (3 seeds, val-groups and
 * pseudo-groups, peak RSS of both): docs/measurements/lambda-grid.md.
 */
export const DEFAULT_LAMBDA_GRID = [1, 5, 20, 50, 200, 1000] as const;

export const retrainSchema = z
  .object({
    preset: z
      .enum(['converge', 'reference'])
      .default('converge')
      .describe(
        "converge: group-balanced draws for many epochs, to convergence (works with a few hundred word pairs); reference: the official script's optimiser (AdamW, lr 1e-4, weight decay 1e-4, batch 128, groups downsampled to the smallest) for the number of steps its one epoch over the official Waterbirds lists takes (about 1250), however small your word lists are",
      ),
    optimizer: z.enum(['adamw', 'sgd']).default('adamw'),
    lr: z.number().positive().default(1e-3),
    weightDecay: z
      .array(z.number().nonnegative())
      .min(1)
      .default([0, 1e-4, 1e-3, 1e-2])
      .describe('candidates, chosen with settings.selection'),
    batchSize: z.number().int().positive().default(128),
    epochs: z.number().int().positive().default(100),
    examplesPerEpoch: z.number().int().positive().default(4096).describe('group-balanced examples drawn per epoch'),
    templateAugmentation: z.boolean().default(true),
  })
  .strict();

/** How a candidate (projector lambda x weight decay) is chosen on the val split. */
export const SELECTION_MODES = ['auto', 'val-groups', 'pseudo-groups', 'class-balanced', 'worst-class'] as const;

export const ablationsSchema = z
  .object({
    noGapConstraint: z.boolean().default(false).describe('fit the projector as plain ridge regression, without G W = 0'),
    noWordFilter: z.boolean().default(false).describe('train on every word, also those that fail validation (scores are still reported)'),
    noTemplates: z.boolean().default(false).describe('embed words with the neutral prompt only, not the 80 templates'),
  })
  .strict();

export const settingsSchema = z
  .object({
    seed: z.number().int().nonnegative().default(0),
    lambda: z
      .array(z.number().positive())
      .min(1)
      .default([...DEFAULT_LAMBDA_GRID])
      .describe('projector ridge lambda candidates, chosen with settings.selection'),
    selection: z
      .enum(SELECTION_MODES)
      .default('auto')
      .describe(
        'how lambda and weight decay are chosen on val: val-groups (worst-group accuracy, needs spurious labels on every val row), pseudo-groups (worst-group accuracy over groups whose spurious value CLIP assigns from the spurious anchors and words; needs class labels only), class-balanced (mean per-class accuracy), worst-class (lowest per-class accuracy); auto = val-groups when every val row has a spurious label, otherwise pseudo-groups',
      ),
    ablations: ablationsSchema
      .default(() => ablationsSchema.parse({}))
      .describe('switches that turn off parts of the method, for research'),
    relu: z
      .enum(['auto', 'on', 'off'])
      .default('auto')
      .describe('ReLU on the projection; auto: on when the classifier features are non-negative'),
    normalize: z.enum(['none', 'clip']).default('none').describe("the reference's preprocess_embed"),
    templates: z.enum(['openai80', 'neutral']).default('openai80'),
    batchSize: z.number().int().positive().default(32).describe('images per onnxruntime batch'),
    threads: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe(
        "onnxruntime intra-op threads per model for this experiment; 0 or absent = the editor's tldr.onnx.threads, else every core (os.availableParallelism()). The CLI's --threads wins",
      ),
    skipUnreadable: z
      .boolean()
      .default(false)
      .describe('leave out images that cannot be read or decoded (listed in the log, counted in run.json) instead of stopping the run'),
    exifOrientation: z
      .enum(['ignore', 'apply'])
      .default('ignore')
      .describe(
        "ignore: pixels as stored, as PIL and torchvision's loader read them; apply: turned as the EXIF Orientation tag says (ImageOps.exif_transpose)",
      ),
    retrain: retrainSchema.default(() => retrainSchema.parse({})),
  })
  .strict();

export const experimentSchema = z
  .object({
    $schema: z.string().optional(),
    version: z.literal(1).default(1),
    name: z.string().optional(),
    task: taskSchema,
    models: z.object({ clip: clipSchema, classifier: classifierSchema }).strict(),
    data: dataSchema,
    words: z
      .object({
        targets: z.record(z.string(), z.array(wordEntrySchema)),
        spurious: z.record(z.string(), z.array(wordEntrySchema)),
      })
      .strict(),
    settings: settingsSchema.default(() => settingsSchema.parse({})),
  })
  .strict()
  .superRefine((exp, ctx) => {
    const t = exp.task;
    if (t.targetAnchors.length !== t.classes.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['task', 'targetAnchors'],
        message: `needs one anchor per class (${t.classes.length}), has ${t.targetAnchors.length}`,
      });
    }
    if (t.spuriousAnchors.length !== t.spurious.values.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['task', 'spuriousAnchors'],
        message: `needs one anchor per spurious value (${t.spurious.values.length}), has ${t.spuriousAnchors.length}`,
      });
    }
    for (const [key, names] of [
      ['targets', t.classes],
      ['spurious', t.spurious.values],
    ] as const) {
      const lists = exp.words[key];
      for (const name of names) {
        if (!(name in lists))
          ctx.addIssue({ code: 'custom', path: ['words', key, name], message: `missing word list for "${name}": add "${name}": []` });
      }
      for (const name of Object.keys(lists)) {
        if (!names.includes(name))
          ctx.addIssue({
            code: 'custom',
            path: ['words', key, name],
            message: `"${name}" is not one of ${JSON.stringify(names)}: rename or remove this list`,
          });
      }
    }
  });

export type Experiment = z.infer<typeof experimentSchema>;
export type ExperimentInput = z.input<typeof experimentSchema>;
export type Settings = Experiment['settings'];
export type Task = Experiment['task'];
export type WordLists = Experiment['words'];
