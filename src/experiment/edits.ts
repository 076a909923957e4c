// Edits of an experiment document as pure functions of its JSON text: each returns the new text
// with only the touched values changed, so the user's formatting, key order and comments-free
// layout stay byte-for-byte (the editor, the CLI's words --generate and the discover step use them).
import * as path from 'node:path';
import type { WordListKind, WordScore } from '../protocol/events';
import { scoreIndex } from '../protocol/wordScores';
import type { SetupFieldId, SetupOption, WordEdit, WordEntryView } from '../protocol/webview';
import type { SpuriousGrouping } from '../protocol/discover';
import { appendArrayItems, parseJsonTree, removeArrayItem, removeProperty, setValue, JsonSyntaxError, type JsonPath } from './jsonText';
import { lineColumn } from './parse';
import { isObj, readLists, SETUP_OPTION_PATHS, setupFieldPath } from './view';

export class EditError extends Error {}

function entriesAt(text: string, list: WordListKind, group: string): WordEntryView[] {
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
    if (!(err instanceof JsonSyntaxError)) throw err;
    const { line, column } = lineColumn(text, err.offset);
    throw new EditError(`The file is not valid JSON (${err.message} at line ${line}, column ${column}); fix it in the text editor first.`);
  }
}

/** Removes every scored, failing, unlocked word (optionally in one list or group). */
export function removeFailing(
  text: string,
  scores: readonly WordScore[],
  scope: { list?: WordListKind; group?: string } = {},
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

/** Sets one of the Setup tab's options (the CLIP variant, the classifier's resize filter); only that value changes. */
export function setSetupOption(text: string, set: SetupOption): string {
  assertParses(text);
  return setValue(text, [...SETUP_OPTION_PATHS[set.option]], set.value);
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

/**
 * Writes a spurious attribute found by discover: task.spurious (name and values), one anchor
 * prompt per value (kept for a value that keeps its name and position's anchor, else
 * "a photo of a {value}."), and the grouped keywords as that value's spurious words (appended
 * to a list the value already has; lists of values that are gone are removed). Only those
 * values change in the text; the class words and everything else keep their bytes.
 */
export function applySpuriousGrouping(text: string, grouping: SpuriousGrouping): string {
  assertParses(text);
  const name = grouping.name.trim();
  if (!name) throw new EditError('The spurious attribute needs a name (e.g. "background").');
  const values = grouping.values.map((v) => ({ name: v.name.trim(), words: v.words.map((w) => w.trim()).filter(Boolean) }));
  if (values.length < 2) throw new EditError('A spurious attribute needs at least two values: group the keywords into two or more values.');
  const seen = new Set<string>();
  for (const v of values) {
    if (!v.name) throw new EditError('Every value needs a name.');
    if (seen.has(normalise(v.name))) throw new EditError(`The value "${v.name}" appears twice; give each value its own name.`);
    seen.add(normalise(v.name));
    if (v.words.length === 0) throw new EditError(`The value "${v.name}" has no keywords; give it at least one.`);
  }
  const json: unknown = JSON.parse(text);
  const task = isObj(json) && isObj(json.task) ? json.task : {};
  const oldValues = isObj(task.spurious) && Array.isArray(task.spurious.values) ? (task.spurious.values as unknown[]).map(String) : [];
  const oldAnchors = Array.isArray(task.spuriousAnchors) ? (task.spuriousAnchors as unknown[]).map(String) : [];
  const anchors = values.map((v) => {
    const i = oldValues.findIndex((o) => normalise(o) === normalise(v.name));
    return i >= 0 && oldAnchors[i] ? oldAnchors[i] : `a photo of a ${v.name}.`;
  });
  let out = text;
  const spurious = { name, values: values.map((v) => v.name) };
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!(isObj(task.spurious) && same({ name: task.spurious.name, values: task.spurious.values }, spurious)))
    out = setValue(out, ['task', 'spurious'], spurious);
  if (!same(task.spuriousAnchors, anchors)) out = setValue(out, ['task', 'spuriousAnchors'], anchors);
  for (const v of values) {
    const have = new Set(entriesAt(out, 'spurious', v.name).map((e) => normalise(e.text)));
    const fresh: { text: string; source: 'user' }[] = [];
    for (const w of v.words) {
      if (have.has(normalise(w))) continue;
      have.add(normalise(w));
      fresh.push({ text: w, source: 'user' });
    }
    out = appendArrayItems(out, ['words', 'spurious', v.name], fresh);
  }
  const lists = JSON.parse(out) as { words?: { spurious?: Record<string, unknown> } };
  for (const old of Object.keys(lists.words?.spurious ?? {}))
    if (!values.some((v) => v.name === old)) out = removeProperty(out, ['words', 'spurious', old]);
  return out;
}
