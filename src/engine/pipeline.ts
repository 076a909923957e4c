// The TLDR pipeline: encode images -> modality gap -> projector -> score words -> text set ->
// retrain last layer -> evaluate -> export. Model selection (lambda, weight decay) uses the val
// split's groups only, and only when they exist; test is never looked at before the end.
import { STEP_IDS, type RunSummary, type SplitMetrics, type WordScore, type HeadMetrics } from '../protocol/events';
import type { EngineOptions } from './api';
import { loadExperiment, type LoadedExperiment } from '../experiment';
import { InputError, isAbortError, throwIfAborted } from '../shared/errors';
import { createStepContext, type StepContext } from './steps/context';
import { loadClassifier, loadClipModels, type LoadedClassifier, type LoadedClip } from './steps/models';
import { encodeData, type EncodedData, type SplitData } from './steps/encodeData';
import { computeGap, type Gap } from './steps/gap';
import { l2normalizeRows } from './math/vectors';
import { resolveRetrainConfig, trainTextHead } from './steps/retrain';
import { project, projectorFromMomentsAsync, projectorMomentsAsync, type Projector } from './math/projector';
import { logits, predict, fitLogisticRegression, type LinearHead } from './math/linearHead';
import { groupCounts, headMetrics } from './math/metrics';
import { createRng, deriveSeed, shuffle } from './math/rng';
import { embedPrompts } from './text/embedPrompts';
import { OPENAI_IMAGENET_TEMPLATES } from './text/templates';
import { acceptedWords, collectWords, scoreWordItems, type WordItem } from './text/scoreWords';
import { buildTextSet } from './text/textSet';
import { createRunFolder, type RunFolder } from './runFolder';
import { exportRun } from './steps/exportRun';
import { writeJsonAtomic } from '../shared/atomicWrite';
import { scoresFile } from './scoresFile';

interface Prepared {
  ctx: StepContext;
  classifier: LoadedClassifier;
  clip: LoadedClip;
  data: EncodedData;
  gap: Gap;
  relu: boolean;
  /** one per lambda candidate */
  projectors: { lambda: number; P: Projector }[];
  trainClasses: Int32Array;
}

const C_of = (l: LoadedExperiment) => l.experiment.task.classes.length;

/** Train-side steps shared by `run` and `score`: models, encoding, gap, projectors. */
async function prepare(ctx: StepContext, lambdas: number[]): Promise<Prepared> {
  const exp = ctx.loaded.experiment;
  const { classifier, clip, data } = await ctx.step(
    'encode-images',
    async () => {
      const [classifier, clip] = await Promise.all([loadClassifier(ctx), loadClipModels(ctx)]);
      if (classifier.info.numClasses !== exp.task.classes.length) {
        throw new InputError(
          `${classifier.path}: the classifier has ${classifier.info.numClasses} outputs but task.classes lists ${exp.task.classes.length} classes. List the classes in the model's output order.`,
        );
      }
      const data = await encodeData(ctx, { classifier: classifier.encoder, clip: clip.imageEncoder });
      return { classifier, clip, data };
    },
    (r) => `${r.data.counts.images} images: ${r.data.counts.encoded} encoded, ${r.data.counts.cached} from cache`,
  );
  const D = classifier.info.featureDim;
  const d = clip.model.dim;
  const C = C_of(ctx.loaded);
  const { weight, bias } = classifier.info;
  const train = data.train;
  // Unlabelled training rows take the classifier's own prediction where a class is needed.
  const ermPred = predict(weight, bias, train.features, train.n, D, C);
  const trainClasses = Int32Array.from(train.labels, (y, i) => (y >= 0 ? y : ermPred[i]));
  const normalize = exp.settings.normalize === 'clip';

  const gap = await ctx.step(
    'gap',
    () => computeGap(ctx, data, clip, trainClasses, normalize),
    (g) => `|g| = ${g.norm.toFixed(3)} from ${g.pairs} ${g.source === 'captions' ? 'caption pairs' : 'training images'}`,
  );

  let relu = exp.settings.relu === 'on';
  if (exp.settings.relu === 'auto') relu = train.features.every((v) => v >= 0);
  const projectors = await ctx.step(
    'projector',
    async () => {
      const X = Float64Array.from(normalize ? l2normalizeRows(train.clip!, d) : train.clip!);
      const Y = Float64Array.from(train.features);
      ctx.log(
        'info',
        `fitting P: ${d} -> ${D} on ${train.n} training images, ReLU ${relu ? 'on' : 'off'}${exp.settings.relu === 'auto' ? ' (auto: features are ' + (relu ? 'non-negative' : 'signed') + ')' : ''}`,
        'projector',
      );
      // X^T X and X^T Y do not depend on lambda: computed once for every candidate
      const moments = await projectorMomentsAsync(X, Y, train.n, d, D);
      const out: { lambda: number; P: Projector }[] = [];
      for (const [i, lambda] of lambdas.entries()) {
        throwIfAborted(ctx.signal);
        ctx.progress('projector', i, lambdas.length, `lambda ${lambda}`);
        out.push({ lambda, P: await projectorFromMomentsAsync(moments, gap.g, 1, lambda) });
      }
      ctx.progress('projector', lambdas.length, lambdas.length);
      return out;
    },
    (ps) => `lambda ${ps.map((p) => p.lambda).join(', ')}`,
  );
  return { ctx, classifier, clip, data, gap, relu, projectors, trainClasses };
}

/** Neutral-prompt embeddings of every word and the anchors, then per-lambda scores. */
async function scoreAll(p: Prepared, items: WordItem[]): Promise<WordScore[][]> {
  const { ctx, clip, classifier } = p;
  const exp = ctx.loaded.experiment;
  const d = clip.model.dim;
  const D = classifier.info.featureDim;
  const C = C_of(ctx.loaded);
  if (items.length === 0)
    throw new InputError(
      `${ctx.loaded.file}: the experiment has no words. Add words under words.targets and words.spurious (or generate them).`,
    );
  const neutral = [exp.task.neutralPrompt];
  const words = [...new Set(items.map((i) => i.word))];
  const emb = await embedPrompts(clip.model, ctx.cache, clip.textNamespace, words, neutral, {
    signal: ctx.signal,
    onProgress: (done, total) => ctx.progress('score-words', done, total),
  });
  const rowOf = new Map(words.map((w, i) => [w, i]));
  const E = new Float32Array(items.length * d);
  items.forEach((it, i) => E.set(emb.data.subarray(rowOf.get(it.word)! * d, (rowOf.get(it.word)! + 1) * d), i * d));
  const anchors = await embedPrompts(
    clip.model,
    ctx.cache,
    clip.textNamespace,
    [...exp.task.targetAnchors, ...exp.task.spuriousAnchors],
    ['{}'],
    { signal: ctx.signal },
  );
  const nT = exp.task.targetAnchors.length;
  const targetAnchors = anchors.data.slice(0, nT * d);
  const spuriousAnchors = anchors.data.slice(nT * d);
  const forProjection = exp.settings.normalize === 'clip' ? l2normalizeRows(E, d) : E;
  return p.projectors.map(({ P }) => {
    const feats = project(forProjection, items.length, P.W, P.b, d, D, p.relu);
    const z = logits(classifier.info.weight, classifier.info.bias, feats, items.length, D, C);
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

function summarizeScores(scores: WordScore[]): string {
  const t = scores.filter((s) => s.list === 'targets');
  const s = scores.filter((x) => x.list === 'spurious');
  return `targets ${t.filter((x) => x.pass).length}/${t.length} pass, spurious ${s.filter((x) => x.pass).length}/${s.length} pass`;
}

const hasGroups = (s?: SplitData): s is SplitData => !!s && s.n > 0 && s.labels.every((y) => y >= 0) && s.spurious.every((v) => v >= 0);

function evaluateHead(head: LinearHead, split: SplitData, l: LoadedExperiment, D: number, trainCounts: Float64Array | null): HeadMetrics {
  const t = l.experiment.task;
  const pred = predict(head.weight, head.bias, split.features, split.n, D, t.classes.length);
  return headMetrics(pred, split.labels, split.spurious, t.classes, t.spurious.values, trainCounts);
}

/** DFR reference: logistic regression on the val features, groups downsampled to the smallest. */
async function fitDfr(val: SplitData, l: LoadedExperiment, D: number, seed: number, signal?: AbortSignal): Promise<LinearHead> {
  const S = l.experiment.task.spurious.values.length;
  const byGroup = new Map<number, number[]>();
  for (let i = 0; i < val.n; i++) {
    const g = val.labels[i] * S + val.spurious[i];
    const rows = byGroup.get(g);
    if (rows) rows.push(i);
    else byGroup.set(g, [i]);
  }
  const m = Math.min(...[...byGroup.values()].map((r) => r.length));
  const rng = createRng(deriveSeed(seed, 'dfr'));
  const rows = [...byGroup.keys()].sort((a, b) => a - b).flatMap((g) => shuffle([...byGroup.get(g)!], rng).slice(0, m));
  const X = new Float32Array(rows.length * D);
  rows.forEach((r, i) => X.set(val.features.subarray(r * D, (r + 1) * D), i * D));
  const y = Int32Array.from(rows, (r) => val.labels[r]);
  return fitLogisticRegression(X, y, rows.length, D, l.experiment.task.classes.length, { signal });
}

export async function runPipeline(file: string, opts: EngineOptions): Promise<RunSummary> {
  const loaded = loadExperiment(file);
  if (opts.seed !== undefined) loaded.experiment.settings.seed = opts.seed;
  const exp = loaded.experiment;
  const folder: RunFolder = await createRunFolder(loaded);
  const ctx = createStepContext(loaded, opts);
  ctx.emit({ type: 'run-start', runId: folder.id, runDir: folder.dir, experiment: loaded.file, steps: [...STEP_IDS] });
  const record = folder.record;
  let prepared: Prepared | undefined;
  try {
    const retrain = resolveRetrainConfig(exp.settings.retrain);
    record.settings = { ...exp.settings, retrainResolved: retrain };
    prepared = await prepare(ctx, exp.settings.lambda);
    const p = prepared;
    const { classifier, clip, data } = p;
    const D = classifier.info.featureDim;
    const C = exp.task.classes.length;
    const d = clip.model.dim;
    record.counts = { ...data.counts, train: data.train.n, val: data.val?.n ?? 0, test: data.test?.n ?? 0 };
    record.gap = { source: p.gap.source, pairs: p.gap.pairs, norm: p.gap.norm };
    record.relu = p.relu;

    const items = collectWords(exp);
    const scoresPerLambda = await ctx.step(
      'score-words',
      () => scoreAll(p, items),
      (s) => summarizeScores(s[0]),
    );

    // text-set: embeddings of every accepted word under the templates, and one set per lambda
    const templates =
      retrain.templateAugmentation && exp.settings.templates === 'openai80' ? OPENAI_IMAGENET_TEMPLATES : [exp.task.neutralPrompt];
    const sets = await ctx.step(
      'text-set',
      async () => {
        const accepted = scoresPerLambda.map((scores) => acceptedWords(items, scores, exp));
        accepted.forEach((a, li) => {
          a.targets.forEach((w, c) => {
            if (!w.length)
              throw new InputError(
                `${loaded.file}: no target word of class "${exp.task.classes[c]}" passes validation${p.projectors.length > 1 ? ` (lambda ${p.projectors[li].lambda})` : ''}. Add words to words.targets["${exp.task.classes[c]}"] and score them.`,
              );
          });
          a.spurious.forEach((w, v) => {
            if (!w.length)
              throw new InputError(
                `${loaded.file}: no spurious word of "${exp.task.spurious.values[v]}" passes validation. Add words to words.spurious["${exp.task.spurious.values[v]}"] and score them.`,
              );
          });
        });
        const vocab = [...new Set(accepted.flatMap((a) => [...a.targets.flat(), ...a.spurious.flat()]))];
        const emb = await embedPrompts(clip.model, ctx.cache, clip.textNamespace, vocab, templates, {
          signal: ctx.signal,
          onProgress: (done, total) => ctx.progress('text-set', done, total, 'encoding prompts'),
        });
        const idx = new Map(vocab.map((w, i) => [w, i]));
        record.counts = { ...record.counts, promptsEncoded: emb.encoded, words: items.length };
        return accepted.map((a, li) => {
          const P = p.projectors[li].P;
          return buildTextSet({
            targets: a.targets.map((ws) => ws.map((w) => idx.get(w)!)),
            spurious: a.spurious.map((ws) => ws.map((w) => idx.get(w)!)),
            embeddings: emb.data,
            templates: templates.length,
            d,
            W: P.W,
            b: P.b,
            D,
            relu: p.relu,
            normalize: exp.settings.normalize === 'clip',
          });
        });
      },
      (s) =>
        `${s[0].groups.map((g) => `${exp.task.classes[g.label]}/${exp.task.spurious.values[g.spurious]}: ${g.pairs}`).join(', ')} pairs x ${templates.length} templates`,
    );

    // retrain every (lambda, weight decay) candidate; choose on val groups when they exist
    const valGroups = hasGroups(data.val) ? data.val : undefined;
    const trainCounts = hasGroups(data.train)
      ? groupCounts(data.train.labels, data.train.spurious, C, exp.task.spurious.values.length)
      : null;
    const candidates = p.projectors.flatMap((pr, li) => retrain.weightDecay.map((wd) => ({ li, lambda: pr.lambda, wd })));
    const chosen = await ctx.step(
      'retrain',
      async () => {
        const pool = valGroups ? candidates : candidates.slice(0, 1);
        if (!valGroups && candidates.length > 1)
          ctx.log(
            'warn',
            `val has no group labels: no model selection; using lambda ${candidates[0].lambda} and weight decay ${candidates[0].wd}`,
            'retrain',
          );
        const results = [];
        for (let k = 0; k < pool.length; k++) {
          const c = pool[k];
          const head = await trainTextHead(sets[c.li], retrain, c.wd, { D, C }, exp.settings.seed, {
            signal: ctx.signal,
            onEpoch: (epoch) =>
              ctx.progress(
                'retrain',
                k * retrain.epochs + epoch + 1,
                pool.length * retrain.epochs,
                `lambda ${c.lambda}, weight decay ${c.wd}`,
              ),
          });
          const val = valGroups ? evaluateHead(head, valGroups, loaded, D, trainCounts) : undefined;
          if (val)
            ctx.log(
              'info',
              `lambda ${c.lambda}, weight decay ${c.wd}: val worst-group ${(val.worstGroup * 100).toFixed(1)}%, loss ${head.losses.at(-1)?.toFixed(4)}`,
              'retrain',
            );
          results.push({ ...c, head, val });
        }
        const best = results.reduce((a, b) =>
          !b.val || !a.val
            ? a
            : b.val.worstGroup > a.val.worstGroup || (b.val.worstGroup === a.val.worstGroup && b.val.classBalanced > a.val.classBalanced)
              ? b
              : a,
        );
        record.selection = {
          on: valGroups ? 'val worst-group accuracy' : 'none (val has no group labels)',
          candidates: results.map((r) => ({
            lambda: r.lambda,
            weightDecay: r.wd,
            valWorstGroup: r.val?.worstGroup,
            finalLoss: r.head.losses.at(-1),
          })),
          chosen: { lambda: best.lambda, weightDecay: best.wd },
        };
        return best;
      },
      (b) => `lambda ${b.lambda}, weight decay ${b.wd}`,
    );

    const erm: LinearHead = { weight: classifier.info.weight, bias: classifier.info.bias };
    const metrics = await ctx.step('evaluate', async () => {
      const dfr = valGroups ? await fitDfr(valGroups, loaded, D, exp.settings.seed, ctx.signal) : undefined;
      const out: { val?: SplitMetrics; test?: SplitMetrics } = {};
      for (const split of [data.val, data.test]) {
        if (!split || !split.labels.every((y) => y >= 0)) continue;
        const m: SplitMetrics = {
          erm: evaluateHead(erm, split, loaded, D, trainCounts),
          tldr: evaluateHead(chosen.head, split, loaded, D, trainCounts),
        };
        // DFR is fit on val, so only the test split judges it
        if (dfr && split.name === 'test') m.dfr = evaluateHead(dfr, split, loaded, D, trainCounts);
        out[split.name as 'val' | 'test'] = m;
        ctx.log(
          'info',
          `${split.name}: worst-group ERM ${(m.erm.worstGroup * 100).toFixed(1)}%, TLDR ${(m.tldr.worstGroup * 100).toFixed(1)}%${m.dfr ? `, DFR ${(m.dfr.worstGroup * 100).toFixed(1)}%` : ''}`,
          'evaluate',
        );
      }
      return out;
    });
    record.metrics = metrics;

    const chosenScores = scoresPerLambda[chosen.li];
    ctx.emit({ type: 'scores', scores: chosenScores });
    await saveScores(loaded.file, chosenScores);
    await ctx.step('export', () =>
      exportRun(folder, {
        loaded,
        classifier,
        head: chosen.head,
        projector: p.projectors[chosen.li].P,
        gap: p.gap,
        train: data.train,
        d,
        D,
        scores: chosenScores,
      }),
    );
    return await finish(folder, ctx, 'succeeded', opts);
  } catch (err) {
    if (isAbortError(err)) return await finish(folder, ctx, 'cancelled', opts);
    await finish(folder, ctx, 'failed', opts, (err as Error).message);
    throw err;
  } finally {
    await prepared?.classifier.release();
    await prepared?.clip.model.release();
  }
}

async function finish(
  folder: RunFolder,
  ctx: StepContext,
  status: RunSummary['status'],
  opts: EngineOptions,
  error?: string,
): Promise<RunSummary> {
  const rec = folder.record;
  rec.status = status;
  rec.finishedAt = new Date().toISOString();
  rec.timings = ctx.timings;
  if (error) rec.error = error;
  await folder.save();
  const summary: RunSummary = { runId: folder.id, runDir: folder.dir, status, metrics: rec.metrics ?? {}, error };
  if (status === 'cancelled') ctx.log('warn', 'run cancelled');
  opts.onEvent?.({ type: 'result', summary });
  return summary;
}

export async function scorePipeline(file: string, opts: EngineOptions): Promise<WordScore[]> {
  const loaded = loadExperiment(file);
  const ctx = createStepContext(loaded, opts);
  let prepared: Prepared | undefined;
  try {
    prepared = await prepare(ctx, loaded.experiment.settings.lambda.slice(0, 1));
    const p = prepared;
    const [scores] = await ctx.step(
      'score-words',
      () => scoreAll(p, collectWords(loaded.experiment)),
      (s) => summarizeScores(s[0]),
    );
    ctx.emit({ type: 'scores', scores });
    await saveScores(loaded.file, scores);
    return scores;
  } finally {
    await prepared?.classifier.release();
    await prepared?.clip.model.release();
  }
}

async function saveScores(file: string, scores: WordScore[]): Promise<void> {
  await writeJsonAtomic(scoresFile(file), { experiment: file, scoredAt: new Date().toISOString(), scores });
}
