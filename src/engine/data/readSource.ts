// One entry point from the experiment's data section to records: each data-source form goes to
// its reader, with paths resolved against the experiment file.
import type { DataSource, Experiment, Task } from '../../experiment';
import { readCaptionSource } from './captions';
import { readCelebA } from './celeba';
import { readImageFolder } from './imageFolder';
import { readManifest } from './manifest';
import type { CaptionPair, ImageRecord } from './records';

type Resolve = (p: string) => string;

/** The images of a data source, or undefined for precomputed embeddings. */
export function readImageSource(source: DataSource, task: Task, resolve: Resolve): ImageRecord[] | undefined {
  if ('manifest' in source)
    return readManifest(resolve(source.manifest), task, {
      format: source.format,
      root: source.root && resolve(source.root),
      split: source.split,
    });
  if ('imageFolder' in source) return readImageFolder(resolve(source.imageFolder), task, { split: source.split });
  if ('celeba' in source)
    return readCelebA(resolve(source.celeba), task, {
      target: source.target,
      spurious: source.spurious,
      split: source.split,
      images: source.root && resolve(source.root),
    });
  return undefined;
}

/** The seeded sample of caption pairs the gap uses. */
export function readCaptions(captions: NonNullable<Experiment['data']['captions']>, resolve: Resolve, seed: number): CaptionPair[] {
  return readCaptionSource(
    { path: resolve(captions.path), format: captions.format, root: captions.root && resolve(captions.root), limit: captions.limit },
    seed,
  );
}
