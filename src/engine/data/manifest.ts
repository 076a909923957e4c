// Image lists: CSV or JSONL (path, label, optional spurious value, optional split) and the
// Waterbirds metadata.csv layout (img_filename, y, split, place; split 0/1/2 = train/val/test).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { InputError } from '../../shared/errors';
import type { Task } from '../../experiment';
import { listProblems, valueIndex, type CaptionPair, type ImageRecord } from './records';

export type { CaptionPair, ImageRecord } from './records';

type Row = Record<string, unknown>;
export type TableFormat = 'csv' | 'jsonl' | 'waterbirds';
export interface Table {
  rows: Row[];
  /** the CSV header, or every key the JSONL objects use */
  columns: string[];
  format: TableFormat;
}

const WATERBIRDS_SPLITS: Record<string, string> = { train: '0', val: '1', test: '2' };
export const PATH_KEYS = ['path', 'image', 'img_filename', 'file', 'filename'];
export const LABEL_KEYS = ['label', 'y', 'class', 'target'];
export const SPURIOUS_KEYS = ['spurious', 'place', 'group', 'attribute'];
export const CAPTION_KEYS = ['caption', 'text'];

export function readTable(file: string, format: 'auto' | TableFormat): Table {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(
      `${file}: cannot read the manifest (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Check the path in the experiment's data section.`,
    );
  }
  const jsonl = format === 'jsonl' || (format === 'auto' && /\.jsonl?$/i.test(file));
  if (jsonl) {
    const rows = text.split(/\r?\n/).flatMap((line, i) => {
      if (!line.trim()) return [];
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch {
        row = undefined;
      }
      if (typeof row !== 'object' || row === null || Array.isArray(row))
        throw new InputError(
          `${file}:${i + 1}: not a JSON object. Each line of a JSONL manifest must be like {"path": "a.jpg", "label": 0}.`,
        );
      return [row as Row];
    });
    return { rows, columns: [...new Set(rows.flatMap((r) => Object.keys(r)))], format: 'jsonl' };
  }
  let columns: string[] = [];
  let rows: Row[];
  try {
    rows = parse(text, {
      columns: (header: string[]) => (columns = header),
      skip_empty_lines: true,
      trim: true,
      bom: true,
    });
  } catch (err) {
    throw new InputError(
      `${file}: not a valid CSV (${(err as Error).message}). The first line must name the columns, e.g. path,label,spurious.`,
    );
  }
  const waterbirds = format === 'waterbirds' || (format === 'auto' && columns.includes('img_filename') && columns.includes('place'));
  return { rows, columns, format: waterbirds ? 'waterbirds' : 'csv' };
}

function field(row: Row, keys: string[]): unknown {
  for (const k of keys) if (row[k] !== undefined && row[k] !== '') return row[k];
  return undefined;
}

/** Fails when the table has no rows, or none of `keys` among its columns (an actionable message for each). */
function requireColumn(file: string, table: Table, keys: string[], what: string): void {
  const kind = table.format === 'jsonl' ? 'keys' : 'columns';
  if (!table.rows.length) {
    throw new InputError(
      table.columns.length
        ? `${file}: the manifest is empty: it has a header (${table.columns.join(',')}) and no rows. Add one row per image.`
        : `${file}: the manifest is empty. Add a header and one row per image, e.g. path,label then a.jpg,0.`,
    );
  }
  if (!table.columns.some((c) => keys.includes(c))) {
    throw new InputError(
      `${file}: no ${what} column. Its ${kind} are ${table.columns.join(', ')}; name the ${what} ${kind === 'keys' ? 'key' : 'column'} one of: ${keys.join(', ')}.`,
    );
  }
}

export interface ManifestOptions {
  format: 'auto' | TableFormat;
  root?: string;
  split?: string;
}

export function readManifest(file: string, task: Task, opts: ManifestOptions): ImageRecord[] {
  const table = readTable(file, opts.format);
  const { rows, format } = table;
  requireColumn(file, table, PATH_KEYS, 'image path');
  const root = opts.root ?? path.dirname(file);
  const wantSplit =
    opts.split === undefined ? undefined : format === 'waterbirds' ? (WATERBIRDS_SPLITS[opts.split] ?? opts.split) : opts.split;
  const records: ImageRecord[] = [];
  const noPath: string[] = [];
  const badLabels: string[] = [];
  const missing: string[] = [];
  rows.forEach((row, i) => {
    if (wantSplit !== undefined && String(row.split ?? '') !== wantSplit) return;
    const where = `row ${i + (format === 'jsonl' ? 1 : 2)}`;
    const rel = field(row, PATH_KEYS);
    if (typeof rel !== 'string') {
      noPath.push(`${where}: no image path`);
      return;
    }
    const label = valueIndex(field(row, LABEL_KEYS), task.classes);
    const spurious = valueIndex(field(row, SPURIOUS_KEYS), task.spurious.values);
    if (label === undefined)
      badLabels.push(
        `${where}: label ${JSON.stringify(field(row, LABEL_KEYS))} is not a class index or one of ${JSON.stringify(task.classes)}`,
      );
    if (spurious === undefined)
      badLabels.push(
        `${where}: spurious value ${JSON.stringify(field(row, SPURIOUS_KEYS))} is not an index or one of ${JSON.stringify(task.spurious.values)}`,
      );
    const abs = path.resolve(root, rel);
    if (!fs.existsSync(abs)) missing.push(abs);
    records.push({ path: abs, label: label ?? null, spurious: spurious ?? null });
  });
  if (noPath.length)
    throw listProblems(file, noPath, 'rows without an image path', `Give every row a value in its ${PATH_KEYS.join(' / ')} field.`);
  if (badLabels.length)
    throw listProblems(
      file,
      badLabels,
      'rows with unknown labels',
      'Use class indices or names from task.classes and task.spurious.values.',
    );
  if (missing.length)
    throw listProblems(file, missing, 'image files are missing', 'Restore the files, fix the paths, or set "root" for the manifest.');
  if (records.length === 0) throw noRowsInSplit(file, table, opts.split!);
  return records;
}

function noRowsInSplit(file: string, table: Table, split: string): InputError {
  if (!table.columns.includes('split'))
    return new InputError(
      `${file}: no rows with split "${split}": the manifest has no split column. Remove "split" to use every row, or add a split column.`,
    );
  const values = [...new Set(table.rows.map((r) => String(r.split ?? '')))].sort();
  const names = table.format === 'waterbirds' ? ' (Waterbirds: train, val, test are 0, 1, 2)' : '';
  return new InputError(
    `${file}: no rows with split "${split}"; its split column has ${values.map((v) => JSON.stringify(v)).join(', ')}${names}. Set "split" to one of them.`,
  );
}

/** (image, caption) rows of a CSV or JSONL file, in file order; the images are checked after sampling (captions.ts). */
export function readCaptionPairs(file: string, root?: string): CaptionPair[] {
  const table = readTable(file, 'auto');
  requireColumn(file, table, PATH_KEYS, 'image path');
  requireColumn(file, table, CAPTION_KEYS, 'caption');
  const base = root ?? path.dirname(file);
  const bad: string[] = [];
  const pairs = table.rows.flatMap((row, i) => {
    const img = field(row, PATH_KEYS);
    const caption = field(row, CAPTION_KEYS);
    if (typeof img !== 'string' || typeof caption !== 'string') {
      bad.push(`row ${i + (table.format === 'jsonl' ? 1 : 2)}: ${typeof img !== 'string' ? 'no image path' : 'no caption'}`);
      return [];
    }
    return [{ path: path.resolve(base, img), caption }];
  });
  if (bad.length) throw listProblems(file, bad, 'rows without an image or a caption', 'Give every row an image path and a caption.');
  return pairs;
}
