// The Results tab's per-group examples from a run's gallery: thumbnails as webview URIs, and the
// folders the webview may load them from. No 'vscode' import: unit-tested.
import * as path from 'node:path';
import type { RunGallery } from '../../protocol/runRecord';
import type { GalleryView } from '../../protocol/webview';
import { isInside } from './discoveryView';

export function galleryView(g: RunGallery, toSrc: (file: string) => string): GalleryView {
  return {
    split: g.split,
    groups: g.groups.map((group) => ({
      label: group.label,
      spurious: group.spurious,
      n: group.n,
      changed: group.changed,
      images: group.images.map((im) => ({
        src: toSrc(im.path),
        name: path.basename(im.path),
        label: im.label,
        erm: im.erm,
        tldr: im.tldr,
      })),
    })),
  };
}

/**
 * The folders the gallery's thumbnails need: the deepest folder holding them all, or, when that
 * would be a filesystem root, each image's folder (without folders inside another).
 */
export function galleryRoots(g: RunGallery): string[] {
  const dirs = [...new Set(g.groups.flatMap((group) => group.images.map((im) => path.dirname(im.path))))].sort();
  if (dirs.length === 0) return [];
  let root = dirs[0];
  for (const d of dirs) {
    while (root !== d && !isInside(d, root)) {
      const up = path.dirname(root);
      if (up === root) return dirs.filter((x) => !dirs.some((y) => y !== x && isInside(x, y)));
      root = up;
    }
  }
  return path.dirname(root) === root ? dirs.filter((x) => !dirs.some((y) => y !== x && isInside(x, y))) : [root];
}

/** The folders of `wanted` that no folder of `have` holds already (the resource roots to add). */
export function missingRoots(have: readonly string[], wanted: readonly string[]): string[] {
  return wanted.filter((w) => !have.some((h) => h === w || isInside(w, h)));
}
