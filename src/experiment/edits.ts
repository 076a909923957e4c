// Document <-> webview synchronisation, as pure functions of the JSON text: the webview
// state derived from a document, and the new document text for an edit from the webview.
// No 'vscode' import: unit-tested.
import * as path from 'node:path';
import { experimentSchema } from './schema';
import { describeIssues } from './parse';
import type { WordScore } from '../protocol/events';
import { scoreIndex } from '../protocol/wordScores';
import type { DocState, SetupFieldId, SetupFieldView, WordEdit, WordEntryView, WordListKindId } from '../protocol/webview';
import { appendArrayItems, parseJsonTree, removeArrayItem, removeProperty, setValue, JsonSyntaxError, type JsonPath } from './jsonText';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function readLists(v: unknown): Record<string, WordEntryView[]> {
  const out: Record<string, WordEntryView[]> = {};
  if (!isObj(v)) return out;
  for (const [group, entries] of Object.entries(v)) {
    if (!Array.isArray(entries)) continue;
    out[group] = entries
      .filter(isObj)
      .map((e) => ({ text: str(e.text), source: e.source === 'llm' ? 'llm' : 'user', locked: e.locked === true }));
  }
  return out;
}

const SETUP_FIELDS: { id: SetupFieldId; label: string; kind: 'file' | 'folder'; optional: boolean }[] = [
  { id: 'clip', label: 'CLIP model folder', kind: 'folder', optional: false },
  { id: 'classifier', label: 'Classifier (ONNX)', kind: 'file', optional: false },
  { id: 'train', label: 'Training images', kind: 'file', optional: false },
  { id: 'val', label: 'Validation images', kind: 'file', optional: true },
  { id: 'test', label: 'Test images', kind: 'file', optional: true },
  { id: 'captions', label: 'Caption pairs', kind: 'file', optional: true },
];

/** Where a setup field lives in the file; data sources keep their `embeddings` form if they use it. */
export function setupFieldPath(json: unknown, field: SetupFieldId): JsonPath {
  switch (field) {
    case 'clip':
      return ['models', 'clip', 'dir'];
    case 'classifier':
      return ['models', 'classifier', 'path'];
    case 'captions':
      return ['data', 'captions', 'path'];
    default: {
      const src = isObj(json) && isObj(json.data) ? json.data[field] : undefined;
      return ['data', field, isObj(src) && typeof src.embeddings === 'string' ? 'embeddings' : 'manifest'];
    }
  }
}

function readPath(json: unknown, p: JsonPath): string {
  let v: unknown = json;
  for (const k of p) v = isObj(v) ? v[String(k)] : undefined;
  return str(v);
}

/** The webview's view of a document; never throws (broken JSON becomes an error state). */
export function documentState(text: string, fileName: string): DocState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      fileName,
      error: `The file is not valid JSON: ${(err as Error).message}. Fix it in the text editor (Reopen Editor With… > Text Editor); the words show again once it parses.`,
    };
  }
  if (!isObj(json)) return { ok: false, fileName, error: 'The file must contain a JSON object (an experiment).' };
  const task = isObj(json.task) ? json.task : {};
  const spurious = isObj(task.spurious) ? task.spurious : {};
  const words = isObj(json.words) ? json.words : {};
  const classes = Array.isArray(task.classes) ? task.classes.filter((c): c is string => typeof c === 'string') : [];
  const values = Array.isArray(spurious.values) ? spurious.values.filter((c): c is string => typeof c === 'string') : [];
  const targets = readLists(words.targets);
  const spur = readLists(words.spurious);
  // every class and value gets a table, even before its list exists in the file
  for (const c of classes) targets[c] ??= [];
  for (const v of values) spur[v] ??= [];
  const parsed = experimentSchema.safeParse(json);
  const setup: SetupFieldView[] = SETUP_FIELDS.map((f) => ({ ...f, value: readPath(json, setupFieldPath(json, f.id)) }));
  return {
    ok: true,
    fileName,
    ...(typeof json.name === 'string' ? { name: json.name } : {}),
    classes,
    spuriousName: str(spurious.name),
    spuriousValues: values,
    words: { targets, spurious: spur },
    setup,
    ...(parsed.success ? {} : { problems: describeIssues(fileName, parsed.error) }),
  };
}

export class EditError extends Error {}

function entriesAt(text: string, list: WordListKindId, group: string): WordEntryView[] {
  const json: unknown = JSON.parse(text);
  const lists = isObj(json) && isObj(json.words) ? json.words[list] : undefined;
  return readLists(lists)[group] ?? [];
}

/** Resolves the entry an edit points at, tolerating a stale index (the document changed meanwhile). */
function resolveIndex(entries: WordEntryView[], index: number, text: string): number {
  if (entries[index]?.text === text) return index;
  const found = entries.findIndex((e) => e.text === text);
  if (found < 0) throw new EditError(`"${text}" is no longer in the list; the view has been refreshed.`);
  return found;
}

const normalise = (s: string) => s.trim().toLowerCase();

/** The new document text after a word edit; everything outside the touched entry is kept as it was. */
export function applyWordEdit(text: string, edit: WordEdit): string {
  assertParses(text);
  const listPath: JsonPath = ['words', edit.list, edit.group];
  const entries = entriesAt(text, edit.list, edit.group);
  switch (edit.op) {
    case 'add': {
      const word = edit.text.trim();
      if (entries.some((e) => normalise(e.text) === normalise(word))) throw new EditError(`"${word}" is already in the list.`);
      return appendArrayItems(text, listPath, [{ text: word, source: 'user' }]);
    }
    case 'update': {
      const i = resolveIndex(entries, edit.index, edit.text);
      const word = edit.newText.trim();
      if (word === entries[i]!.text) return text;
      if (entries.some((e, j) => j !== i && normalise(e.text) === normalise(word)))
        throw new EditError(`"${word}" is already in the list.`);
      // a word the user rewrote is the user's
      const next = setValue(text, [...listPath, i, 'text'], word);
      return setValue(next, [...listPath, i, 'source'], 'user');
    }
    case 'delete': {
      const i = resolveIndex(entries, edit.index, edit.text);
      return removeArrayItem(text, listPath, i);
    }
    case 'lock': {
      const i = resolveIndex(entries, edit.index, edit.text);
      return edit.locked ? setValue(text, [...listPath, i, 'locked'], true) : removeProperty(text, [...listPath, i, 'locked']);
    }
  }
}

function assertParses(text: string): void {
  try {
    parseJsonTree(text);
  } catch (err) {
    throw new EditError(
      err instanceof JsonSyntaxError ? `The file is not valid JSON (${err.message}); fix it in the text editor first.` : String(err),
    );
  }
}

/** Removes every scored, failing, unlocked word (optionally in one list or group). */
export function removeFailing(
  text: string,
  scores: readonly WordScore[],
  scope: { list?: WordListKindId; group?: string } = {},
): { text: string; removed: number } {
  assertParses(text);
  const lookup = scoreIndex(scores);
  let out = text;
  let removed = 0;
  for (const list of ['targets', 'spurious'] as const) {
    if (scope.list && scope.list !== list) continue;
    const json: unknown = JSON.parse(out);
    const groups = readLists(isObj(json) && isObj(json.words) ? json.words[list] : undefined);
    for (const [group, entries] of Object.entries(groups)) {
      if (scope.group && scope.group !== group) continue;
      // from the end, so earlier indices stay valid
      for (let i = entries.length - 1; i >= 0; i--) {
        const e = entries[i]!;
        const s = lookup(list, group, i, e.text);
        if (s && !s.pass && !e.locked) {
          out = removeArrayItem(out, ['words', list, group], i);
          removed++;
        }
      }
    }
  }
  return { text: out, removed };
}

/** Adds LLM words that are not in their list yet; returns how many were added. */
export function addGeneratedWords(
  text: string,
  generated: { targets: Record<string, string[]>; spurious: Record<string, string[]> },
): { text: string; added: number } {
  assertParses(text);
  let out = text;
  let added = 0;
  for (const list of ['targets', 'spurious'] as const) {
    for (const [group, words] of Object.entries(generated[list] ?? {})) {
      const have = new Set(entriesAt(out, list, group).map((e) => normalise(e.text)));
      const fresh: { text: string; source: 'llm' }[] = [];
      for (const w of words) {
        const t = w.trim();
        if (!t || /[\r\n]/.test(t) || have.has(normalise(t))) continue;
        have.add(normalise(t));
        fresh.push({ text: t, source: 'llm' });
      }
      if (fresh.length) {
        out = appendArrayItems(out, ['words', list, group], fresh);
        added += fresh.length;
      }
    }
  }
  return { text: out, added };
}

/** Sets a setup path (relative to the experiment file when it lies beside or below it). */
export function setSetupPath(text: string, field: SetupFieldId, value: string): string {
  assertParses(text);
  return setValue(text, setupFieldPath(JSON.parse(text), field), value);
}

/** The path to write into the experiment for a file the user picked. */
export function relativeForExperiment(experimentFile: string, picked: string): string {
  const rel = path.relative(path.dirname(experimentFile), picked);
  if (!rel) return '.';
  return path.isAbsolute(rel) ? picked : rel.split(path.sep).join('/');
}

/** A skeleton experiment for "New Experiment"; the Setup tab then points out what to fill in. */
export function newExperimentText(name: string, classes: string[], spuriousName: string, values: string[]): string {
  const words = (names: string[]) => Object.fromEntries(names.map((n) => [n, []]));
  const exp = {
    version: 1,
    name,
    task: {
      classes,
      spurious: { name: spuriousName, values },
      targetAnchors: classes.map((c) => `a photo of a ${c}.`),
      spuriousAnchors: values.map((v) => `a photo of a ${v}.`),
      neutralPrompt: 'a photo of a {}.',
    },
    models: { clip: { dir: 'models/clip' }, classifier: { path: 'models/classifier.onnx' } },
    data: { train: { manifest: 'data/train.csv' } },
    words: { targets: words(classes), spurious: words(values) },
  };
  return JSON.stringify(exp, null, 2) + '\n';
}
