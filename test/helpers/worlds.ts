// A small experiment on any committed world (birds, fruit-small, fruit-3): the world's trained
// tiny models, its spec with the sizes a test asks for, its word file. Every experiment made in
// one folder shares the generated images and the embedding cache (.tldr/cache beside the files),
// so repeated runs only pay for the projector and the head.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateWorld } from '../../src/engine/demo/generator';
import { demoWordsSchema, parseWorldSpec } from '../../src/engine/demo/spec';
import { demoAssetsDir, installWorldModels, worldExperiment } from '../../src/engine/demo/experiment';
import { repoRoot } from './paths';

export const WORLDS = ['birds', 'fruit-small', 'fruit-3'] as const;
export type WorldName = (typeof WORLDS)[number];

/** The trained models of a world: the demo ships birds; the others are test fixtures. */
export const worldModelsDir = (world: WorldName): string =>
  world === 'birds' ? demoAssetsDir() : path.join(repoRoot, 'test', 'fixtures', 'worlds', world);

const specPath = (world: WorldName, suffix = '.json') => path.join(repoRoot, 'src', 'engine', 'demo', 'worlds', world + suffix);

export interface WorldExperimentOptions {
  /** images per [class][spurious value] for train, val and test; default: the spec's */
  groups?: Partial<Record<'train' | 'val' | 'test', number[][]>>;
  /** caption images per kind x scene; default: the spec's */
  captionsPerCombo?: number;
  /** the experiment's settings (default: none, i.e. the schema's defaults) */
  settings?: Record<string, unknown>;
  /** the experiment file's name in dir; default `<world>.tldr.json` */
  file?: string;
}

/**
 * Writes dir/models (the world's models), dir/world (its images: train, val, test, captions;
 * pretrain is for training the models only) and dir/<file>. Returns the experiment file.
 */
export async function makeWorldExperiment(dir: string, world: WorldName, opts: WorldExperimentOptions = {}): Promise<string> {
  const spec = parseWorldSpec(JSON.parse(fs.readFileSync(specPath(world), 'utf8')));
  const words = demoWordsSchema.parse(JSON.parse(fs.readFileSync(specPath(world, '.words.json'), 'utf8')));
  spec.splits = spec.splits
    .filter((s) => s.role !== 'pretrain')
    .map((s) => {
      if (s.role === 'metadata') return { ...s, groups: opts.groups?.[s.name as 'train' | 'val' | 'test'] ?? s.groups };
      return opts.captionsPerCombo ? { ...s, perCombo: opts.captionsPerCombo } : s;
    });
  const pre = await installWorldModels(worldModelsDir(world), dir);
  await generateWorld(spec, path.join(dir, 'world'));
  const exp = worldExperiment(spec, words, pre, `${world} (test world)`);
  if (opts.settings) exp.settings = opts.settings as typeof exp.settings;
  const file = path.join(dir, opts.file ?? `${world}.tldr.json`);
  fs.writeFileSync(file, JSON.stringify(exp, null, 2));
  return file;
}

/**
 * A copy of the experiment `file` (in the same folder, so images and cache are shared) with
 * `edit` applied to its JSON.
 */
export function experimentVariant(file: string, name: string, edit: (e: any) => void): string {
  const e = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(e);
  const out = path.join(path.dirname(file), `${name}.tldr.json`);
  fs.writeFileSync(out, JSON.stringify(e, null, 2));
  return out;
}

/**
 * Edit for experimentVariant: val read from a manifest without the spurious column (the
 * val rows of world/metadata.csv, path and label only), as a user without group labels has it.
 */
export function hideValSpurious(e: any, dir: string): void {
  const rows = fs
    .readFileSync(path.join(dir, 'world', 'metadata.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','))
    .filter((c) => c[2] === '1');
  fs.writeFileSync(path.join(dir, 'world', 'val-no-spurious.csv'), ['path,label', ...rows.map((c) => `${c[0]},${c[1]}`)].join('\n') + '\n');
  e.data.val = { manifest: 'world/val-no-spurious.csv' };
}
