// CelebA as released: list_attr_celeba.txt (the row count, the 40 attribute names, then rows of
// "000001.jpg -1  1  1 -1 ..." padded with spaces), list_eval_partition.txt ("000001.jpg 0", with
// 0/1/2 = train/val/test) and the images in img_align_celeba/. The Kaggle copy's CSV files
// (list_attr_celeba.csv, list_eval_partition.csv) and its nested img_align_celeba/img_align_celeba/
// are read too. The target and the spurious attribute are chosen by name; -1 is index 0, 1 is index 1.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../../shared/errors';
import type { Task } from '../../experiment';
import { listProblems, type ImageRecord } from './records';

const SPLITS: Record<string, string> = { train: '0', val: '1', valid: '1', validation: '1', test: '2', '0': '0', '1': '1', '2': '2' };

export interface CelebAFiles {
  attributes: string;
  partition?: string;
  images: string;
}

const firstFile = (dir: string, names: string[]) => names.map((n) => path.join(dir, n)).find((f) => fs.existsSync(f));

/** The CelebA files in `dir` (or its celeba/ folder, torchvision's layout), or undefined when there are none. */
export function findCelebA(dir: string): CelebAFiles | undefined {
  for (const d of [dir, path.join(dir, 'celeba')]) {
    const attributes = firstFile(d, ['list_attr_celeba.txt', 'list_attr_celeba.csv']);
    if (!attributes) continue;
    const images = path.join(d, 'img_align_celeba');
    const nested = path.join(images, 'img_align_celeba');
    return {
      attributes,
      partition: firstFile(d, ['list_eval_partition.txt', 'list_eval_partition.csv']),
      images: fs.existsSync(nested) ? nested : images,
    };
  }
  return undefined;
}

function lines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split(/\r?\n/);
  } catch (err) {
    throw new InputError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  }
}

/** The attribute names of an attribute file: the second line of the .txt, the header of the .csv. */
export function celebaAttributeNames(file: string, text = lines(file)): string[] {
  const csv = file.toLowerCase().endsWith('.csv');
  const header = (csv ? text[0] : text[1]) ?? '';
  const names = (csv ? header.split(',').slice(1) : header.trim().split(/\s+/)).map((n) => n.trim()).filter(Boolean);
  if (!names.length)
    throw new InputError(
      `${file}: not a CelebA attribute file: ${csv ? 'the first line must be image_id,<attribute names>' : 'the second line must list the attribute names'}.`,
    );
  return names;
}

function attributeIndex(file: string, names: string[], name: string, role: string): number {
  const exact = names.indexOf(name);
  const i = exact >= 0 ? exact : names.findIndex((n) => n.toLowerCase() === name.toLowerCase());
  if (i < 0) throw new InputError(`${file}: no attribute "${name}" (the ${role}). Its ${names.length} attributes are ${names.join(', ')}.`);
  return i;
}

function checkTwoNames(attribute: string, names: string[], where: string): void {
  if (names.length !== 2)
    throw new InputError(
      `CelebA's "${attribute}" has two values, -1 (not ${attribute}) and 1 (${attribute}), so ${where} needs two names in that order; it has ${names.length}.`,
    );
}

/** file name -> "0" | "1" | "2" */
export function readPartition(file: string): Map<string, string> {
  const partition = new Map<string, string>();
  const bad: string[] = [];
  lines(file).forEach((line, i) => {
    const parts = line.trim().split(/[\s,]+/);
    if (parts.length === 1 && !parts[0]) return;
    if (i === 0 && parts[1] === 'partition') return; // the Kaggle CSV header
    if (parts.length !== 2 || !['0', '1', '2'].includes(parts[1])) bad.push(`line ${i + 1}: ${JSON.stringify(line.slice(0, 60))}`);
    else partition.set(parts[0], parts[1]);
  });
  if (bad.length)
    throw listProblems(file, bad, 'lines are not "<file> 0|1|2"', 'Use the list_eval_partition file as released with CelebA.');
  return partition;
}

/**
 * The token count of a line (separated by spaces, tabs or commas) and the tokens at the `want`
 * positions: splitting 200k rows of 41 tokens into strings spends seconds in the garbage collector.
 */
function scanTokens(line: string, want: number[]): { count: number; tokens: string[] } {
  const tokens: string[] = [];
  const sep = (c: number) => c === 32 || c === 9 || c === 44;
  let count = 0;
  for (let i = 0; i < line.length;) {
    while (i < line.length && sep(line.charCodeAt(i))) i++;
    if (i === line.length) break;
    const start = i;
    while (i < line.length && !sep(line.charCodeAt(i))) i++;
    const k = want.indexOf(count++);
    if (k >= 0) tokens[k] = line.slice(start, i);
  }
  return { count, tokens };
}

export interface CelebAOptions {
  /** the attribute that is the class, e.g. Blond_Hair */
  target: string;
  /** the spurious attribute, e.g. Male */
  spurious?: string;
  split?: string;
  /** the folder of the images (default: img_align_celeba beside the attribute file) */
  images?: string;
}

export function readCelebA(dir: string, task: Task, opts: CelebAOptions): ImageRecord[] {
  const files = findCelebA(dir);
  if (!files)
    throw new InputError(
      `${dir}: no list_attr_celeba.txt (or the Kaggle list_attr_celeba.csv) here or in ${path.join(dir, 'celeba')}. Point "celeba" at the CelebA folder.`,
    );
  const text = lines(files.attributes);
  const names = celebaAttributeNames(files.attributes, text);
  const t = attributeIndex(files.attributes, names, opts.target, 'target');
  const s = opts.spurious === undefined ? undefined : attributeIndex(files.attributes, names, opts.spurious, 'spurious attribute');
  checkTwoNames(names[t], task.classes, 'task.classes');
  if (s !== undefined) checkTwoNames(names[s], task.spurious.values, 'task.spurious.values');

  let keep: ((file: string) => boolean) | undefined;
  if (opts.split !== undefined) {
    const want = SPLITS[opts.split.toLowerCase()];
    if (!want) throw new InputError(`CelebA split "${opts.split}" is not one of train, val, test (or 0, 1, 2).`);
    if (!files.partition)
      throw new InputError(
        `${path.dirname(files.attributes)}: no list_eval_partition.txt, so there is no "${opts.split}" split. Restore the file or remove "split".`,
      );
    const partition = readPartition(files.partition);
    keep = (f) => partition.get(f) === want;
  }

  const csv = files.attributes.toLowerCase().endsWith('.csv');
  const declared = csv ? undefined : Number(text[0].trim());
  const value = (v: string | undefined) => (v === '1' ? 1 : v === '-1' ? 0 : undefined);
  const columns = s === undefined ? [0, t + 1] : [0, t + 1, s + 1];
  const kept: { file: string; label: number; spurious: number | null }[] = [];
  const bad: string[] = [];
  let rows = 0;
  for (let i = csv ? 1 : 2; i < text.length; i++) {
    const { count, tokens } = scanTokens(text[i], columns);
    if (!count) continue;
    rows++;
    const label = value(tokens[1]);
    const spurious = s === undefined ? null : value(tokens[2]);
    if (count !== names.length + 1 || label === undefined || spurious === undefined) {
      bad.push(`line ${i + 1}: ${JSON.stringify(text[i].trim().slice(0, 60))}`);
      continue;
    }
    if (!keep || keep(tokens[0])) kept.push({ file: tokens[0], label, spurious });
  }
  if (bad.length)
    throw listProblems(
      files.attributes,
      bad,
      `rows are not a file name and ${names.length} values of 1 or -1`,
      'Use the attribute file as released.',
    );
  if (declared !== undefined && declared !== rows)
    throw new InputError(
      `${files.attributes}: the first line says ${declared} rows but the file has ${rows}. The file looks cut short: download it again.`,
    );
  if (!kept.length) throw new InputError(`${files.attributes}: no images in split "${opts.split}" of ${files.partition}.`);

  const images = opts.images ?? files.images;
  let present: Set<string>;
  try {
    present = new Set(fs.readdirSync(images));
  } catch {
    throw new InputError(
      `${images}: the CelebA images folder is missing. Unpack img_align_celeba.zip there, or set "root" to the folder of the images.`,
    );
  }
  const missing = kept.filter((k) => !present.has(k.file)).map((k) => path.join(images, k.file));
  if (missing.length)
    throw listProblems(images, missing, 'CelebA images are missing', 'Restore them, or set "root" to the folder of the images.');
  return kept.map((k) => ({ path: path.join(images, k.file), label: k.label, spurious: k.spurious }));
}
