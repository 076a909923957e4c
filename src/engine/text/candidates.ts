// Candidate keywords for `discover` from three sources (an LLM, the user, the built-in list of
// visual concepts), merged: one entry per keyword up to case, spacing and a plural ending, keeping
// the first spelling (user words first) and every source that proposed it.
import type { CandidateSource } from '../../protocol/discover';
import concepts from './visual-concepts.json';

export const BUILTIN_CONCEPTS: readonly string[] = concepts.concepts;
export const BUILTIN_ORIGIN: string = concepts.origin;

export interface Candidate {
  keyword: string;
  sources: CandidateSource[];
  /** every distinct spelling merged into this keyword, `keyword` first (a tokenizer may know only some) */
  variants: string[];
}

function singular(word: string): string {
  if (word.length <= 3) return word;
  if (word.endsWith('ies')) return word.slice(0, -3) + 'y';
  if (/(ss|sh|ch|x|z)es$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s') && !word.endsWith('ss') && !word.endsWith('us') && !word.endsWith('is')) return word.slice(0, -1);
  return word;
}

/** The identity two spellings of one keyword share: case, spaces and a plural ending ignored. */
export function candidateKey(text: string): string {
  const words = text.normalize('NFKC').trim().toLowerCase().split(/\s+/u).filter(Boolean);
  if (words.length) words[words.length - 1] = singular(words[words.length - 1]);
  return words.join(' ');
}

/** Cleaned keyword text: trimmed, inner whitespace collapsed; empty or multi-line texts are dropped. */
function clean(text: string): string | undefined {
  const t = text.replace(/\s+/gu, ' ').trim();
  return t && t.length <= 60 ? t : undefined;
}

export function mergeCandidates(lists: { source: CandidateSource; words: readonly string[] }[]): Candidate[] {
  const byKey = new Map<string, Candidate>();
  const order: CandidateSource[] = ['user', 'llm', 'builtin'];
  const sorted = [...lists].sort((a, b) => order.indexOf(a.source) - order.indexOf(b.source));
  for (const { source, words } of sorted) {
    for (const w of words) {
      const text = clean(w);
      if (!text) continue;
      const key = candidateKey(text);
      const have = byKey.get(key);
      if (!have) byKey.set(key, { keyword: text, sources: [source], variants: [text] });
      else {
        if (!have.sources.includes(source)) have.sources.push(source);
        if (!have.variants.includes(text)) have.variants.push(text);
      }
    }
  }
  return [...byKey.values()];
}
