// The TLDR pipeline as the list of its steps: encode images -> modality gap -> projector ->
// score words -> text set -> retrain last layer (with model selection on val groups) ->
// evaluate -> export. Each step returns its result and its part of the run record; this file
// assembles the record. Test is never looked at before the evaluate step.
import { STEP_IDS, type RunSummary, type WordScore } from '../protocol/events';
import type { RunJson, RunStatus } from '../protocol/runRecord';
import { loadExperiment, type LoadedExperiment } from '../experiment';
import { InputError, isAbortError } from '../shared/errors';
import type { EngineOptions } from './options';
import { createStepContext, type StepContext } from './steps/context';
import { loadClassifier, loadClipModels, type LoadedClassifier, type LoadedClip } from './steps/models';
import { encodeData, type EncodedData } from './steps/encodeData';
import { computeGap, type Gap } from './steps/gap';
import { fitProjectors, type Projectors } from './steps/projector';
import { scoreWordsPerProjector, summarizeScores } from './steps/wordScores';
import { buildTextSets } from './steps/textSets';
import { resolveRetrainConfig, retrainAndSelect } from './steps/retrain';
import { evaluateHeads, hasGroups, headEvaluator } from './steps/evaluate';
import { exportRun } from './steps/exportRun';
import { predict, type LinearHead } from './math/linearHead';
import { collectWords } from './text/scoreWords';
import { startRun, writeLastScores, type RunFolder } from './runs/store';

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

async function prepare(ctx: StepContext, models: { classifier?: LoadedClassifier; clip?: LoadedClip }): Promise<Prepared> {
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
      const data = await encodeData(ctx, { classifier: classifier.encoder, clip: clip.imageEncoder });
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
  const retrain = resolveRetrainConfig(exp.settings.retrain);
  const { folder, record: started } = await startRun(loaded);
  let record: RunJson = { ...started, settings: { ...exp.settings, retrain } };
  const ctx = createStepContext(loaded, opts);
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

    const items = collectWords(exp);
    const scores = await ctx.step(
      'score-words',
      () => scoreWordsPerProjector(ctx, items, p.clip, p.erm, projectors, dims.D),
      (s) => summarizeScores(s[0]),
    );
    const text = await ctx.step(
      'text-set',
      () => buildTextSets(ctx, items, scores, p.clip, projectors, retrain, dims.D),
      (t) => {
        const g = t.sets[0].groups.map((g) => `${exp.task.classes[g.label]}/${exp.task.spurious.values[g.spurious]}: ${g.pairs}`);
        return `${g.join(', ')} pairs x ${t.templates} templates`;
      },
    );
    record = { ...record, counts: { ...record.counts!, promptsEncoded: text.promptsEncoded, words: items.length } };

    const evaluate = headEvaluator(ctx, data, dims.D);
    const valGroups = hasGroups(data.val) ? data.val : undefined;
    const chosen = await ctx.step(
      'retrain',
      () => retrainAndSelect(ctx, text.sets, projectors, retrain, valGroups, evaluate, dims),
      (c) => `lambda ${c.lambda}, weight decay ${c.weightDecay}`,
    );
    record = { ...record, selection: chosen.selection };

    const metrics = await ctx.step('evaluate', () => evaluateHeads(ctx, data, { erm: p.erm, tldr: chosen.head }, evaluate, dims.D));
    record = { ...record, metrics };

    const chosenScores = scores[chosen.candidate];
    ctx.emit({ type: 'scores', scores: chosenScores });
    await saveScores(ctx, loaded, chosenScores);
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
  const summary: RunSummary = { runId: folder.id, runDir: folder.dir, status, metrics: record.metrics ?? {}, error };
  if (status === 'cancelled') ctx.log('warn', 'run cancelled');
  opts.onEvent?.({ type: 'result', summary });
  return summary;
}

export async function scorePipeline(file: string, opts: EngineOptions): Promise<WordScore[]> {
  const loaded = loadExperiment(file);
  // one projector (the first lambda) is enough to score
  loaded.experiment.settings.lambda = loaded.experiment.settings.lambda.slice(0, 1);
  const ctx = createStepContext(loaded, opts);
  const models: { classifier?: LoadedClassifier; clip?: LoadedClip } = {};
  try {
    const p = await prepare(ctx, models);
    const [scores] = await ctx.step(
      'score-words',
      () => scoreWordsPerProjector(ctx, collectWords(loaded.experiment), p.clip, p.erm, p.projectors, p.dims.D),
      (s) => summarizeScores(s[0]),
    );
    ctx.emit({ type: 'scores', scores });
    await saveScores(ctx, loaded, scores);
    return scores;
  } finally {
    await release(models);
  }
}

/** The last scores are a convenience for the editor: failing to keep them never fails the run. */
async function saveScores(ctx: StepContext, loaded: LoadedExperiment, scores: WordScore[]): Promise<void> {
  try {
    await writeLastScores(loaded.file, scores);
  } catch (err) {
    ctx.log('warn', `could not keep the word scores for the editor (${(err as Error).message}); the run goes on`, 'score-words');
  }
}
