// The world spec: everything that makes one demo world differ from another. A new world is a
// new JSON file that parses with `worldSpecSchema`; the generator has no world-specific code.
import { z } from 'zod';

const hex = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour is "#rrggbb"');
const name = z
  .string()
  .trim()
  .min(1)
  .regex(/^[a-z][a-z0-9 -]*$/, 'names are lowercase words (they become CLIP vocabulary)');
const range = z.tuple([z.number(), z.number()]).refine(([a, b]) => a <= b, 'range is [min, max]');

export const markingSchema = z.enum(['none', 'breast', 'cap', 'bars', 'spots', 'mask', 'wingtip', 'stripe']);
export const textureSchema = z.enum([
  'trees',
  'grass',
  'dunes',
  'stalks',
  'waves',
  'ripples',
  'flow',
  'reeds',
  'tiles',
  'cloth',
  'shelves',
  'checks',
]);

/** One kind of object (a bird species, a fruit...), drawn from a few ellipses and strokes. Lengths in pixels at scale 1. */
export const kindSchema = z
  .object({
    name,
    class: name.describe('one of task.classes'),
    aliases: z.array(name).default([]).describe('synonyms used in pretrain captions (so CLIP knows them)'),
    shape: z
      .object({
        body: z.tuple([z.number().positive(), z.number().positive()]).describe('body ellipse radii [rx, ry]'),
        head: z.number().nonnegative().describe('head radius; 0 for no head'),
        neck: z.number().nonnegative().default(0).describe('neck length'),
        beak: z.tuple([z.number().nonnegative(), z.number().nonnegative()]).default([3, 1.5]).describe('[length, half width]'),
        legs: z.number().nonnegative().default(0),
        tail: z.number().nonnegative().default(0),
        upright: z.number().default(0).describe('body tilt in degrees (positive: head up)'),
      })
      .strict(),
    colors: z
      .object({ body: hex, wing: hex, head: hex, beak: hex, legs: hex.default('#3a3a3a'), marking: hex.default('#000000') })
      .strict(),
    marking: markingSchema.default('none'),
  })
  .strict();
export type KindSpec = z.infer<typeof kindSchema>;

/** One background scene; its `value` is the spurious attribute value it carries. */
export const sceneSchema = z
  .object({
    name,
    value: name.describe('one of task.spurious.values'),
    aliases: z.array(name).default([]),
    texture: textureSchema,
    colors: z.object({ sky: hex, base: hex, alt: hex, accent: hex }).strict(),
  })
  .strict();
export type SceneSpec = z.infer<typeof sceneSchema>;

const groupMatrix = z.array(z.array(z.number().int().nonnegative())).describe('images per [class][spurious value]');

export const splitSchema = z.discriminatedUnion('role', [
  z
    .object({
      name,
      role: z.literal('metadata').describe('a row of metadata.csv: train/val/test'),
      code: z.number().int().nonnegative().describe('metadata.csv split column (Waterbirds: 0 train, 1 val, 2 test)'),
      groups: groupMatrix,
    })
    .strict(),
  z
    .object({
      name,
      role: z
        .enum(['pretrain', 'captions'])
        .describe('pretrain: <name>.csv with several captions per image; captions: captions.csv, one per image'),
      perCombo: z.number().int().positive().describe('images per kind x scene'),
      captionsPerImage: z.number().int().positive().default(1),
    })
    .strict(),
]);
export type SplitSpec = z.infer<typeof splitSchema>;

export const worldSpecSchema = z
  .object({
    name,
    seed: z.number().int().nonnegative(),
    task: z
      .object({
        classes: z.array(name).min(2),
        spurious: z.object({ name, values: z.array(name).min(2) }).strict(),
        targetAnchors: z.array(z.string().min(1)),
        spuriousAnchors: z.array(z.string().min(1)),
        neutralPrompt: z.string().includes('{}').default('a photo of a {}.'),
      })
      .strict(),
    image: z
      .object({
        size: z.number().int().min(16).max(256).default(64),
        objectScale: range.default([0.8, 1.2]),
        tilt: z.number().nonnegative().default(15).describe('max rotation in degrees'),
        noise: z.number().nonnegative().default(0.03).describe('pixel noise std (0..1 scale)'),
        colorJitter: z.number().nonnegative().default(0.06),
      })
      .strict()
      .default(() => ({ size: 64, objectScale: [0.8, 1.2] as [number, number], tilt: 15, noise: 0.03, colorJitter: 0.06 })),
    kinds: z.array(kindSchema).min(2),
    scenes: z.array(sceneSchema).min(2),
    captionTemplates: z
      .array(z.string().min(1))
      .min(1)
      .describe('pretrain/captions phrasings; placeholders {kind} {scene} {class} {value} (kind and scene may draw an alias)'),
    splits: z.array(splitSchema).min(1),
  })
  .strict()
  .superRefine((w, ctx) => {
    const t = w.task;
    const issue = (message: string, path: (string | number)[]) => ctx.addIssue({ code: 'custom', message, path });
    if (t.targetAnchors.length !== t.classes.length) issue('one target anchor per class', ['task', 'targetAnchors']);
    if (t.spuriousAnchors.length !== t.spurious.values.length) issue('one spurious anchor per value', ['task', 'spuriousAnchors']);
    w.kinds.forEach((k, i) => {
      if (!t.classes.includes(k.class)) issue(`unknown class "${k.class}"`, ['kinds', i, 'class']);
    });
    w.scenes.forEach((s, i) => {
      if (!t.spurious.values.includes(s.value)) issue(`unknown spurious value "${s.value}"`, ['scenes', i, 'value']);
    });
    t.classes.forEach((c) => {
      if (!w.kinds.some((k) => k.class === c)) issue(`class "${c}" has no kind`, ['kinds']);
    });
    t.spurious.values.forEach((v) => {
      if (!w.scenes.some((s) => s.value === v)) issue(`spurious value "${v}" has no scene`, ['scenes']);
    });
    const names = new Set<string>();
    w.splits.forEach((s, i) => {
      if (names.has(s.name)) issue(`duplicate split "${s.name}"`, ['splits', i, 'name']);
      names.add(s.name);
      if (s.role === 'metadata') {
        const ok = s.groups.length === t.classes.length && s.groups.every((row) => row.length === t.spurious.values.length);
        if (!ok) issue(`groups must be ${t.classes.length} x ${t.spurious.values.length}`, ['splits', i, 'groups']);
      }
    });
    if (w.splits.filter((s) => s.role === 'captions').length > 1) issue('at most one captions split', ['splits']);
  });
export type WorldSpec = z.infer<typeof worldSpecSchema>;

/** The messy stand-in for an LLM answer: words per class and per spurious value. */
export const demoWordsSchema = z
  .object({
    targets: z.record(z.string(), z.array(z.string())),
    spurious: z.record(z.string(), z.array(z.string())),
  })
  .strict();
export type DemoWords = z.infer<typeof demoWordsSchema>;

export function parseWorldSpec(json: unknown): WorldSpec {
  return worldSpecSchema.parse(json);
}
