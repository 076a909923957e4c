// The TLDR pipeline as the list of its steps: encode images -> modality gap -> projector ->
// score words -> text set -> retrain last layer (with model selection on val groups) ->
// evaluate -> export. Each step returns its result and its part of the run record; this file
// assembles the record. Test is never looked at before the evaluate step.
import { STEP_IDS, type RunSummary, type WordScores } from '../protocol/events';
import type { RunJson, RunStatus, RunWarning } from '../protocol/runRecord';
import { loadExperiment, type LoadedExperiment } from '../experiment';
import { InputError, isAbortError } from '../shared/errors';
import type { EngineOptions } from './options';
import { threadsRecord } from './onnxSession';
import { createStepContext, type StepContext } from './steps/context';
import { loadClassifier, loadClipModels, type LoadedClassifier, type LoadedClip } from './steps/models';
import { encodeData, type EncodedData } from './steps/encodeData';
import { computeGap, type Gap } from './steps/gap';
import { fitProjectors, type Projectors } from './steps/projector';
import { scoreWordsPerProjector, summarizeScores } from './steps/wordScores';
import { prepareTextSide } from './steps/textSets';
import { resolveRetrainConfig, retrainAndSelect } from './steps/retrain';
import { planSelection, pseudoGroups } from './steps/selection';
import { evaluateHeads } from './steps/evaluate';
import { exportRun } from './steps/exportRun';
import { predict, type LinearHead } from './math/linearHead';
import { collectWords } from './text/scoreWords';
import { checkWritable, lastChosenLambda, startRun, writeLastScores, type RunFolder } from './runs/store';

/** What `run` and `score` share: the models, the encoded data, the gap and the projectors. */
interface Prepared {
  classifier: LoadedClassifier;
  clip: LoadedClip;
  data: EncodedData;
  gap: Gap;
  projectors: Projectors;
  erm: LinearHead;
  dims: { d: number; D: number; C: number };
}

async function prepare(
  ctx: StepContext,
  models: { classifier?: LoadedClassifier; clip?: LoadedClip },
  opts: { trainOnly?: boolean } = {},
): Promise<Prepared> {
  const { task } = ctx.loaded.experiment;
  const { classifier, clip, data } = await ctx.step(
    'encode-images',
    async () => {
      const [classifier, clip] = await Promise.all([loadClassifier(ctx), loadClipModels(ctx)]);
      Object.assign(models, { classifier, clip }); // released by the caller, whatever happens next
      if (classifier.info.numClasses !== task.classes.length)
        throw new InputError(
          `${classifier.path}: the classifier has ${classifier.info.numClasses} outputs but task.classes lists ${task.classes.length} classes. List the classes in the model's output order.`,
        );
      const data = await encodeData(ctx, { classifier: classifier.encoder, clip: clip.imageEncoder }, opts);
      return { classifier, clip, data };
    },
    (r) => `${r.data.counts.images} images: ${r.data.counts.encoded} encoded, ${r.data.counts.cached} from cache`,
  );
  const dims = { d: clip.model.dim, D: classifier.info.featureDim, C: task.classes.length };
  const erm: LinearHead = { weight: classifier.info.weight, bias: classifier.info.bias };
  // Unlabelled training rows take the classifier's own prediction where a class is needed.
  const ermPred = predict(erm.weight, erm.bias, data.train.features, data.train.n, dims.D, dims.C);
  const trainClasses = Int32Array.from(data.train.labels, (y, i) => (y >= 0 ? y : ermPred[i]));
  const gap = await ctx.step(
    'gap',
    () => computeGap(ctx, data, clip, trainClasses, ctx.loaded.experiment.settings.normalize === 'clip'),
    (g) => `|g| = ${g.norm.toFixed(3)} from ${g.pairs} ${g.source === 'captions' ? 'caption pairs' : 'training images'}`,
  );
  const projectors = await ctx.step(
    'projector',
    () => fitProjectors(ctx, data.train, gap, dims),
    (p) => `lambda ${p.candidates.map((c) => c.lambda).join(', ')}`,
  );
  return { classifier, clip, data, gap, projectors, erm, dims };
}

async function release(models: { classifier?: LoadedClassifier; clip?: LoadedClip }): Promise<void> {
  await models.classifier?.release();
  await models.clip?.model.release();
}

export async function runPipeline(file: string, opts: EngineOptions): Promise<RunSummary> {
  const loaded = loadExperiment(file);
  if (opts.seed !== undefined) loaded.experiment.settings.seed = opts.seed;
  const exp = loaded.experiment;
  const retrain = resolveRetrainConfig(exp.settings.retrain, exp.settings.ablations);
  checkWritable(loaded.file, opts.cacheDir);
  const ctx = createStepContext(loaded, opts);
  const { folder, record: started } = await startRun(loaded, { threads: threadsRecord(ctx.threads), job: opts.job });
  let record: RunJson = { ...started, settings: { ...exp.settings, retrain } };
  const warnings: RunWarning[] = [];
  const warn = (w: RunWarning, step: Parameters<StepContext['log']>[2]) => {
    warnings.push(w);
    record = { ...record, warnings };
    ctx.log('warn', `${w.message} ${w.fix}`, step);
  };
  ctx.emit({ type: 'run-start', runId: folder.id, runDir: folder.dir, experiment: loaded.file, steps: [...STEP_IDS] });
  const models: { classifier?: LoadedClassifier; clip?: LoadedClip } = {};
  try {
    const p = await prepare(ctx, models);
    const { data, projectors, dims } = p;
    record = {
      ...record,
      counts: { ...data.counts, train: data.train.n, val: data.val?.n ?? 0, test: data.test?.n ?? 0 },
      gap: { source: p.gap.source, pairs: p.gap.pairs, norm: p.gap.norm },
      relu: projectors.relu,
    };

    if (p.gap.source === 'train-class-prompts')
      warn(
        {
          code: 'gap-from-training-images',
          message: 'The modality gap was estimated from the training images and their class prompts, not from caption pairs.',
          fix: 'For the reference estimate, add data.captions (image, caption) pairs, e.g. 1000 from COCO captions.',
        },
        'gap',
      );

    const items = collectWords(exp);
    const scores = await ctx.step(
      'score-words',
      () => scoreWordsPerProjector(ctx, items, p.clip, p.erm, projectors, dims.D),
      (s) => summarizeScores(s[0]),
    );
    const text = await ctx.step(
      'text-set',
      () => prepareTextSide(ctx, items, scores, p.clip, projectors, dims.D, retrain.templateAugmentation),
      (t) => {
        const a = t.accepted[t.usable.indexOf(true)];
        const sizes = exp.task.classes.flatMap((c, i) =>
          exp.task.spurious.values.map((v, j) => `${c}/${v}: ${a.targets[i].length * a.spurious[j].length}`),
        );
        return `${sizes.join(', ')} pairs x ${t.templates} templates`;
      },
    );
    record = { ...record, counts: { ...record.counts!, promptsEncoded: text.promptsEncoded, words: items.length } };

    const chosen = await ctx.step(
      'retrain',
      async () => {
        // CLIP's spurious values for val: the selection's groups when val has none, and a check of CLIP when it has
        const protos = data.val?.clip && data.val.labels.every((y) => y >= 0) ? await text.spuriousPrototypes() : undefined;
        const pseudo =
          protos && data.val ? pseudoGroups(data.val, dims.d, protos.prototypes, protos.words, exp.task.spurious.values) : undefined;
        if (pseudo?.record.agreement !== undefined)
          ctx.log(
            'info',
            `pseudo-groups agree with val's spurious labels on ${(pseudo.record.agreement * 100).toFixed(1)}% of rows`,
            'retrain',
          );
        const empty = pseudo?.record.counts.filter((c) => c.n === 0) ?? [];
        if (empty.length)
          warn(
            {
              code: 'pseudo-groups-degenerate',
              message: `CLIP gave no val image the spurious value ${empty.map((c) => `"${c.value}"`).join(', ')}.`,
              fix: 'Check task.spuriousAnchors and the spurious words of that value (score them), or add spurious labels to val.',
            },
            'retrain',
          );
        const plan = planSelection(exp, data.val, pseudo);
        const result = await retrainAndSelect(ctx, text, projectors, retrain, data.val, plan, dims);
        return { ...result, pseudo, selection: { ...result.selection, ...(pseudo ? { pseudoLabels: pseudo.record } : {}) } };
      },
      (c) => `lambda ${c.lambda}, weight decay ${c.weightDecay} (${c.selection.mode})`,
    );
    record = { ...record, selection: chosen.selection };
    if (chosen.selection.mode === 'none' && projectors.candidates.length * retrain.weightDecay.length > 1)
      warn(
        {
          code: 'no-selection',
          message: `No model selection: ${chosen.selection.reason}.`,
          fix: 'Give the experiment a val split with class labels (spurious labels are optional).',
        },
        'retrain',
      );
    if (chosen.collapse)
      warn(
        {
          code: 'collapsed-head',
          message: `The retrained head collapsed: ${chosen.collapse} on val.`,
          fix:
            retrain.preset === 'reference'
              ? 'Use "preset": "converge" (the default), or add words so the reference preset has more pairs to learn from.'
              : 'Add words (several per class and spurious value pass validation?), raise settings.retrain.epochs, or widen settings.lambda.',
        },
        'retrain',
      );

    const evaluation = await ctx.step('evaluate', () =>
      evaluateHeads(ctx, data, { erm: p.erm, tldr: chosen.head }, p.clip, chosen.pseudo, dims.D),
    );
    record = {
      ...record,
      metrics: evaluation.metrics,
      ...(evaluation.dfr ? { dfr: evaluation.dfr } : {}),
      ...(evaluation.gallery ? { gallery: evaluation.gallery } : {}),
    };

    const chosenScores = scores[chosen.candidate];
    ctx.emit({ type: 'scores', scores: chosenScores, lambda: chosen.lambda });
    const notKept = await saveScores(loaded, { lambda: chosen.lambda, scores: chosenScores });
    if (notKept)
      warn(
        {
          code: 'artifact-not-written',
          message: `The word scores for the editor were not kept (${notKept}); the run's results are complete.`,
          fix: "Make .tldr/scores beside the experiment file writable; the run folder's scores.json has the same scores.",
        },
        'score-words',
      );
    const exported = await ctx.step('export', () =>
      exportRun(
        folder,
        {
          loaded,
          classifier: p.classifier,
          head: chosen.head,
          projector: projectors.candidates[chosen.candidate].P,
          gap: p.gap,
          train: data.train,
          d: dims.d,
          D: dims.D,
          scores: chosenScores,
        },
        record,
      ),
    );
    record = { ...record, ...exported };
    return await finish(folder, record, ctx, 'succeeded', opts);
  } catch (err) {
    if (isAbortError(err)) return await finish(folder, record, ctx, 'cancelled', opts);
    await finish(folder, record, ctx, 'failed', opts, (err as Error).message);
    throw err;
  } finally {
    await release(models);
  }
}

async function finish(
  folder: RunFolder,
  record: RunJson,
  ctx: StepContext,
  status: RunStatus,
  opts: EngineOptions,
  error?: string,
): Promise<RunSummary> {
  await folder.save({ ...record, status, finishedAt: new Date().toISOString(), timings: ctx.timings, ...(error ? { error } : {}) });
  const summary: RunSummary = {
    runId: folder.id,
    runDir: folder.dir,
    status,
    metrics: record.metrics ?? {},
    ...(record.selection ? { selection: record.selection } : {}),
    ...(record.warnings?.length ? { warnings: record.warnings } : {}),
    ...(record.gallery ? { gallery: record.gallery } : {}),
    ...(error ? { error } : {}),
  };
  if (status === 'cancelled') ctx.log('warn', 'run cancelled');
  opts.onEvent?.({ type: 'result', summary });
  return summary;
}

export async function scorePipeline(file: string, opts: EngineOptions): Promise<WordScores> {
  const loaded = loadExperiment(file);
  checkWritable(loaded.file, opts.cacheDir);
  // one projector is enough to score: the lambda the last run chose, while it is still a candidate
  const grid = loaded.experiment.settings.lambda;
  const last = lastChosenLambda(loaded.file);
  const lambda = last !== undefined && grid.includes(last) ? last : grid[Math.floor((grid.length - 1) / 2)];
  loaded.experiment.settings.lambda = [lambda];
  const ctx = createStepContext(loaded, opts);
  ctx.log(
    'info',
    `scoring at lambda ${lambda} (${last !== undefined && grid.includes(last) ? 'chosen by the last run' : 'the middle of settings.lambda; a run chooses its own'})`,
    'score-words',
  );
  const models: { classifier?: LoadedClassifier; clip?: LoadedClip } = {};
  try {
    // scores need the gap and the projector, so train and the caption pairs only
    const p = await prepare(ctx, models, { trainOnly: true });
    const [scores] = await ctx.step(
      'score-words',
      () => scoreWordsPerProjector(ctx, collectWords(loaded.experiment), p.clip, p.erm, p.projectors, p.dims.D),
      (s) => summarizeScores(s[0]),
    );
    ctx.emit({ type: 'scores', scores, lambda });
    const notKept = await saveScores(loaded, { lambda, scores });
    if (notKept) ctx.log('warn', `could not keep the word scores for the editor (${notKept}); they are printed above`, 'score-words');
    return { lambda, scores };
  } finally {
    await release(models);
  }
}

/**
 * The last scores are a convenience for the editor: failing to keep them never fails the run.
 * Returns why they were not kept (undefined when they were).
 */
async function saveScores(loaded: LoadedExperiment, scores: WordScores): Promise<string | undefined> {
  try {
    await writeLastScores(loaded.file, scores);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}
