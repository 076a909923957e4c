// Reading and validating `*.tldr.json`: every problem is reported with its JSON path
// and what to do about it, and all paths are resolved against the file's folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { experimentSchema, type Experiment } from './schema';
import { InputError } from '../shared/errors';

export interface LoadedExperiment {
  file: string;
  dir: string;
  experiment: Experiment;
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

export function parseExperimentText(file: string, text: string): Experiment {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${file}: not valid JSON (${(err as Error).message}). Fix the syntax, e.g. a missing comma or quote.`);
  }
  const parsed = experimentSchema.safeParse(json);
  if (!parsed.success) throw new InputError(describeIssues(file, parsed.error));
  return parsed.data;
}

export function loadExperiment(file: string): LoadedExperiment {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    throw new InputError(
      `${abs}: cannot read the experiment file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Check the path.`,
    );
  }
  const experiment = parseExperimentText(abs, text);
  const dir = path.dirname(abs);
  return { file: abs, dir, experiment, resolve: (p) => path.resolve(dir, p) };
}
