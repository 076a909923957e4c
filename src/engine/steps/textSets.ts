// Step "text-set": the accepted target x spurious word pairs, embedded under the templates and
// projected, one group-balanced training set per projector candidate.
import type { WordScore } from '../../protocol/events';
import type { RetrainResolved } from '../../protocol/runRecord';
import { InputError } from '../../shared/errors';
import { embedPrompts } from '../text/embedPrompts';
import { acceptedWords, type WordItem } from '../text/scoreWords';
import { OPENAI_IMAGENET_TEMPLATES } from '../text/templates';
import { buildTextSet, type TextSet } from '../text/textSet';
import type { StepContext } from './context';
import type { LoadedClip } from './models';
import type { Projectors } from './projector';

export interface TextSets {
  /** one per projector candidate */
  sets: TextSet[];
  templates: number;
  promptsEncoded: number;
}

export async function buildTextSets(
  ctx: StepContext,
  items: WordItem[],
  scoresPerProjector: WordScore[][],
  clip: LoadedClip,
  projectors: Projectors,
  retrain: RetrainResolved,
  D: number,
): Promise<TextSets> {
  const exp = ctx.loaded.experiment;
  const { task } = exp;
  const d = clip.model.dim;
  const templates =
    retrain.templateAugmentation && exp.settings.templates === 'openai80' ? OPENAI_IMAGENET_TEMPLATES : [task.neutralPrompt];
  const accepted = scoresPerProjector.map((scores) => acceptedWords(items, scores, exp));
  accepted.forEach((a, k) => {
    const which = projectors.candidates.length > 1 ? ` (lambda ${projectors.candidates[k].lambda})` : '';
    a.targets.forEach((w, c) => {
      if (!w.length)
        throw new InputError(
          `${ctx.loaded.file}: no target word of class "${task.classes[c]}" passes validation${which}. Add words to words.targets["${task.classes[c]}"] and score them.`,
        );
    });
    a.spurious.forEach((w, v) => {
      if (!w.length)
        throw new InputError(
          `${ctx.loaded.file}: no spurious word of "${task.spurious.values[v]}" passes validation. Add words to words.spurious["${task.spurious.values[v]}"] and score them.`,
        );
    });
  });
  const vocab = [...new Set(accepted.flatMap((a) => [...a.targets.flat(), ...a.spurious.flat()]))];
  const emb = await embedPrompts(clip.model, ctx.cache, clip.textNamespace, vocab, templates, {
    signal: ctx.signal,
    onProgress: (done, total) => ctx.progress('text-set', done, total, 'encoding prompts'),
  });
  const row = new Map(vocab.map((w, i) => [w, i]));
  const sets = accepted.map((a, k) => {
    const { P } = projectors.candidates[k];
    return buildTextSet({
      targets: a.targets.map((ws) => ws.map((w) => row.get(w)!)),
      spurious: a.spurious.map((ws) => ws.map((w) => row.get(w)!)),
      embeddings: emb.data,
      templates: templates.length,
      d,
      W: P.W,
      b: P.b,
      D,
      relu: projectors.relu,
      normalize: exp.settings.normalize === 'clip',
    });
  });
  return { sets, templates: templates.length, promptsEncoded: emb.encoded };
}
