// Reading and validating `*.tldr.json`: every problem is reported with where it is (a JSON
// path for schema problems, line and column for syntax errors) and what to do about it; all
// paths are resolved against the file's folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { experimentSchema, type Experiment } from './schema';
import { parseJsonTree, JsonSyntaxError } from './jsonText';
import { InputError } from '../shared/errors';

export interface LoadedExperiment {
  file: string;
  dir: string;
  experiment: Experiment;
  /** the file's text as read: a writer checks it is unchanged before writing (see file.ts) */
  text: string;
  /** resolve a path written in the experiment file */
  resolve(p: string): string;
}

export function formatJsonPath(p: ReadonlyArray<PropertyKey>): string {
  let out = '$';
  for (const k of p)
    out += typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(String(k)) ? `.${String(k)}` : `[${JSON.stringify(String(k))}]`;
  return out;
}

export function describeIssues(file: string, error: z.ZodError): string {
  const lines = error.issues.map((i) => `  ${formatJsonPath(i.path)}: ${i.message}${hintFor(i)}`);
  return `${file}: invalid experiment file\n${lines.join('\n')}\nFix these fields (the JSON Schema in schemas/experiment.schema.json lists every field).`;
}

function hintFor(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return ` (remove ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} or check the spelling)`;
  if (issue.code === 'invalid_type' && issue.message.includes('undefined')) return ' (this field is required)';
  return '';
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

/** The JSON value of the text, or an InputError saying where the syntax breaks. */
export function parseJsonText(file: string, text: string): unknown {
  try {
    // a byte-order mark (some Windows editors write one) is not part of the JSON
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    // JSON.parse reports a character position at best; our parser knows the offset of the fault
    let where = '';
    let what = (err as Error).message;
    try {
      parseJsonTree(text);
    } catch (e) {
      if (e instanceof JsonSyntaxError) {
        const { line, column } = lineColumn(text, e.offset);
        where = `:${line}:${column}`;
        what = `${e.message} at line ${line}, column ${column}`;
      }
    }
    throw new InputError(`${file}${where}: not valid JSON (${what}). Fix the syntax there, e.g. a missing comma or quote.`);
  }
}

export function parseExperimentText(file: string, text: string): Experiment {
  const parsed = experimentSchema.safeParse(parseJsonText(file, text));
  if (!parsed.success) throw new InputError(describeIssues(file, parsed.error));
  return parsed.data;
}

export function readExperimentText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(
      `${file}: cannot read the experiment file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Check the path.`,
    );
  }
}

export function loadExperiment(file: string): LoadedExperiment {
  const abs = path.resolve(file);
  const text = readExperimentText(abs);
  const experiment = parseExperimentText(abs, text);
  const dir = path.dirname(abs);
  return { file: abs, dir, experiment, text, resolve: (p) => path.resolve(dir, p) };
}
