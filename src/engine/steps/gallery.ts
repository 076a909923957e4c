// The Results tab's per-group examples: for each group (class x spurious value) of the headline
// split, a few images with the ERM and the TLDR head's predictions. Rows where the heads disagree
// come first (they show what changed), then the others; the draw is seeded, so a run's gallery is
// reproducible. Only image sources have paths: precomputed embeddings give no gallery.
import type { RunGallery } from '../../protocol/runRecord';
import { createRng, deriveSeed, shuffle } from '../math/rng';

/** images per group in run.json */
export const GALLERY_PER_GROUP = 6;

export interface GalleryInput {
  split: 'val' | 'test';
  /** absolute image path per row; undefined for precomputed embeddings */
  paths: readonly string[] | undefined;
  labels: Int32Array;
  /** spurious value per row, -1 when unknown (such rows belong to no group) */
  spurious: Int32Array;
  erm: Int32Array;
  tldr: Int32Array;
  classes: readonly string[];
  spuriousValues: readonly string[];
  seed: number;
  perGroup?: number;
}

export function pickGallery(input: GalleryInput): RunGallery | undefined {
  const { paths, labels, spurious, erm, tldr, classes, spuriousValues } = input;
  const perGroup = input.perGroup ?? GALLERY_PER_GROUP;
  const n = labels.length;
  if (!paths || paths.length !== n || n === 0 || perGroup <= 0) return undefined;
  const S = spuriousValues.length;
  const rows: number[][] = Array.from({ length: classes.length * S }, () => []);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    const s = spurious[i];
    if (y >= 0 && y < classes.length && s >= 0 && s < S) rows[y * S + s].push(i);
  }
  if (rows.every((r) => r.length === 0)) return undefined;
  const rng = createRng(deriveSeed(input.seed, 'gallery'));
  const name = (c: number) => classes[c] ?? String(c);
  const groups = rows.map((members, g) => {
    const changed = members.filter((i) => erm[i] !== tldr[i]);
    const same = members.filter((i) => erm[i] === tldr[i]);
    // one draw per group in a fixed order: the same seed gives the same gallery
    const picked = [...shuffle(changed, rng), ...shuffle(same, rng)].slice(0, perGroup);
    return {
      label: classes[Math.floor(g / S)],
      spurious: spuriousValues[g % S],
      n: members.length,
      changed: changed.length,
      images: picked.map((i) => ({ path: paths[i], label: name(labels[i]), erm: name(erm[i]), tldr: name(tldr[i]) })),
    };
  });
  return { split: input.split, perGroup, groups };
}
