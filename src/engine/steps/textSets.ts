// Step "text-set": the accepted target and spurious words of every projector candidate, embedded
// under the templates. The training set of a candidate (every accepted target x spurious pair,
// projected) is built only when the retrain step gets to it, so the lambda grid costs one set's
// memory, not one per candidate.
import type { WordScore } from '../../protocol/events';
import { InputError } from '../../shared/errors';
import { embedPrompts, type PromptEmbeddings } from '../text/embedPrompts';
import { acceptedWords, type WordItem } from '../text/scoreWords';
import { OPENAI_IMAGENET_TEMPLATES } from '../text/templates';
import { buildTextSet, type TextSet } from '../text/textSet';
import { prototype, templateMean } from '../math/zeroShot';
import type { StepContext } from './context';
import type { LoadedClip } from './models';
import type { Projectors } from './projector';

type Accepted = { targets: string[][]; spurious: string[][] };

export interface TextSide {
  /** per projector candidate */
  accepted: Accepted[];
  /** per projector candidate: every class has an accepted target word, so it can be trained */
  usable: boolean[];
  templates: number;
  promptsEncoded: number;
  /** the training set of projector candidate k, built now */
  buildSet(k: number): Promise<TextSet>;
  /** per spurious value: its anchor and accepted words as one CLIP prototype, and how many words went in */
  spuriousPrototypes(): Promise<{ prototypes: Float32Array[]; words: number[] }>;
}

export async function prepareTextSide(
  ctx: StepContext,
  items: WordItem[],
  scoresPerProjector: WordScore[][],
  clip: LoadedClip,
  projectors: Projectors,
  D: number,
  useTemplates: boolean,
): Promise<TextSide> {
  const exp = ctx.loaded.experiment;
  const { task, settings } = exp;
  const d = clip.model.dim;
  const templates = useTemplates && settings.templates === 'openai80' ? OPENAI_IMAGENET_TEMPLATES : [task.neutralPrompt];
  // the noWordFilter ablation trains on every word, as if each had passed
  const passAll = settings.ablations.noWordFilter;
  const accepted = scoresPerProjector.map((scores) =>
    acceptedWords(items, passAll ? scores.map((s) => ({ ...s, pass: true })) : scores, exp),
  );
  // spurious words pass on their CLIP margin alone, the same for every lambda
  accepted[0].spurious.forEach((w, v) => {
    if (!w.length)
      throw new InputError(
        `${ctx.loaded.file}: no spurious word of "${task.spurious.values[v]}" passes validation. Add words to words.spurious["${task.spurious.values[v]}"] and score them.`,
      );
  });
  // target words pass on the classifier's logits through the projector: a lambda may leave a class empty
  const emptyClass = accepted.map((a) => a.targets.findIndex((w) => w.length === 0));
  const usable = emptyClass.map((c) => c < 0);
  if (!usable.some(Boolean)) {
    const c = emptyClass[0];
    const which = projectors.candidates.length > 1 ? ` at any lambda of settings.lambda` : '';
    throw new InputError(
      `${ctx.loaded.file}: no target word of class "${task.classes[c]}" passes validation${which}. Add words to words.targets["${task.classes[c]}"] and score them.`,
    );
  }
  emptyClass.forEach((c, k) => {
    if (c >= 0)
      ctx.log(
        'warn',
        `lambda ${projectors.candidates[k].lambda} is left out: no target word of class "${task.classes[c]}" passes validation with it`,
        'text-set',
      );
  });
  const vocab = [...new Set(accepted.filter((_, k) => usable[k]).flatMap((a) => [...a.targets.flat(), ...a.spurious.flat()]))];
  const emb: PromptEmbeddings = await embedPrompts(clip.model, ctx.cache, clip.textNamespace, vocab, templates, {
    signal: ctx.signal,
    onProgress: (done, total) => ctx.progress('text-set', done, total, 'encoding prompts'),
  });
  const row = new Map(vocab.map((w, i) => [w, i]));
  return {
    accepted,
    usable,
    templates: templates.length,
    promptsEncoded: emb.encoded,
    buildSet(k) {
      const { P } = projectors.candidates[k];
      return buildTextSet(
        {
          targets: accepted[k].targets.map((ws) => ws.map((w) => row.get(w)!)),
          spurious: accepted[k].spurious.map((ws) => ws.map((w) => row.get(w)!)),
          embeddings: emb.data,
          templates: templates.length,
          d,
          W: P.W,
          b: P.b,
          D,
          relu: projectors.relu,
          normalize: settings.normalize === 'clip',
        },
        ctx.threads,
      );
    },
    async spuriousPrototypes() {
      // spurious words pass on their CLIP margin alone, the same for every lambda
      const anchors = await embedPrompts(clip.model, ctx.cache, clip.textNamespace, task.spuriousAnchors, ['{}'], { signal: ctx.signal });
      const words = accepted[0].spurious;
      return {
        prototypes: words.map((ws, v) =>
          prototype(
            [anchors.data.slice(v * d, (v + 1) * d), ...ws.map((w) => templateMean(emb.data, row.get(w)!, templates.length, d))],
            d,
          ),
        ),
        words: words.map((ws) => ws.length),
      };
    },
  };
}
