// Turning a model's answer into clean words: JSON first (validated with zod), then a
// plain-text list parser for servers that ignore or refuse structured output.
import { z } from 'zod';

const wordsObject = z.object({ words: z.array(z.string()) });
const wordsArray = z.array(z.string());
const anyStringArrays = z.record(z.string(), z.unknown());

const LIST_MARKER = /^\s*(?:\(?\d{1,3}[.):\]]|\d{1,3}\s+-|[-*•‣◦·–—+])\s*/u;
const QUOTES = /^[\s"'`“”‘’«»„]+|[\s"'`“”‘’«»„]+$/gu;

/** trim, strip numbering, bullets, quotes and trailing punctuation, collapse spaces. */
export function normalizeWord(raw: string, lowercase: boolean): string {
  let s = raw.replace(/\*\*|__/g, '').trim();
  s = s.replace(LIST_MARKER, '');
  s = s.replace(QUOTES, '');
  s = s.replace(/[.,;:!?]+$/u, '').replace(QUOTES, '');
  s = s.replace(/\s+/gu, ' ').trim();
  return lowercase ? s.toLowerCase() : s;
}

/** Case- and space-insensitive identity used for de-duplication. */
export function wordKey(text: string): string {
  return text.normalize('NFKC').replace(/\s+/gu, ' ').trim().toLowerCase();
}

function stripFences(s: string): string {
  const m = /```(?:json)?\s*([\s\S]*?)```/i.exec(s);
  return m ? m[1]! : s;
}

/** JSON answers: {"words": [...]}, a bare array, or an object with one string array under another key. */
export function parseJsonWords(content: string): string[] | undefined {
  let json: unknown;
  try {
    json = JSON.parse(stripFences(content).trim());
  } catch {
    return undefined;
  }
  const obj = wordsObject.safeParse(json);
  if (obj.success) return obj.data.words;
  const arr = wordsArray.safeParse(json);
  if (arr.success) return arr.data;
  const rec = anyStringArrays.safeParse(json);
  if (rec.success) {
    const arrays = Object.values(rec.data)
      .map((v) => wordsArray.safeParse(v))
      .filter((r) => r.success);
    if (arrays.length === 1) return arrays[0]!.data;
  }
  return undefined;
}

/**
 * Prose answers. When the text has list items (numbered or bulleted) only those count, so
 * "Here are 20 kinds of ..." and closing remarks are dropped; otherwise a single line is
 * split on commas and several lines are taken one per line. A trailing " - explanation"
 * or ": explanation" is cut, since models like to annotate.
 */
export function parseTextWords(content: string, keepSentences = false): string[] {
  const text = stripFences(content);
  // A truncated or slightly broken JSON answer: salvage the complete strings.
  if (/^\s*[[{]/.test(text)) {
    const strings = [...text.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!).filter((s) => s !== 'words');
    if (strings.length) return strings;
  }
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const items = lines.filter((l) => LIST_MARKER.test(l) && !/^[-*_]{3,}$/.test(l));
  let picked: string[];
  if (items.length > 0) picked = items;
  else if (lines.length === 1) picked = lines[0]!.split(/[,;]/);
  else picked = lines.filter((l) => !l.endsWith(':'));
  return picked
    .map((l) =>
      l
        .replace(LIST_MARKER, '')
        .replace(/\s+[-–—]\s+.*$|:\s+.*$|\s+\(.*\)$/u, '')
        .trim(),
    )
    .filter((l) => keepSentences || !looksLikeSentence(l));
}

/** "I cannot help with that." is prose, not a word; "Northern cardinal." is a word. */
function looksLikeSentence(s: string): boolean {
  return /[.!?]$/.test(s) && s.split(/\s+/).length >= 4;
}

/** Raw strings out of an answer: JSON when it parses and validates, the text parser otherwise. */
export function extractWords(content: string): string[] {
  return parseJsonWords(content) ?? parseTextWords(content);
}

function isJson(content: string): boolean {
  try {
    JSON.parse(stripFences(content).trim());
    return true;
  } catch {
    return false;
  }
}

/** An HTML page (a proxy's error page, a login form, a base URL that is a web site, not the API). */
export function looksLikeHtml(content: string): boolean {
  const head = content.trimStart().slice(0, 512).toLowerCase();
  return (
    /^<(?:!doctype html|html|head|body|meta|title|div|p|h1|center)[\s>]/.test(head) ||
    /<\/(?:html|body|head|title)>/.test(content.slice(0, 4096).toLowerCase())
  );
}

/**
 * A plausible item of a word list, once normalised: a short phrase of letters (digits, spaces,
 * hyphens, apostrophes, periods and ampersands inside it are fine: "1950s diner", "St. Bernard",
 * "black-and-white warbler"); no markup, brackets, symbols or sentence punctuation.
 */
export function plausibleWord(text: string): boolean {
  if (!text || text.length > 60 || text.split(/\s+/u).length > 6) return false;
  if (!/\p{L}/u.test(text)) return false;
  return /^[\p{L}\p{N}][\p{L}\p{M}\p{N} '’\-.&]*$/u.test(text);
}

export type AnswerReading =
  | { ok: true; words: string[]; via: 'json' | 'list'; /** JSON items that are not short phrases, left out */ dropped: string[] }
  | { ok: false; why: string; fatal?: boolean };

/**
 * Reads an answer as a word list, or says why it is not one. Accepted: the requested JSON
 * structure (or one of its near forms, see parseJsonWords), or a plausible list: one item per
 * line (numbered, bulleted or bare) or per comma, each a short phrase of letters. An answer
 * with any other item (prose, markup, symbols) is refused as a whole: a list that is half
 * garbage is not a list to write into the experiment file.
 */
export function readWordAnswer(content: string): AnswerReading {
  if (!content.trim()) return { ok: false, why: 'the answer was empty' };
  if (looksLikeHtml(content))
    return {
      ok: false,
      why: 'the answer is an HTML page, not a word list: is the base URL the API (it usually ends in /v1), not a web page, a proxy or a login page?',
      fatal: true,
    };
  const json = parseJsonWords(content);
  if (json) {
    // the requested structure: its items that are not short phrases are left out, not the answer
    const good = json.filter((w) => plausibleWord(normalizeWord(w, false)));
    const dropped = json.filter((w) => normalizeWord(w, false) && !plausibleWord(normalizeWord(w, false)));
    if (good.length || json.length === 0) return { ok: true, words: good, via: 'json', dropped };
    return {
      ok: false,
      why: `none of the items of its JSON list is a word or a short phrase (${JSON.stringify(dropped[0]?.slice(0, 40))})`,
    };
  }
  if (isJson(content)) return { ok: false, why: 'it is JSON, but not the requested {"words": [...]}' };
  // sentences are kept here, to be refused: "I am sorry, but I cannot help with that." is no list
  const raw = parseTextWords(content, true).filter((w) => normalizeWord(w, false).length > 0);
  if (raw.length === 0) return { ok: false, why: 'it holds no list items' };
  const items = raw.map((w) => normalizeWord(w, false));
  const bad = raw.filter((w) => looksLikeSentence(w) || !plausibleWord(normalizeWord(w, false)));
  if (bad.length) return { ok: false, why: `it is not a list of short phrases (${JSON.stringify(bad[0]!.slice(0, 40))} is not one)` };
  return { ok: true, words: items, via: 'list', dropped: [] };
}
