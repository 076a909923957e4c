// The webview's view of an experiment document, as a pure function of its JSON text. It never
// throws: a broken file becomes an error state, and schema problems are listed beside the words.
import { experimentSchema } from './schema';
import { describeIssues, parseJsonText } from './parse';
import type { JsonPath } from './jsonText';
import type { DocState, SetupFieldId, SetupFieldView, WordEntryView } from '../protocol/webview';

type Json = Record<string, unknown>;
export const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export function readLists(v: unknown): Record<string, WordEntryView[]> {
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

/** Where the Setup tab's options live in the file. */
export const SETUP_OPTION_PATHS = {
  clipVariant: ['models', 'clip', 'variant'],
  resample: ['models', 'classifier', 'preprocessing', 'resample'],
} as const satisfies Record<string, JsonPath>;

/** Where a setup field lives in the file; data sources keep their form (embeddings, imageFolder, celeba) if they use one. */
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
      const form = (['embeddings', 'imageFolder', 'celeba'] as const).find((k) => isObj(src) && typeof src[k] === 'string');
      return ['data', field, form ?? 'manifest'];
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
    json = parseJsonText(fileName, text);
  } catch (err) {
    return {
      ok: false,
      fileName,
      error: `${(err as Error).message} Open it in the text editor (Reopen Editor With… > Text Editor); the words show again once it parses.`,
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
  const setup: SetupFieldView[] = SETUP_FIELDS.map((f) => {
    const at = setupFieldPath(json, f.id);
    // an image folder or CelebA source is picked as a folder
    const kind = at.at(-1) === 'imageFolder' || at.at(-1) === 'celeba' ? 'folder' : f.kind;
    return { ...f, kind, value: readPath(json, at) };
  });
  const options = {
    clipVariant: readPath(json, SETUP_OPTION_PATHS.clipVariant) || 'auto',
    resample: readPath(json, SETUP_OPTION_PATHS.resample) || 'bicubic',
  };
  return {
    ok: true,
    fileName,
    ...(typeof json.name === 'string' ? { name: json.name } : {}),
    classes,
    spuriousName: str(spurious.name),
    spuriousValues: values,
    words: { targets, spurious: spur },
    setup,
    options,
    ...(parsed.success ? {} : { problems: describeIssues(fileName, parsed.error) }),
  };
}
