// Image lists: CSV or JSONL (path, label, optional spurious value, optional split) and the
// Waterbirds metadata.csv layout (img_filename, y, split, place; split 0/1/2 = train/val/test).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { InputError } from '../../shared/errors';
import type { Task } from '../../experiment';

export interface ImageRecord {
  /** absolute path */
  path: string;
  /** class index, or null when the manifest has no label */
  label: number | null;
  /** spurious value index, or null when unknown */
  spurious: number | null;
}

export interface CaptionPair {
  path: string;
  caption: string;
}

type Row = Record<string, unknown>;
const WATERBIRDS_SPLITS: Record<string, string> = { train: '0', val: '1', test: '2' };
const PATH_KEYS = ['path', 'image', 'img_filename', 'file', 'filename'];
const LABEL_KEYS = ['label', 'y', 'class', 'target'];
const SPURIOUS_KEYS = ['spurious', 'place', 'group', 'attribute'];

function readRows(file: string, format: 'auto' | 'csv' | 'jsonl' | 'waterbirds'): { rows: Row[]; format: 'csv' | 'jsonl' | 'waterbirds' } {
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
      try {
        return [JSON.parse(line) as Row];
      } catch {
        throw new InputError(
          `${file}:${i + 1}: not a JSON object. Each line of a JSONL manifest must be like {"path": "a.jpg", "label": 0}.`,
        );
      }
    });
    return { rows, format: 'jsonl' };
  }
  let rows: Row[];
  try {
    rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (err) {
    throw new InputError(
      `${file}: not a valid CSV (${(err as Error).message}). The first line must name the columns, e.g. path,label,spurious.`,
    );
  }
  const cols = Object.keys(rows[0] ?? {});
  const waterbirds = format === 'waterbirds' || (format === 'auto' && cols.includes('img_filename') && cols.includes('place'));
  return { rows, format: waterbirds ? 'waterbirds' : 'csv' };
}

function field(row: Row, keys: string[]): unknown {
  for (const k of keys) if (row[k] !== undefined && row[k] !== '') return row[k];
  return undefined;
}

function indexOf(value: unknown, names: string[]): number | null | undefined {
  if (value === undefined || value === null || value === '') return null;
  const s = String(value).trim();
  if (/^\d+$/.test(s)) {
    const i = Number(s);
    return i < names.length ? i : undefined;
  }
  const i = names.findIndex((n) => n.toLowerCase() === s.toLowerCase());
  return i >= 0 ? i : undefined;
}

function listProblems(file: string, problems: string[], what: string, fix: string): InputError {
  const shown = problems
    .slice(0, 20)
    .map((p) => `  ${p}`)
    .join('\n');
  const more = problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : '';
  return new InputError(`${file}: ${problems.length} ${what}:\n${shown}${more}\n${fix}`);
}

export interface ManifestOptions {
  format: 'auto' | 'csv' | 'jsonl' | 'waterbirds';
  root?: string;
  split?: string;
}

export function readManifest(file: string, task: Task, opts: ManifestOptions): ImageRecord[] {
  const { rows, format } = readRows(file, opts.format);
  const root = opts.root ?? path.dirname(file);
  const wantSplit =
    opts.split === undefined ? undefined : format === 'waterbirds' ? (WATERBIRDS_SPLITS[opts.split] ?? opts.split) : opts.split;
  const records: ImageRecord[] = [];
  const badLabels: string[] = [];
  const missing: string[] = [];
  rows.forEach((row, i) => {
    if (wantSplit !== undefined && String(row.split ?? '') !== wantSplit) return;
    const where = `row ${i + (format === 'jsonl' ? 1 : 2)}`;
    const rel = field(row, PATH_KEYS);
    if (typeof rel !== 'string') {
      badLabels.push(`${where}: no image path (columns: ${PATH_KEYS.join(', ')})`);
      return;
    }
    const label = indexOf(field(row, LABEL_KEYS), task.classes);
    const spurious = indexOf(field(row, SPURIOUS_KEYS), task.spurious.values);
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
  if (badLabels.length)
    throw listProblems(
      file,
      badLabels,
      'rows with unknown labels',
      'Use class indices or names from task.classes and task.spurious.values.',
    );
  if (missing.length)
    throw listProblems(file, missing, 'image files are missing', 'Restore the files, fix the paths, or set "root" for the manifest.');
  if (records.length === 0) {
    throw new InputError(
      `${file}: no rows${wantSplit !== undefined ? ` with split "${opts.split}"` : ''}. Check the manifest and the "split" setting.`,
    );
  }
  return records;
}

export function readCaptionPairs(file: string, root?: string): CaptionPair[] {
  const { rows } = readRows(file, 'auto');
  const base = root ?? path.dirname(file);
  const missing: string[] = [];
  const pairs = rows.flatMap((row, i) => {
    const img = field(row, PATH_KEYS);
    const caption = field(row, ['caption', 'text']);
    if (typeof img !== 'string' || typeof caption !== 'string') {
      throw new InputError(`${file}: row ${i + 2} needs an image and a caption (columns image,caption).`);
    }
    const abs = path.resolve(base, img);
    if (!fs.existsSync(abs)) missing.push(abs);
    return [{ path: abs, caption }];
  });
  if (missing.length) throw listProblems(file, missing, 'caption images are missing', 'Restore the files or fix the paths.');
  return pairs;
}
