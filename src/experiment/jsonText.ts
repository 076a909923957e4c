// Minimal-diff edits of JSON text: the experiment file is the source of truth and is
// versioned, so an edit from the webview must change only the value it targets and leave
// formatting, key order and everything else byte-for-byte as it was.
// Pure (no 'vscode'): unit-tested.

export type JsonNode =
  | { type: 'object'; offset: number; end: number; props: { key: string; keyOffset: number; value: JsonNode }[] }
  | { type: 'array'; offset: number; end: number; items: JsonNode[] }
  | { type: 'string' | 'number' | 'boolean' | 'null'; offset: number; end: number };

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Parses strict JSON into a tree of offsets ([offset, end) ranges into the text). */
export function parseJsonTree(text: string): JsonNode {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r' || text[i] === '\uFEFF')) i++;
  };
  const fail = (what: string): never => {
    throw new JsonSyntaxError(what, i);
  };
  const str = (): number => {
    const start = i;
    if (text[i] !== '"') fail('expected a string');
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      i++;
    }
    if (i >= text.length) fail('unterminated string');
    i++;
    return start;
  };
  const value = (): JsonNode => {
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const props: { key: string; keyOffset: number; value: JsonNode }[] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { type: 'object', offset: start, end: i, props };
      }
      for (;;) {
        ws();
        const keyOffset = str();
        const key = JSON.parse(text.slice(keyOffset, i)) as string;
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        props.push({ key, keyOffset, value: value() });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { type: 'object', offset: start, end: i, props };
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { type: 'array', offset: start, end: i, items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { type: 'array', offset: start, end: i, items };
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') {
      str();
      return { type: 'string', offset: start, end: i };
    }
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) return fail('unexpected character');
    i += m[0].length;
    const t = m[0] === 'true' || m[0] === 'false' ? 'boolean' : m[0] === 'null' ? 'null' : 'number';
    return { type: t, offset: start, end: i };
  };
  const root = value();
  ws();
  if (i < text.length) fail('unexpected text after the JSON value');
  return root;
}

export type JsonPath = (string | number)[];

export function findNode(root: JsonNode, path: JsonPath): JsonNode | undefined {
  let node: JsonNode | undefined = root;
  for (const seg of path) {
    if (!node) return undefined;
    if (node.type === 'object' && typeof seg === 'string') {
      // the last duplicate key wins, as in JSON.parse
      node = [...node.props].reverse().find((p) => p.key === seg)?.value;
    } else if (node.type === 'array' && typeof seg === 'number') {
      node = node.items[seg];
    } else return undefined;
  }
  return node;
}

export interface TextFormat {
  indentUnit: string;
  eol: string;
}

export function detectFormat(text: string): TextFormat {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const m = /\n([ \t]+)\S/.exec(text);
  return { indentUnit: m ? (m[1]!.startsWith('\t') ? '\t' : m[1]!.length <= 8 ? m[1]! : '  ') : '  ', eol };
}

function lineIndent(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

/** JSON.stringify with the document's indentation, continuing at `baseIndent`. */
function serialize(value: unknown, baseIndent: string, fmt: TextFormat): string {
  const s = JSON.stringify(value, null, fmt.indentUnit);
  return s.split('\n').join(fmt.eol + baseIndent);
}

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}

/** Replaces the value at `path`, or inserts it as the last property when only its parent object exists. */
export function setValue(text: string, path: JsonPath, value: unknown): string {
  const root = parseJsonTree(text);
  const fmt = detectFormat(text);
  const existing = findNode(root, path);
  if (existing) {
    return splice(text, existing.offset, existing.end, serialize(value, lineIndent(text, existing.offset), fmt));
  }
  const parentPath = path.slice(0, -1);
  const key = path[path.length - 1];
  const parent = findNode(root, parentPath);
  if (!parent || parent.type !== 'object' || typeof key !== 'string') {
    // build the missing chain of objects from the deepest existing ancestor
    if (parentPath.length === 0) throw new Error(`cannot set ${JSON.stringify(path)}`);
    return setValue(text, parentPath, { [String(key)]: value });
  }
  return insertProperty(text, parent, key, value, fmt);
}

function insertProperty(text: string, obj: Extract<JsonNode, { type: 'object' }>, key: string, value: unknown, fmt: TextFormat): string {
  const last = obj.props[obj.props.length - 1];
  if (last) {
    const indent = lineIndent(text, last.keyOffset);
    const sameLine = !text.slice(obj.offset, last.keyOffset).includes('\n');
    const sep = sameLine ? ', ' : `,${fmt.eol}${indent}`;
    return splice(text, last.value.end, last.value.end, `${sep}${JSON.stringify(key)}: ${serialize(value, indent, fmt)}`);
  }
  const outer = lineIndent(text, obj.offset);
  const inner = outer + fmt.indentUnit;
  return splice(text, obj.offset, obj.end, `{${fmt.eol}${inner}${JSON.stringify(key)}: ${serialize(value, inner, fmt)}${fmt.eol}${outer}}`);
}

/** Removes a property (no-op when absent). */
export function removeProperty(text: string, path: JsonPath): string {
  const root = parseJsonTree(text);
  const parent = findNode(root, path.slice(0, -1));
  const key = path[path.length - 1];
  if (!parent || parent.type !== 'object') return text;
  const idx = parent.props.findIndex((p) => p.key === key);
  if (idx < 0) return text;
  const ranges = parent.props.map((p) => ({ offset: p.keyOffset, end: p.value.end }));
  return removeFromList(text, parent.offset, parent.end, '{}', ranges, idx);
}

/** Removes one element of the array at `path`. */
export function removeArrayItem(text: string, path: JsonPath, index: number): string {
  const arr = findNode(parseJsonTree(text), path);
  if (!arr || arr.type !== 'array' || !arr.items[index]) throw new Error(`no item ${index} at ${JSON.stringify(path)}`);
  return removeFromList(text, arr.offset, arr.end, '[]', arr.items, index);
}

function removeFromList(
  text: string,
  open: number,
  close: number,
  empty: string,
  items: { offset: number; end: number }[],
  index: number,
): string {
  if (items.length === 1) return splice(text, open, close, empty);
  // take the separator on the side that keeps the remaining layout intact
  if (index === 0) return splice(text, items[0]!.offset, items[1]!.offset, '');
  return splice(text, items[index - 1]!.end, items[index]!.end, '');
}

/** Appends values to the array at `path`, one per line in the style of the existing items. */
export function appendArrayItems(text: string, path: JsonPath, values: unknown[]): string {
  if (values.length === 0) return text;
  const fmt = detectFormat(text);
  const arr = findNode(parseJsonTree(text), path);
  if (!arr) return setValue(text, path, values);
  if (arr.type !== 'array') throw new Error(`${JSON.stringify(path)} is not an array`);
  const last = arr.items[arr.items.length - 1];
  if (last) {
    const multiline = text.slice(arr.offset, arr.items[0]!.offset).includes('\n');
    const indent = multiline ? lineIndent(text, last.offset) : '';
    const sep = multiline ? `,${fmt.eol}${indent}` : ', ';
    const compact = !text.slice(last.offset, last.end).includes('\n');
    const ser = (v: unknown) => (compact ? compactJson(v) : serialize(v, indent, fmt));
    return splice(text, last.end, last.end, values.map((v) => sep + ser(v)).join(''));
  }
  const outer = lineIndent(text, arr.offset);
  const inner = outer + fmt.indentUnit;
  const body = values.map((v) => inner + compactJson(v)).join(`,${fmt.eol}`);
  return splice(text, arr.offset, arr.end, `[${fmt.eol}${body}${fmt.eol}${outer}]`);
}

/** One-line JSON with a space after ':' and ',' ({ "text": "oak", "source": "llm" }). */
export function compactJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(compactJson).join(', ')}]`;
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  return entries.length ? `{ ${entries.map(([k, x]) => `${JSON.stringify(k)}: ${compactJson(x)}`).join(', ')} }` : '{}';
}

/** The smallest single replacement turning `a` into `b` (for a WorkspaceEdit that keeps the cursor and undo tidy). */
export function minimalReplace(a: string, b: string): { start: number; end: number; text: string } | undefined {
  if (a === b) return undefined;
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  // never cut a \r\n pair or a surrogate pair in half
  while (start > 0 && (a[start - 1] === '\r' || /[\uD800-\uDBFF]/.test(a[start - 1]!))) start--;
  let ea = a.length;
  let eb = b.length;
  while (ea > start && eb > start && a[ea - 1] === b[eb - 1]) {
    ea--;
    eb--;
  }
  while (ea < a.length && (a[ea] === '\n' || /[\uDC00-\uDFFF]/.test(a[ea]!)) && ea > start) {
    ea++;
    eb++;
  }
  return { start, end: ea, text: b.slice(start, eb) };
}
