// Step "discover": which concepts does the classifier lean on? Needs only class labels on val.
// Per class, val images are split into correctly classified and misclassified by the user's
// classifier; every candidate keyword gets the B2T score (math/b2t.ts) on CLIP embeddings: its
// template-averaged text embedding ("a photo of a {}." and the 79 other ImageNet templates,
// each normalised, averaged, normalised again) against the normalised image embeddings. Images
// and prompts go through the same cache and encoders as a run, so a run's val images cost nothing.
import type { Discovery, ClassDiscovery, KeywordScore } from '../../protocol/discover';
import { InputError } from '../../shared/errors';
import { readImageSource } from '../data/readSource';
import { encodeImages, skippedImagesMessage } from '../images/encodeImages';
import { b2tScore, drawResamples, topRows } from '../math/b2t';
import { predict } from '../math/linearHead';
import { deriveSeed } from '../math/rng';
import { l2normalizeRows } from '../math/vectors';
import { embedPrompts } from '../text/embedPrompts';
import { OPENAI_IMAGENET_TEMPLATES } from '../text/templates';
import { normalizeWord } from '../text/scoreWords';
import type { Candidate } from '../text/candidates';
import type { StepContext } from './context';
import { loadClassifier, loadClipModels, type LoadedClassifier, type LoadedClip } from './models';

export interface DiscoverSettings {
  resamples: number;
  level: number;
  /** thumbnails kept per keyword and group */
  gallery: number;
}

/** fewer misclassified images than this in a class: its ranking gets a warning */
const FEW_ERRORS = 10;

export const DEFAULT_DISCOVER_SETTINGS: DiscoverSettings = { resamples: 1000, level: 0.95, gallery: 8 };

type Result = Omit<Discovery, 'id' | 'experiment' | 'createdAt' | 'seconds'>;

/** Template-averaged, normalised text embeddings: [words, T, d] -> [words, d]. */
export function averageTemplates(data: Float32Array, words: number, T: number, d: number): Float32Array {
  const each = l2normalizeRows(data, d);
  const out = new Float32Array(words * d);
  for (let w = 0; w < words; w++)
    for (let t = 0; t < T; t++) {
      const off = (w * T + t) * d;
      for (let j = 0; j < d; j++) out[w * d + j] += each[off + j];
    }
  return l2normalizeRows(out, d);
}

export async function discoverStep(ctx: StepContext, candidates: Candidate[], settings: DiscoverSettings): Promise<Result> {
  const { loaded } = ctx;
  const exp = loaded.experiment;
  if (!exp.data.val)
    throw new InputError(
      `${loaded.file}: discover needs a val split (data.val) with class labels: it compares the images the classifier gets wrong with those it gets right. Add data.val.`,
    );
  const listed = readImageSource(exp.data.val, exp.task, loaded.resolve);
  if (!listed)
    throw new InputError(
      `${loaded.file}: data.val is precomputed embeddings; discover needs the val images themselves (to show them). Point data.val at a manifest, an image folder or CelebA.`,
    );
  const labelled = listed.filter((r) => r.label !== null);
  if (labelled.length === 0)
    throw new InputError(
      `${loaded.file}: no val image has a class label (data.val). discover needs class labels on val (spurious labels are not needed); add a label column.`,
    );
  if (candidates.length === 0)
    throw new InputError('No candidate keywords: give words (--words), allow the built-in list, or configure an LLM.');
  const warnings: string[] = [];
  if (labelled.length < listed.length) warnings.push(`${listed.length - labelled.length} val images without a class label were left out.`);

  const models: { classifier?: LoadedClassifier; clip?: LoadedClip } = {};
  try {
    const [classifier, clip] = await Promise.all([loadClassifier(ctx), loadClipModels(ctx)]);
    Object.assign(models, { classifier, clip });
    const C = exp.task.classes.length;
    if (classifier.info.numClasses !== C)
      throw new InputError(
        `${classifier.path}: the classifier has ${classifier.info.numClasses} outputs but task.classes lists ${C} classes. List the classes in the model's output order.`,
      );
    const enc = await ctx.step(
      'encode-images',
      () =>
        encodeImages(
          labelled.map((r) => r.path),
          [classifier.encoder, clip.imageEncoder],
          {
            cache: ctx.cache,
            batchSize: exp.settings.batchSize,
            decode: { exifOrientation: exp.settings.exifOrientation },
            skipUnreadable: exp.settings.skipUnreadable,
            source: 'data.val',
            signal: ctx.signal,
            onProgress: (done, total) => ctx.progress('encode-images', done, total),
          },
        ),
      (r) => `${r.kept.length} val images: ${r.encoded} encoded, ${r.cached} from cache`,
    );
    if (enc.unreadable.length) warnings.push(skippedImagesMessage('data.val', enc.unreadable));
    const records = enc.kept.map((k) => labelled[k]);
    const n = records.length;
    const D = classifier.info.featureDim;
    const d = clip.model.dim;
    const labels = Int32Array.from(records, (r) => r.label!);
    const pred = predict(classifier.info.weight, classifier.info.bias, enc.outputs[0], n, D, C);
    const images = l2normalizeRows(enc.outputs[1], d);

    return await ctx.step(
      'discover',
      async () => {
        // keywords the tokenizer does not know would all embed as the unknown token: not scored
        const skipped: Result['skipped'] = [];
        const scored: { c: Candidate; word: string }[] = [];
        for (const c of candidates) {
          // the first spelling the tokenizer knows ("Oceans" may be unknown where "ocean" is not)
          const word = (c.variants ?? [c.keyword])
            .map((v) => normalizeWord(v, exp.task.lowercaseWords))
            .find((w) => !clip.model.tokenizer.hasUnknown(w));
          if (word === undefined) skipped.push({ keyword: c.keyword, reason: "unknown to the CLIP model's tokenizer" });
          else scored.push({ c, word });
        }
        if (scored.length === 0)
          throw new InputError(
            `None of the ${candidates.length} candidate keywords is known to the CLIP model's tokenizer (${exp.models.clip.dir}). Give words in its vocabulary.`,
          );
        const T = OPENAI_IMAGENET_TEMPLATES.length;
        const emb = await embedPrompts(
          clip.model,
          ctx.cache,
          clip.textNamespace,
          scored.map((s) => s.word),
          OPENAI_IMAGENET_TEMPLATES,
          { signal: ctx.signal, onProgress: (done, total) => ctx.progress('discover', done, total, 'keyword prompts') },
        );
        const K = scored.length;
        const text = averageTemplates(emb.data, K, T, d);
        // sims[k * n + i] = cos(keyword k, image i)
        const sims = new Float64Array(K * n);
        for (let k = 0; k < K; k++)
          for (let i = 0; i < n; i++) {
            let s = 0;
            for (let j = 0; j < d; j++) s += text[k * d + j] * images[i * d + j];
            sims[k * n + i] = s;
          }
        const classes: ClassDiscovery[] = exp.task.classes.map((name, c) => {
          const wrongRows: number[] = [];
          const rightRows: number[] = [];
          for (let i = 0; i < n; i++) if (labels[i] === c) (pred[i] === c ? rightRows : wrongRows).push(i);
          const base = { class: name, index: c, correct: rightRows.length, misclassified: wrongRows.length };
          if (wrongRows.length === 0) return { ...base, note: 'the classifier makes no error on this class in val', keywords: [] };
          if (rightRows.length === 0)
            return { ...base, note: 'the classifier gets no val image of this class right: nothing to contrast with', keywords: [] };
          const resamples = drawResamples(wrongRows.length, rightRows.length, {
            resamples: settings.resamples,
            seed: deriveSeed(exp.settings.seed, `discover:${name}`),
          });
          const keywords: KeywordScore[] = scored.map(({ c: cand }, k) => {
            const row = sims.subarray(k * n, (k + 1) * n);
            const w = wrongRows.map((i) => row[i]);
            const r = rightRows.map((i) => row[i]);
            const s = b2tScore(w, r, resamples, settings.level);
            return {
              keyword: cand.keyword,
              sources: cand.sources,
              score: s.score,
              ci: s.ci,
              meanMisclassified: s.meanMisclassified,
              meanCorrect: s.meanCorrect,
              topMisclassified: topRows(w, wrongRows, settings.gallery),
              topCorrect: topRows(r, rightRows, settings.gallery),
            };
          });
          keywords.sort((a, b) => b.score - a.score || a.keyword.localeCompare(b.keyword));
          return { ...base, keywords };
        });
        for (const c of classes)
          if (c.misclassified > 0 && c.misclassified < FEW_ERRORS)
            warnings.push(
              `${c.class}: only ${c.misclassified} misclassified val image${c.misclassified === 1 ? '' : 's'}; its ranking rests on ${c.misclassified === 1 ? 'that image' : 'those images'} and its intervals understate the noise. Look at the images, or use a larger val split.`,
            );
        if (classes.every((c) => c.misclassified === 0))
          throw new InputError(
            `The classifier makes no errors on the ${n} val images, so there is nothing to explain: discover ranks keywords by how much more they match the misclassified images. Use a larger or harder val split.`,
          );
        return {
          version: 1 as const,
          seed: exp.settings.seed,
          bootstrap: { resamples: settings.resamples, level: settings.level },
          templates: T,
          classes,
          images: records.map((r, i) => ({ path: r.path, label: labels[i], predicted: pred[i] })),
          skipped,
          sources: {},
          warnings,
        };
      },
      (r) =>
        r.classes
          .map((c) => `${c.class}: ${c.misclassified} wrong / ${c.correct} right${c.keywords[0] ? `, top "${c.keywords[0].keyword}"` : ''}`)
          .join('; '),
    );
  } finally {
    await models.classifier?.release();
    await models.clip?.model.release();
  }
}
