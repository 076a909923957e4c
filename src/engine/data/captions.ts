// Caption pairs for the modality gap: a CSV or JSONL of (image, caption) rows, or a COCO captions
// file (captions_val2014.json: images [{id, file_name}], annotations [{image_id, caption}]).
// The gap uses a seeded random sample of the pairs, as the reference draws random COCO
// annotations, never the first rows of a file (often sorted by image or by source).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../../shared/errors';
import { createRng, deriveSeed } from '../math/rng';
import { readCaptionPairs } from './manifest';
import { listProblems, type CaptionPair } from './records';

export type CaptionFormat = 'auto' | 'csv' | 'jsonl' | 'coco';

export interface CaptionSourceOptions {
  /** absolute path of the caption file */
  path: string;
  format: CaptionFormat;
  /** absolute folder the image names are relative to */
  root?: string;
  limit: number;
}

const COCO_NAME = /^captions_(\w+)\.json$/i;

/** COCO's layout: annotations/captions_val2014.json beside val2014/. Else the file's own folder. */
export function cocoImagesFolder(file: string): string {
  const split = COCO_NAME.exec(path.basename(file))?.[1];
  const beside = split && path.join(path.dirname(path.dirname(file)), split);
  return beside && fs.existsSync(beside) ? beside : path.dirname(file);
}

interface CocoFile {
  images?: { id?: unknown; file_name?: unknown }[];
  annotations?: { image_id?: unknown; caption?: unknown; bbox?: unknown }[];
}

/** Every annotation of a COCO captions file as a pair, in file order. */
export function readCocoCaptions(file: string, root = cocoImagesFolder(file)): CaptionPair[] {
  let coco: CocoFile;
  try {
    coco = JSON.parse(fs.readFileSync(file, 'utf8')) as CocoFile;
  } catch (err) {
    throw new InputError(`${file}: cannot read it as JSON (${(err as Error).message}).`);
  }
  const { images, annotations } = coco ?? {};
  if (!Array.isArray(images) || !Array.isArray(annotations))
    throw new InputError(
      `${file}: not a COCO captions file: it needs "images" [{id, file_name}] and "annotations" [{image_id, caption}], as captions_val2014.json has.`,
    );
  if (annotations.length && typeof annotations[0]?.caption !== 'string')
    throw new InputError(
      `${file}: its annotations have no "caption"${annotations[0]?.bbox ? ' (this is a COCO instances file)' : ''}. Use the captions file, e.g. annotations/captions_val2014.json.`,
    );
  const names = new Map(images.map((im) => [im.id, im.file_name]));
  const unknown: string[] = [];
  const pairs = annotations.flatMap((a, i) => {
    const name = names.get(a.image_id);
    if (typeof name !== 'string' || typeof a.caption !== 'string') {
      unknown.push(
        `annotation ${i}: image_id ${JSON.stringify(a.image_id)}${typeof name === 'string' ? ' has no caption' : ' is not in "images"'}`,
      );
      return [];
    }
    return [{ path: path.join(root, name), caption: a.caption.trim() }];
  });
  if (unknown.length) throw listProblems(file, unknown, 'annotations cannot be paired with an image', 'Use the captions file as released.');
  if (!pairs.length) throw new InputError(`${file}: has no caption annotations.`);
  return pairs;
}

/** `limit` items drawn without replacement, seeded, kept in file order; all of them when there are fewer. */
export function sampleCaptionPairs<T>(items: T[], limit: number, seed: number): T[] {
  if (items.length <= limit) return items;
  const rng = createRng(deriveSeed(seed, 'caption-sample'));
  const order = items.map((_, i) => i);
  for (let i = 0; i < limit; i++) {
    const j = i + rng.int(order.length - i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order
    .slice(0, limit)
    .sort((a, b) => a - b)
    .map((i) => items[i]);
}

/** The seeded sample of a caption source, with its images checked. */
export function readCaptionSource(opts: CaptionSourceOptions, seed: number): CaptionPair[] {
  const coco = opts.format === 'coco' || (opts.format === 'auto' && /\.json$/i.test(opts.path));
  const all = coco ? readCocoCaptions(opts.path, opts.root) : readCaptionPairs(opts.path, opts.root);
  const pairs = sampleCaptionPairs(all, opts.limit, seed);
  const missing = [...new Set(pairs.map((p) => p.path))].filter((p) => !fs.existsSync(p));
  if (missing.length)
    throw listProblems(
      opts.path,
      missing,
      'caption images are missing',
      coco
        ? `Set "root" to the COCO images folder (looked in ${opts.root ?? cocoImagesFolder(opts.path)}), or restore the files.`
        : 'Restore the files, fix the paths, or set "root".',
    );
  return pairs;
}
