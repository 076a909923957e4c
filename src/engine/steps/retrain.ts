// Step "retrain": a fresh linear layer trained with cross-entropy on group-balanced projected
// text embeddings, for every (lambda, weight decay) candidate; the candidate with the best val
// score (settings.selection; test is never looked at) is kept. Presets:
//  - converge (default): a fixed number of group-balanced draws per epoch for many epochs, so
//    a few hundred word pairs train to convergence;
//  - reference: the official script's optimiser (AdamW, lr 1e-4, batch 128, wd 1e-4, groups
//    downsampled to the smallest) for as many steps as its one epoch over the official lists
//    takes. With small word lists a single pass would be a handful of steps from a random
//    init, which is what made this preset collapse before.
import type { Settings } from '../../experiment';
import type { RetrainResolved, RunJson } from '../../protocol/runRecord';
import { predict, trainLinearHead, type TrainedHead } from '../math/linearHead';
import type { TextSet } from '../text/textSet';
import type { StepContext } from './context';
import type { SplitData } from './encodeData';
import type { Projectors } from './projector';
import type { TextSide } from './textSets';
import { worstGroupAccuracy, type SelectionPlan } from './selection';
import { collapseOf } from './collapse';

/** The official script's optimiser steps: one epoch over the Waterbirds lists' 4 groups of about 200 x 200 pairs, batch 128. */
export const REFERENCE_STEPS = 1250;

export function resolveRetrainConfig(s: Settings['retrain'], ablations: Settings['ablations']): RetrainResolved {
  if (s.preset === 'reference') {
    return {
      preset: 'reference',
      optimizer: 'adamw',
      lr: 1e-4,
      batchSize: 128,
      epochs: 1,
      examplesPerEpoch: 0,
      steps: REFERENCE_STEPS,
      sampling: 'downsample',
      templateAugmentation: !ablations.noTemplates,
      weightDecay: [1e-4],
    };
  }
  return {
    preset: 'converge',
    optimizer: s.optimizer,
    lr: s.lr,
    batchSize: s.batchSize,
    epochs: s.epochs,
    examplesPerEpoch: s.examplesPerEpoch,
    sampling: 'balanced-with-replacement',
    templateAugmentation: s.templateAugmentation && !ablations.noTemplates,
    weightDecay: s.weightDecay,
  };
}

/** Passes over the text set and batches per pass: the reference preset repeats downsampled passes until its steps are done. */
function schedule(set: TextSet, cfg: RetrainResolved): { epochs: number; batchesPerEpoch?: number } {
  if (!cfg.steps) return { epochs: cfg.epochs };
  const pass = set.groups.length * Math.min(...set.groups.map((g) => g.pairs));
  const batchesPerEpoch = Math.max(1, Math.ceil(pass / cfg.batchSize));
  return { epochs: Math.ceil(cfg.steps / batchesPerEpoch), batchesPerEpoch };
}

export async function trainTextHead(
  set: TextSet,
  cfg: RetrainResolved,
  weightDecay: number,
  dims: { D: number; C: number },
  seed: number,
  opts: { signal?: AbortSignal; onEpoch?: (epoch: number, epochs: number, loss: number) => void },
): Promise<TrainedHead> {
  const { epochs, batchesPerEpoch } = schedule(set, cfg);
  return trainLinearHead({
    dim: dims.D,
    classes: dims.C,
    optimizer: cfg.optimizer,
    lr: cfg.lr,
    weightDecay,
    epochs,
    seed,
    signal: opts.signal,
    onEpoch: (epoch, loss) => opts.onEpoch?.(epoch, epochs, loss),
    nextEpoch: (epoch) => {
      const batches = set.sampleEpoch(epoch, {
        mode: cfg.sampling,
        examples: cfg.examplesPerEpoch,
        batchSize: cfg.batchSize,
        augment: cfg.templateAugmentation,
        seed,
      });
      // the last pass of the reference preset stops at its step count
      return batchesPerEpoch === undefined ? batches : take(batches, Math.min(batchesPerEpoch, cfg.steps! - epoch * batchesPerEpoch));
    },
  });
}

function* take<T>(items: Iterable<T>, n: number): Generator<T> {
  if (n <= 0) return;
  let i = 0;
  for (const x of items) {
    yield x;
    if (++i >= n) return;
  }
}

export interface ChosenHead {
  /** index of the projector candidate */
  candidate: number;
  lambda: number;
  weightDecay: number;
  head: TrainedHead;
  /** why the chosen head is degenerate, when it is (every candidate was) */
  collapse?: string;
  selection: NonNullable<RunJson['selection']>;
}

/**
 * Trains every (lambda, weight decay) candidate, one lambda's text set at a time, and keeps the
 * best by the plan's val score; a collapsed head is passed over when a sound one exists.
 */
export async function retrainAndSelect(
  ctx: StepContext,
  text: TextSide,
  projectors: Projectors,
  retrain: RetrainResolved,
  val: SplitData | undefined,
  plan: SelectionPlan,
  dims: { D: number; C: number },
): Promise<ChosenHead> {
  const { task, settings } = ctx.loaded.experiment;
  const all = projectors.candidates.flatMap((p, candidate) =>
    text.usable[candidate] ? retrain.weightDecay.map((weightDecay) => ({ candidate, lambda: p.lambda, weightDecay })) : [],
  );
  const pool = plan.score ? all : all.slice(0, 1);
  if (!plan.score && all.length > 1)
    ctx.log('warn', `no model selection (${plan.reason}); using lambda ${all[0].lambda} and weight decay ${all[0].weightDecay}`, 'retrain');
  else ctx.log('info', `choosing among ${pool.length} candidates by ${plan.on} (${plan.reason})`, 'retrain');
  const S = task.spurious.values.length;
  const trueGroups = val && val.labels.every((y) => y >= 0) && val.spurious.every((v) => v >= 0);
  type Result = (typeof pool)[number] & { head: TrainedHead; valScore?: number; valWorstGroup?: number; collapse?: string };
  const results: Result[] = [];
  let done = 0;
  for (const k of [...new Set(pool.map((c) => c.candidate))]) {
    // one lambda's set at a time: it is dropped before the next is built
    const set = await text.buildSet(k);
    for (const c of pool.filter((x) => x.candidate === k)) {
      const head = await trainTextHead(set, retrain, c.weightDecay, dims, settings.seed, {
        signal: ctx.signal,
        onEpoch: (epoch, epochs) =>
          ctx.progress('retrain', done * epochs + epoch + 1, pool.length * epochs, `lambda ${c.lambda}, weight decay ${c.weightDecay}`),
      });
      done++;
      const r: Result = { ...c, head };
      if (val && val.n > 0) {
        const pred = predict(head.weight, head.bias, val.features, val.n, dims.D, dims.C);
        r.collapse = collapseOf(pred, val.labels.every((y) => y >= 0) ? val.labels : undefined, task.classes);
        if (plan.score) r.valScore = plan.score(pred);
        if (trueGroups) r.valWorstGroup = worstGroupAccuracy(pred, val.labels, val.spurious, dims.C, S);
      }
      const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
      ctx.log(
        'info',
        `lambda ${c.lambda}, weight decay ${c.weightDecay}: ${r.valScore !== undefined ? `${plan.on} ${pct(r.valScore)}, ` : ''}loss ${head.losses.at(-1)?.toFixed(4)}${r.collapse ? `; collapsed: ${r.collapse}` : ''}`,
        'retrain',
      );
      results.push(r);
    }
  }
  const sound = results.filter((r) => !r.collapse);
  const eligible = sound.length ? sound : results;
  // best val score; ties go to the earlier candidate (smaller lambda, then smaller weight decay in the grids' order)
  const best = eligible.reduce((a, b) => ((b.valScore ?? -Infinity) > (a.valScore ?? -Infinity) ? b : a));
  return {
    candidate: best.candidate,
    lambda: best.lambda,
    weightDecay: best.weightDecay,
    head: best.head,
    ...(best.collapse ? { collapse: best.collapse } : {}),
    selection: {
      requested: plan.requested,
      mode: plan.mode,
      reason: plan.reason,
      on: plan.on,
      candidates: results.map((r) => ({
        lambda: r.lambda,
        weightDecay: r.weightDecay,
        ...(r.valScore !== undefined ? { valScore: r.valScore } : {}),
        ...(r.valWorstGroup !== undefined ? { valWorstGroup: r.valWorstGroup } : {}),
        finalLoss: r.head.losses.at(-1),
        ...(r.collapse ? { collapsed: true } : {}),
      })),
      chosen: { lambda: best.lambda, weightDecay: best.weightDecay },
      ...(text.usable.every(Boolean)
        ? {}
        : { skippedLambdas: projectors.candidates.filter((_, k) => !text.usable[k]).map((c) => c.lambda) }),
    },
  };
}
