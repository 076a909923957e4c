// Word validation as the reference filters (datasets/generate_text.py), exposed as margins:
//   CLIP anchor margin  m_clip(w)  = cos(e(w), a_own) - max_{k != own} cos(e(w), a_k)   (all words)
//   logit margin        m_logit(w) = z_own - max_{k != own} z_k, z = W_erm P(e(w)) + b_erm (targets)
// e(w) embeds the neutral prompt. A word passes iff its margins are > 0. Two checks the
// reference could not need are added: a word made only of tokens CLIP does not know, and a
// repeat of a word already in the same list.
import type { WordScore } from '../../protocol/events';
import type { Experiment } from '../../experiment';
import type { ClipTokenizer } from '../clip/tokenizer';

export interface WordItem {
  list: 'targets' | 'spurious';
  group: string;
  groupIndex: number;
  /** position in its list */
  index: number;
  /** as written in the experiment file */
  text: string;
  /** what goes into the prompts */
  word: string;
}

export function normalizeWord(text: string, lowercase: boolean): string {
  const t = text.trim().replace(/\s+/g, ' ');
  return lowercase ? t.toLowerCase() : t;
}

export function collectWords(exp: Experiment): WordItem[] {
  const items: WordItem[] = [];
  const lower = exp.task.lowercaseWords;
  exp.task.classes.forEach((c, gi) => {
    (exp.words.targets[c] ?? []).forEach((w, index) =>
      items.push({ list: 'targets', group: c, groupIndex: gi, index, text: w.text, word: normalizeWord(w.text, lower) }),
    );
  });
  exp.task.spurious.values.forEach((v, gi) => {
    (exp.words.spurious[v] ?? []).forEach((w, index) =>
      items.push({ list: 'spurious', group: v, groupIndex: gi, index, text: w.text, word: normalizeWord(w.text, lower) }),
    );
  });
  return items;
}

function norm(v: Float32Array | Float64Array, off: number, d: number): number {
  let s = 0;
  for (let i = 0; i < d; i++) s += v[off + i] * v[off + i];
  return Math.sqrt(s) || 1;
}

/** cos(row i of E, each anchor) */
export function anchorCosines(E: Float32Array, i: number, anchors: Float32Array, k: number, d: number): number[] {
  const ne = norm(E, i * d, d);
  const out: number[] = [];
  for (let a = 0; a < k; a++) {
    let dot = 0;
    for (let j = 0; j < d; j++) dot += E[i * d + j] * anchors[a * d + j];
    out.push(dot / (ne * norm(anchors, a * d, d)));
  }
  return out;
}

/** own - max(others); ties resolve against the word, as argmax takes the first index */
export function margin(values: number[], own: number): number {
  let best = -Infinity;
  values.forEach((v, k) => {
    if (k !== own && v > best) best = v;
  });
  return values[own] - best;
}

export interface ScoreInputs {
  items: WordItem[];
  /** neutral-prompt embeddings, one row per item, [items.length, d] */
  embeddings: Float32Array;
  d: number;
  targetAnchors: Float32Array;
  spuriousAnchors: Float32Array;
  /** logits of the ERM head on P(e), one row per item, [items.length, C]; only target rows are read */
  logits: Float64Array;
  classes: number;
  tokenizer: Pick<ClipTokenizer, 'hasUnknown'>;
}

export function scoreWordItems(s: ScoreInputs): WordScore[] {
  const seen = new Map<string, string>();
  return s.items.map((item, i) => {
    const anchors = item.list === 'targets' ? s.targetAnchors : s.spuriousAnchors;
    const k = anchors.length / s.d;
    const clipMargin = margin(anchorCosines(s.embeddings, i, anchors, k, s.d), item.groupIndex);
    const logitMargin =
      item.list === 'targets' ? margin(Array.from(s.logits.subarray(i * s.classes, (i + 1) * s.classes)), item.groupIndex) : undefined;
    const reasons: string[] = [];
    const key = `${item.list}\u0000${item.group}\u0000${item.word}`;
    if (seen.has(key)) reasons.push(`duplicate of "${seen.get(key)}" in this list`);
    else seen.set(key, item.text);
    if (s.tokenizer.hasUnknown(item.word)) reasons.push("contains words CLIP's tokenizer does not know");
    if (!(clipMargin > 0)) reasons.push(`CLIP puts it closer to another ${item.list === 'targets' ? 'class' : 'value'}'s anchor`);
    if (logitMargin !== undefined && !(logitMargin > 0)) reasons.push('the classifier reads its projection as another class');
    return {
      list: item.list,
      group: item.group,
      index: item.index,
      text: item.text,
      clipMargin,
      logitMargin,
      pass: reasons.length === 0,
      reason: reasons.length ? reasons.join('; ') : undefined,
    };
  });
}

/** Unique accepted words per group, in file order: targets per class, spurious per value. */
export function acceptedWords(items: WordItem[], scores: WordScore[], exp: Experiment): { targets: string[][]; spurious: string[][] } {
  const targets = exp.task.classes.map(() => [] as string[]);
  const spurious = exp.task.spurious.values.map(() => [] as string[]);
  items.forEach((item, i) => {
    if (!scores[i].pass) return;
    const lists = item.list === 'targets' ? targets : spurious;
    if (!lists[item.groupIndex].includes(item.word)) lists[item.groupIndex].push(item.word);
  });
  return { targets, spurious };
}
