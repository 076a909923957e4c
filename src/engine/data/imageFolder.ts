// Image folders as torchvision's ImageFolder reads them: root/<class>/**/<image>, or with a split
// level, root/<split>/<class>/**/<image>. Folder names are class names (any case) or class indices.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../../shared/errors';
import type { Task } from '../../experiment';
import { valueIndex, type ImageRecord } from './records';

/**
 * sharp's formats plus torchvision's IMG_EXTENSIONS. sharp cannot decode .bmp, .ppm or .pgm: such
 * files are reported as unreadable rather than silently left out of a class.
 */
export const IMAGE_EXTENSIONS = [
  '.jpg',
  '.jpeg',
  '.jpe',
  '.jfif',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
  '.bmp',
  '.ppm',
  '.pgm',
];
const extensions = new Set(IMAGE_EXTENSIONS);

/** Folder names that mean a split rather than a class. */
export const SPLIT_FOLDERS: Record<string, 'train' | 'val' | 'test'> = {
  train: 'train',
  training: 'train',
  val: 'val',
  valid: 'val',
  validation: 'val',
  dev: 'val',
  test: 'test',
  testing: 'test',
};

export const isImageFile = (name: string): boolean => extensions.has(path.extname(name).toLowerCase());

const hidden = (name: string): boolean => name.startsWith('.');

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory(); // follows symbolic links, as torchvision does
  } catch {
    return false;
  }
}

/** Visible subfolders, sorted by code point (Python's sorted, so class indices agree with torchvision's). */
export function listSubfolders(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => !hidden(n) && isDirectory(path.join(dir, n)))
    .sort();
}

/** Image files under `dir`, at any depth, in torchvision's order: by folder, then by name. */
export function listImages(dir: string): string[] {
  const found: [string, string][] = [];
  const visit = (d: string) => {
    for (const name of fs.readdirSync(d)) {
      if (hidden(name)) continue;
      const full = path.join(d, name);
      if (isDirectory(full)) visit(full);
      else if (isImageFile(name)) found.push([d, name]);
    }
  };
  visit(dir);
  return found
    .sort(([da, na], [db, nb]) => (da !== db ? (da < db ? -1 : 1) : na < nb ? -1 : na > nb ? 1 : 0))
    .map(([d, n]) => path.join(d, n));
}

export function readImageFolder(root: string, task: Task, opts: { split?: string }): ImageRecord[] {
  if (!isDirectory(root)) throw new InputError(`${root}: folder not found. Check the "imageFolder" path in the experiment's data section.`);
  const base = opts.split === undefined ? root : path.join(root, opts.split);
  if (!isDirectory(base)) {
    const folders = listSubfolders(root);
    throw new InputError(
      `${root}: has no "${opts.split}" folder; its folders are ${folders.join(', ') || '(none)'}. Set "split" to the folder that holds this split's class folders, or remove "split" if the class folders are directly in ${root}.`,
    );
  }
  const folders = listSubfolders(base);
  const classes = JSON.stringify(task.classes);
  if (!folders.length)
    throw new InputError(
      `${base}: no class folders. Put each class's images in a folder named after it, e.g. ${path.join(base, task.classes[0])}/.`,
    );
  const unknown = folders.filter((f) => valueIndex(f, task.classes) === undefined);
  if (unknown.length) {
    const split =
      opts.split === undefined
        ? (unknown.find((f) => SPLIT_FOLDERS[f.toLowerCase()] === 'train') ?? unknown.find((f) => f.toLowerCase() in SPLIT_FOLDERS))
        : undefined;
    throw new InputError(
      `${base}: ${unknown.length} folder${unknown.length > 1 ? 's are' : ' is'} not a class of task.classes ${classes}: ${unknown.join(', ')}. ` +
        (split
          ? `These look like split folders: add "split": "${split}" to this data source.`
          : `Rename the folders to class names (any case) or indices 0-${task.classes.length - 1}, or fix task.classes.`),
    );
  }
  const records = folders.flatMap((f) => {
    const label = valueIndex(f, task.classes)!;
    return listImages(path.join(base, f)).map((p) => ({ path: p, label, spurious: null }));
  });
  if (!records.length) throw new InputError(`${base}: the class folders hold no images (files ending in ${IMAGE_EXTENSIONS.join(', ')}).`);
  return records;
}
