// Step "score-words": every word's CLIP anchor margin and (target words) classifier logit margin,
// per projector candidate, from the neutral-prompt embeddings of the words and the anchors.
import type { WordScore } from '../../protocol/events';
import { InputError } from '../../shared/errors';
import { logits, type LinearHead } from '../math/linearHead';
import { project } from '../math/projector';
import { l2normalizeRows } from '../math/vectors';
import { embedPrompts } from '../text/embedPrompts';
import { scoreWordItems, type WordItem } from '../text/scoreWords';
import type { StepContext } from './context';
import type { LoadedClip } from './models';
import type { Projectors } from './projector';

/** One list of scores per projector candidate, in the order of `projectors.candidates`. */
export async function scoreWordsPerProjector(
  ctx: StepContext,
  items: WordItem[],
  clip: LoadedClip,
  erm: LinearHead,
  projectors: Projectors,
  D: number,
): Promise<WordScore[][]> {
  const { task, settings } = ctx.loaded.experiment;
  const d = clip.model.dim;
  const C = task.classes.length;
  if (items.length === 0)
    throw new InputError(
      `${ctx.loaded.file}: the experiment has no words. Add words under words.targets and words.spurious (or generate them).`,
    );
  const words = [...new Set(items.map((i) => i.word))];
  const emb = await embedPrompts(clip.model, ctx.cache, clip.textNamespace, words, [task.neutralPrompt], {
    signal: ctx.signal,
    onProgress: (done, total) => ctx.progress('score-words', done, total),
  });
  const rowOf = new Map(words.map((w, i) => [w, i]));
  const E = new Float32Array(items.length * d);
  items.forEach((it, i) => {
    const r = rowOf.get(it.word)!;
    E.set(emb.data.subarray(r * d, (r + 1) * d), i * d);
  });
  const anchors = await embedPrompts(clip.model, ctx.cache, clip.textNamespace, [...task.targetAnchors, ...task.spuriousAnchors], ['{}'], {
    signal: ctx.signal,
  });
  const targetAnchors = anchors.data.slice(0, task.targetAnchors.length * d);
  const spuriousAnchors = anchors.data.slice(task.targetAnchors.length * d);
  const forProjection = settings.normalize === 'clip' ? l2normalizeRows(E, d) : E;
  return projectors.candidates.map(({ P }) => {
    const feats = project(forProjection, items.length, P.W, P.b, d, D, projectors.relu);
    const z = logits(erm.weight, erm.bias, feats, items.length, D, C);
    return scoreWordItems({
      items,
      embeddings: E,
      d,
      targetAnchors,
      spuriousAnchors,
      logits: z,
      classes: C,
      tokenizer: clip.model.tokenizer,
    });
  });
}

export function summarizeScores(scores: WordScore[]): string {
  const t = scores.filter((s) => s.list === 'targets');
  const s = scores.filter((x) => x.list === 'spurious');
  return `targets ${t.filter((x) => x.pass).length}/${t.length} pass, spurious ${s.filter((x) => x.pass).length}/${s.length} pass`;
}
