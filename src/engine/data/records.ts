// What every data reader returns, and the helpers their error messages share.
import { InputError } from '../errors';

export interface ImageRecord {
  /** absolute path */
  path: string;
  /** class index, or null when the source has no label */
  label: number | null;
  /** spurious value index, or null when unknown */
  spurious: number | null;
}

export interface CaptionPair {
  /** absolute path */
  path: string;
  caption: string;
}

/** A class or spurious value given as an index or a name (case-insensitive); undefined when it is neither. */
export function valueIndex(value: unknown, names: string[]): number | null | undefined {
  if (value === undefined || value === null || value === '') return null;
  const s = String(value).trim();
  if (/^\d+$/.test(s)) {
    const i = Number(s);
    return i < names.length ? i : undefined;
  }
  const i = names.findIndex((n) => n.toLowerCase() === s.toLowerCase());
  return i >= 0 ? i : undefined;
}

/** One error for many bad items: the first 20, the count of the rest, and the fix. */
export function listProblems(where: string, problems: string[], what: string, fix: string): InputError {
  const shown = problems
    .slice(0, 20)
    .map((p) => `  ${p}`)
    .join('\n');
  const more = problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : '';
  return new InputError(`${where}: ${problems.length} ${what}:\n${shown}${more}\n${fix}`);
}
