// Recognises the data layout of a folder (or a picked file) so the New Experiment wizard can fill
// data.train/val/test, data.captions and task.classes: an image folder (with or without a split
// level), CelebA, a Waterbirds metadata.csv, a CSV/JSONL manifest, a COCO captions file.
// Nothing is decoded; folders are listed and tables read.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { z } from 'zod';
import type { captionsSchema, dataSourceSchema } from '../../experiment';
import { celebaAttributeNames, findCelebA, readPartition } from './celeba';
import { IMAGE_EXTENSIONS, isImageFile, listImages, listSubfolders, SPLIT_FOLDERS } from './imageFolder';
import { CAPTION_KEYS, LABEL_KEYS, PATH_KEYS, readTable, SPURIOUS_KEYS, type Table } from './manifest';

type Split = 'train' | 'val' | 'test';
type DataSourceInput = z.input<typeof dataSourceSchema>;
type CaptionsInput = z.input<typeof captionsSchema>;

export interface DetectedLayout {
  kind: 'imageFolder' | 'celeba' | 'waterbirds' | 'manifest' | 'captions' | 'unknown';
  /** the folder or file the data sources point at (absolute) */
  path: string;
  /**
   * Class names as the data names them: class folders in sorted order (torchvision's class
   * indices), manifest label values (numbers sorted as numbers), or names derived from a CelebA
   * target attribute. Empty when the layout names none.
   */
  classes: string[];
  /** the spurious attribute when the layout has one: Waterbirds' place, a manifest's spurious column, a CelebA attribute */
  spurious?: { name: string; values: string[] };
  /** the splits found, by role */
  splits: Split[];
  /** data sources ready for the experiment; paths are absolute, make them relative to the experiment file */
  data: Partial<Record<Split, DataSourceInput>>;
  /** a caption source found in or beside the folder, for the modality gap */
  captions?: CaptionsInput;
  /** CelebA: every attribute, to choose the target and the spurious attribute from */
  attributes?: string[];
  /** images (image folders) or rows (manifests) found */
  images?: number;
  /** what the user should know or decide, in plain words */
  notes: string[];
}

const SPLITS: Split[] = ['train', 'val', 'test'];
const roleOf = (name: string): Split | undefined => SPLIT_FOLDERS[name.toLowerCase()];
const inRoleOrder = (splits: Split[]): Split[] => SPLITS.filter((s) => splits.includes(s));
const byRole = <T>(entries: [Split, T][]): Partial<Record<Split, T>> =>
  Object.fromEntries(SPLITS.flatMap((s) => entries.filter(([r]) => r === s).slice(0, 1)));

/** Sorted as numbers when every value is one, else by code point. */
function sortedValues(values: Iterable<unknown>): string[] {
  const v = [...new Set([...values].filter((x) => x !== undefined && x !== null && x !== '').map((x) => String(x).trim()))];
  return v.every((x) => /^\d+$/.test(x)) ? v.sort((a, b) => Number(a) - Number(b)) : v.sort();
}

/** "Blond_Hair" -> ["not blond hair", "blond hair"]: -1 then 1, the reader's class order. */
export function celebaClassNames(attribute: string): [string, string] {
  const words = attribute.replace(/_/g, ' ').toLowerCase();
  return [`not ${words}`, words];
}

function tryTable(file: string): Table | undefined {
  try {
    return readTable(file, 'auto');
  } catch {
    return undefined;
  }
}

const hasAny = (table: Table, keys: string[]) => table.columns.find((c) => keys.includes(c));
const isCaptionTable = (t: Table) => !!hasAny(t, PATH_KEYS) && !!hasAny(t, CAPTION_KEYS);
const isManifest = (t: Table) => !!hasAny(t, PATH_KEYS) && !isCaptionTable(t);

function isCocoCaptions(file: string): boolean {
  if (/^captions_\w+\.json$/i.test(path.basename(file))) return true;
  try {
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { images?: unknown; annotations?: { caption?: unknown }[] };
    return Array.isArray(json.images) && Array.isArray(json.annotations) && typeof json.annotations[0]?.caption === 'string';
  } catch {
    return false;
  }
}

/** A COCO captions file or a CSV/JSONL of (image, caption) pairs in `dir` or `dir/annotations`. */
function findCaptions(dir: string): CaptionsInput | undefined {
  for (const d of [dir, path.join(dir, 'annotations')]) {
    const files = safeList(d).filter((n) => isFile(path.join(d, n)));
    const coco = files.filter((n) => /^captions_\w+\.json$/i.test(n)).sort((a, b) => Number(/train/i.test(a)) - Number(/train/i.test(b)));
    if (coco.length) return { path: path.join(d, coco[0]), format: 'coco' };
    const table = files.find(
      (n) => /\.(csv|jsonl)$/i.test(n) && isCaptionTable(tryTable(path.join(d, n)) ?? { rows: [], columns: [], format: 'csv' }),
    );
    if (table) return { path: path.join(d, table) };
  }
  return undefined;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function fromTable(
  file: string,
  table: Table,
  base: Omit<DetectedLayout, 'kind' | 'path' | 'classes' | 'splits' | 'data' | 'notes'>,
): DetectedLayout {
  const notes: string[] = [];
  if (table.format === 'waterbirds') {
    const splits = SPLITS.filter((_, i) => table.rows.some((r) => String(r.split) === String(i)));
    return {
      ...base,
      kind: 'waterbirds',
      path: file,
      classes: ['landbird', 'waterbird'],
      spurious: { name: 'place', values: ['land', 'water'] },
      splits,
      data: byRole(splits.map((s) => [s, { manifest: file, split: s }])),
      images: table.rows.length,
      notes: ['Waterbirds metadata.csv: y 0/1 is landbird/waterbird, place 0/1 is land/water, split 0/1/2 is train/val/test.'],
    };
  }
  const labelKey = hasAny(table, LABEL_KEYS);
  const spuriousKey = hasAny(table, SPURIOUS_KEYS);
  const classes = labelKey ? sortedValues(table.rows.map((r) => r[labelKey])) : [];
  if (!labelKey)
    notes.push(`${path.basename(file)} has no label column (${LABEL_KEYS.join(', ')}): fine for train, but val and test need labels.`);
  else if (classes.every((c) => /^\d+$/.test(c)))
    notes.push(`Labels are class indices (${classes.join(', ')}): name the classes in task.classes in the classifier's output order.`);
  const splitValues = table.columns.includes('split') ? sortedValues(table.rows.map((r) => r.split)) : [];
  const roles = splitValues.flatMap((v): [Split, string][] => (roleOf(v) ? [[roleOf(v)!, v]] : []));
  if (splitValues.length && roles.length < splitValues.length)
    notes.push(`Split values ${splitValues.filter((v) => !roleOf(v)).join(', ')} are not train, val or test: choose the splits by hand.`);
  return {
    ...base,
    kind: 'manifest',
    path: file,
    classes,
    spurious: spuriousKey ? { name: spuriousKey, values: sortedValues(table.rows.map((r) => r[spuriousKey])) } : undefined,
    splits: inRoleOrder(roles.map(([r]) => r)),
    data: roles.length ? byRole(roles.map(([r, v]) => [r, { manifest: file, split: v }])) : { train: { manifest: file } },
    images: table.rows.length,
    notes,
  };
}

function detectCelebA(dir: string, captions: CaptionsInput | undefined): DetectedLayout | undefined {
  const files = findCelebA(dir);
  if (!files) return undefined;
  const root = path.dirname(files.attributes);
  const attributes = celebaAttributeNames(files.attributes);
  const target = attributes.includes('Blond_Hair') ? 'Blond_Hair' : attributes[0];
  const spurious = attributes.includes('Male') ? 'Male' : undefined;
  const present = files.partition ? new Set(readPartition(files.partition).values()) : new Set<string>();
  const splits = SPLITS.filter((_, i) => present.has(String(i)));
  const source = (split?: Split): DataSourceInput => ({ celeba: root, target, ...(spurious && { spurious }), ...(split && { split }) });
  const notes = [
    `CelebA: the class and the spurious attribute are chosen by name from its ${attributes.length} attributes; ${target}${spurious ? ` and ${spurious}` : ''} (the TLDR benchmark's) are filled in.`,
  ];
  if (!fs.existsSync(files.images)) notes.push(`The images folder ${files.images} is missing: unpack img_align_celeba.zip there.`);
  if (!files.partition) notes.push('No list_eval_partition.txt: every image is in one split.');
  return {
    kind: 'celeba',
    path: root,
    classes: celebaClassNames(target),
    spurious: spurious ? { name: spurious.toLowerCase(), values: celebaClassNames(spurious) } : undefined,
    splits,
    data: splits.length ? byRole(splits.map((s) => [s, source(s)])) : { train: source() },
    captions,
    attributes,
    notes,
  };
}

function detectImageFolder(dir: string, captions: CaptionsInput | undefined): DetectedLayout | undefined {
  const folders = listSubfolders(dir);
  const splitFolders = folders.filter((f) => roleOf(f) && listSubfolders(path.join(dir, f)).length);
  if (splitFolders.length) {
    const classSets = splitFolders.map((s) => listSubfolders(path.join(dir, s)));
    const classes = [...new Set(classSets.flat())].sort();
    const images = splitFolders.reduce((n, s) => n + listImages(path.join(dir, s)).length, 0);
    if (!images) return undefined;
    const lacking = splitFolders.flatMap((s, i) => {
      const none = classes.filter((c) => !classSets[i].includes(c));
      return none.length ? [`${s}/ has no folder for ${none.join(', ')}.`] : [];
    });
    return {
      kind: 'imageFolder',
      path: dir,
      classes,
      splits: inRoleOrder(splitFolders.map((s) => roleOf(s)!)),
      data: byRole(splitFolders.map((s) => [roleOf(s)!, { imageFolder: dir, split: s }])),
      captions,
      images,
      notes: [...lacking, ...classNotes(classes)],
    };
  }
  // every folder is a class, as torchvision numbers them; a task needs two
  const counts = folders.map((f) => [f, listImages(path.join(dir, f)).length] as const);
  if (counts.filter(([, n]) => n > 0).length < 2) return undefined;
  const classes = counts.map(([f]) => f);
  const empty = counts.filter(([, n]) => n === 0).map(([f]) => f);
  return {
    kind: 'imageFolder',
    path: dir,
    classes,
    splits: [],
    data: { train: { imageFolder: dir } },
    captions,
    images: counts.reduce((n, [, c]) => n + c, 0),
    notes: [
      'One folder per class and no split folders: the images serve as train; add val and test (with labels) for model selection and results.',
      ...(empty.length
        ? [`No images in ${empty.join(', ')}: still classes, as torchvision counts every folder; remove them if they are not.`]
        : []),
      ...classNotes(classes),
    ],
  };
}

const classNotes = (classes: string[]) =>
  classes.every((c) => /^\d+$/.test(c))
    ? [`Class folders are indices (${classes.join(', ')}): name the classes in task.classes in that order.`]
    : [`Classes in sorted folder order, the order torchvision's ImageFolder gives them: check it is the classifier's output order.`];

/** What a folder (or a picked manifest or captions file) holds, for the New Experiment wizard. */
export function detectDataLayout(target: string): DetectedLayout {
  const p = path.resolve(target);
  const unknown = (notes: string[]): DetectedLayout => ({ kind: 'unknown', path: p, classes: [], splits: [], data: {}, notes });
  let stat: fs.Stats;
  try {
    stat = fs.statSync(p);
  } catch {
    return unknown([`${p} does not exist.`]);
  }
  if (stat.isFile()) {
    if (/\.json$/i.test(p) && isCocoCaptions(p)) return { ...unknown([]), kind: 'captions', captions: { path: p, format: 'coco' } };
    const table = /\.(csv|jsonl?)$/i.test(p) ? tryTable(p) : undefined;
    if (table && isCaptionTable(table)) return { ...unknown([]), kind: 'captions', captions: { path: p } };
    if (table && isManifest(table)) return fromTable(p, table, {});
    return unknown([
      `${path.basename(p)} is not a manifest (a CSV or JSONL with a ${PATH_KEYS.join('/')} column) or a COCO captions file.`,
    ]);
  }
  const captions = findCaptions(p);
  const celeba = detectCelebA(p, captions);
  if (celeba) return celeba;
  const tables = safeList(p)
    .filter((n) => /\.(csv|jsonl)$/i.test(n))
    .map((n) => [path.join(p, n), tryTable(path.join(p, n))] as const)
    .filter((e): e is readonly [string, Table] => !!e[1] && isManifest(e[1]));
  const waterbirds = tables.find(([, t]) => t.format === 'waterbirds');
  if (waterbirds) return fromTable(waterbirds[0], waterbirds[1], { captions });
  // one manifest per split (train.csv, val.csv, test.csv)
  const perSplit = tables.filter(([f]) => roleOf(path.basename(f).replace(/\.\w+$/, '')));
  if (perSplit.length) {
    const each = perSplit.map(([f, t]) => fromTable(f, t, { captions }));
    const spurious = each.find((e) => e.spurious)?.spurious;
    return {
      ...each[0],
      classes: sortedValues(each.flatMap((e) => e.classes)),
      spurious: spurious && { name: spurious.name, values: sortedValues(each.flatMap((e) => e.spurious?.values ?? [])) },
      splits: inRoleOrder(perSplit.map(([f]) => roleOf(path.basename(f).replace(/\.\w+$/, ''))!)),
      data: byRole(perSplit.map(([f]) => [roleOf(path.basename(f).replace(/\.\w+$/, ''))!, { manifest: f }])),
      images: each.reduce((n, e) => n + (e.images ?? 0), 0),
      notes: [...new Set(each.flatMap((e) => e.notes))],
    };
  }
  if (tables.length) {
    const found = fromTable(tables[0][0], tables[0][1], { captions });
    if (tables.length > 1)
      found.notes.push(
        `Other manifests here: ${tables
          .slice(1)
          .map(([f]) => path.basename(f))
          .join(', ')}.`,
      );
    return found;
  }
  const folder = detectImageFolder(p, captions);
  if (folder) return folder;
  if (captions) return { ...unknown([]), kind: 'captions', captions };
  return unknown([
    `No known layout in ${p}: looked for class folders of images (${IMAGE_EXTENSIONS.slice(0, 4).join(', ')}...), with or without train/val/test folders; list_attr_celeba.txt; a Waterbirds metadata.csv; a CSV or JSONL manifest; a COCO captions_*.json.`,
    ...(safeList(p).some(isImageFile)
      ? ['The images are loose in the folder: put each class in its own folder, or list them in a manifest.']
      : []),
  ]);
}
