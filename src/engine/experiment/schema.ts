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

export const embeddingSourceSchema = z
  .object({
    embeddings: z.string().min(1).describe('safetensors with clip [N,d], features [N,D], optional labels [N] and spurious [N]'),
  })
  .strict();

export const dataSourceSchema = z.union([manifestSourceSchema, embeddingSourceSchema]);
export type DataSource = z.infer<typeof dataSourceSchema>;

export const captionsSchema = z
  .object({
    path: z.string().min(1).describe('CSV or JSONL of (image, caption) pairs'),
    root: z.string().optional(),
    limit: z.number().int().positive().default(1000).describe("pairs used for the gap, as the reference's n_gap_estimates"),
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

export const retrainSchema = z
  .object({
    preset: z
      .enum(['converge', 'reference'])
      .default('converge')
      .describe('converge: full-batch-like training to convergence; reference: one AdamW epoch, lr 1e-4, batch 128'),
    optimizer: z.enum(['adamw', 'sgd']).default('adamw'),
    lr: z.number().positive().default(1e-3),
    weightDecay: z
      .array(z.number().nonnegative())
      .min(1)
      .default([0, 1e-4, 1e-3, 1e-2])
      .describe('candidates; chosen on val groups when val has them'),
    batchSize: z.number().int().positive().default(128),
    epochs: z.number().int().positive().default(100),
    examplesPerEpoch: z.number().int().positive().default(4096).describe('group-balanced examples drawn per epoch'),
    templateAugmentation: z.boolean().default(true),
  })
  .strict();

export const settingsSchema = z
  .object({
    seed: z.number().int().nonnegative().default(0),
    lambda: z
      .array(z.number().positive())
      .min(1)
      .default([50])
      .describe('projector ridge lambda candidates; chosen on val groups when val has them'),
    relu: z
      .enum(['auto', 'on', 'off'])
      .default('auto')
      .describe('ReLU on the projection; auto: on when the classifier features are non-negative'),
    normalize: z.enum(['none', 'clip']).default('none').describe("the reference's preprocess_embed"),
    templates: z.enum(['openai80', 'neutral']).default('openai80'),
    batchSize: z.number().int().positive().default(32).describe('images per onnxruntime batch'),
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
export type WordListKind = keyof WordLists;
