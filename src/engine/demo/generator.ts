// Writes a demo world to disk: PNG images per split (png.ts), a Waterbirds-style metadata.csv
// for the metadata splits (train/val/test), captions.csv for the captions split, <name>.csv for
// pretrain.
//
// metadata.csv columns, exactly as Waterbirds: img_filename,y,split,place
//   img_filename  path relative to the output folder, e.g. train/00012_duck_ocean.png
//   y             class index into spec.task.classes
//   split         the split's `code` (Waterbirds: 0 train, 1 val, 2 test)
//   place         spurious value index into spec.task.spurious.values
// captions.csv: image,caption (one per image). pretrain CSV: image,caption,y,place,kind,scene
// (captionsPerImage rows per image).
//
// Deterministic: each image draws from its own rng derived from (spec.seed, split, index), so
// the same spec gives the same bytes whatever the concurrency. Existing images are not redrawn.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRng, deriveSeed, shuffle, type Rng } from '../math/rng';
import { writeFileAtomic } from '../../shared/atomicWrite';
import { encodePngRgb } from './png';
import { renderImage } from './render';
import type { KindSpec, SceneSpec, SplitSpec, WorldSpec } from './spec';
import { throwIfAborted } from '../../shared/errors';

export interface WorldItem {
  split: string;
  /** relative to the output folder, '/' separated */
  file: string;
  y: number;
  place: number;
  kind: string;
  scene: string;
  captions: string[];
  seed: number;
}

export interface GenerateOptions {
  /** split names to write (default: all in the spec) */
  splits?: string[];
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** images encoded at once (default 8) */
  concurrency?: number;
}

export interface GenerateResult {
  outDir: string;
  written: number;
  skipped: number;
  /** images per split */
  counts: Record<string, number>;
  /** absolute paths of the CSV files written this call */
  metadata?: string;
  captions?: string;
  pretrain: Record<string, string>;
}

const slug = (s: string) => s.replace(/[^a-z0-9]+/g, '-');

function pick<T>(items: T[], rng: Rng): T {
  return items[rng.int(items.length)];
}

export function fillCaption(template: string, kind: KindSpec, scene: SceneSpec, rng: Rng): string {
  return template
    .replace(/\{kind\}/g, () => pick([kind.name, ...kind.aliases], rng))
    .replace(/\{scene\}/g, () => pick([scene.name, ...scene.aliases], rng))
    .replace(/\{class\}/g, kind.class)
    .replace(/\{value\}/g, scene.value);
}

/** Every image of the requested splits, in a fixed order, without drawing anything. */
export function planWorld(world: WorldSpec, splits?: string[]): WorldItem[] {
  const wanted = splits ?? world.splits.map((s) => s.name);
  for (const name of wanted) {
    if (!world.splits.some((s) => s.name === name)) throw new Error(`world "${world.name}" has no split "${name}"`);
  }
  const classes = world.task.classes;
  const values = world.task.spurious.values;
  const items: WorldItem[] = [];
  for (const split of world.splits.filter((s) => wanted.includes(s.name))) {
    const rng = createRng(deriveSeed(world.seed, `plan/${split.name}`));
    const draws: { kind: KindSpec; scene: SceneSpec }[] = [];
    if (split.role === 'metadata') {
      split.groups.forEach((row, y) =>
        row.forEach((n, place) => {
          const kinds = world.kinds.filter((k) => k.class === classes[y]);
          const scenes = world.scenes.filter((s) => s.value === values[place]);
          for (let i = 0; i < n; i++) draws.push({ kind: pick(kinds, rng), scene: pick(scenes, rng) });
        }),
      );
    } else {
      for (const kind of world.kinds)
        for (const scene of world.scenes) for (let i = 0; i < split.perCombo; i++) draws.push({ kind, scene });
    }
    shuffle(draws, rng);
    const width = Math.max(5, String(draws.length).length);
    draws.forEach(({ kind, scene }, i) => {
      const captions =
        split.role === 'metadata'
          ? []
          : Array.from({ length: split.captionsPerImage }, () => fillCaption(pick(world.captionTemplates, rng), kind, scene, rng));
      items.push({
        split: split.name,
        file: `${split.name}/${String(i).padStart(width, '0')}_${slug(kind.name)}_${slug(scene.name)}.png`,
        y: classes.indexOf(kind.class),
        place: values.indexOf(scene.value),
        kind: kind.name,
        scene: scene.name,
        captions,
        seed: deriveSeed(world.seed, `image/${split.name}/${i}`),
      });
    });
  }
  return items;
}

/** PNG bytes of one planned image. */
export function renderItem(world: WorldSpec, item: WorldItem): Buffer {
  const kind = world.kinds.find((k) => k.name === item.kind)!;
  const scene = world.scenes.find((s) => s.name === item.scene)!;
  const size = world.image.size;
  return encodePngRgb(renderImage(world, kind, scene, createRng(item.seed)), size, size);
}

const csvField = (v: string | number) => {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csv = (header: string[], rows: (string | number)[][]) => [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';

async function writeIfChanged(file: string, text: string): Promise<void> {
  const old = await fs.promises.readFile(file, 'utf8').catch(() => undefined);
  if (old !== text) await writeFileAtomic(file, text);
}

export async function generateWorld(world: WorldSpec, outDir: string, opts: GenerateOptions = {}): Promise<GenerateResult> {
  const items = planWorld(world, opts.splits);
  const splitsDone = new Set(items.map((i) => i.split));
  for (const s of splitsDone) await fs.promises.mkdir(path.join(outDir, s), { recursive: true });
  let written = 0;
  let skipped = 0;
  let done = 0;
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      throwIfAborted(opts.signal);
      const item = items[next++];
      const target = path.join(outDir, ...item.file.split('/'));
      if (fs.existsSync(target)) skipped++;
      else {
        await writeFileAtomic(target, renderItem(world, item));
        written++;
      }
      opts.onProgress?.(++done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker));
  throwIfAborted(opts.signal);

  const result: GenerateResult = { outDir, written, skipped, counts: {}, pretrain: {} };
  for (const s of splitsDone) result.counts[s] = items.filter((i) => i.split === s).length;
  const splitOf = (name: string) => world.splits.find((s) => s.name === name) as SplitSpec;
  const metaRows = items.filter((i) => splitOf(i.split).role === 'metadata');
  if (metaRows.length) {
    const code = (i: WorldItem) => (splitOf(i.split) as Extract<SplitSpec, { role: 'metadata' }>).code;
    result.metadata = path.join(outDir, 'metadata.csv');
    await writeIfChanged(
      result.metadata,
      csv(
        ['img_filename', 'y', 'split', 'place'],
        metaRows.map((i) => [i.file, i.y, code(i), i.place]),
      ),
    );
  }
  const capRows = items.filter((i) => splitOf(i.split).role === 'captions');
  if (capRows.length) {
    result.captions = path.join(outDir, 'captions.csv');
    await writeIfChanged(
      result.captions,
      csv(
        ['image', 'caption'],
        capRows.flatMap((i) => i.captions.map((c) => [i.file, c])),
      ),
    );
  }
  for (const s of world.splits.filter((s) => s.role === 'pretrain' && splitsDone.has(s.name))) {
    const rows = items.filter((i) => i.split === s.name).flatMap((i) => i.captions.map((c) => [i.file, c, i.y, i.place, i.kind, i.scene]));
    result.pretrain[s.name] = path.join(outDir, `${s.name}.csv`);
    await writeIfChanged(result.pretrain[s.name], csv(['image', 'caption', 'y', 'place', 'kind', 'scene'], rows));
  }
  return result;
}
