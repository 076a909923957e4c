// What every data reader returns, and the helpers their error messages share.
import { InputError } from '../../shared/errors';

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

/** Items one per line, indented: the first 20 and a count of the rest. */
export function formatList(items: string[], max = 20): string {
  const shown = items
    .slice(0, max)
    .map((p) => `  ${p}`)
    .join('\n');
  return items.length > max ? `${shown}\n  ... and ${items.length - max} more` : shown;
}

/** One error for many bad items: the first 20, the count of the rest, and the fix. */
export function listProblems(where: string, problems: string[], what: string, fix: string): InputError {
  return new InputError(`${where}: ${problems.length} ${what}:\n${formatList(problems)}\n${fix}`);
}
