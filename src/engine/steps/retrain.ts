// Step "retrain": a fresh linear layer trained with cross-entropy on group-balanced projected
// text embeddings, for every (lambda, weight decay) candidate; the candidate with the best val
// worst-group accuracy is kept when val has group labels (test is never looked at). Presets:
//  - converge (default): a fixed number of group-balanced draws per epoch for many epochs, so
//    a few hundred word pairs train to convergence;
//  - reference: the official script's single AdamW epoch (lr 1e-4, batch 128, wd 1e-4) over
//    the groups downsampled to the smallest, which only converges with tens of thousands of pairs.
import type { Settings } from '../../experiment';
import type { HeadMetrics } from '../../protocol/events';
import type { RetrainResolved, RunJson } from '../../protocol/runRecord';
import { trainLinearHead, type TrainedHead } from '../math/linearHead';
import type { TextSet } from '../text/textSet';
import type { StepContext } from './context';
import type { SplitData } from './encodeData';
import type { HeadEvaluator } from './evaluate';
import type { Projectors } from './projector';

export function resolveRetrainConfig(s: Settings['retrain']): RetrainResolved {
  if (s.preset === 'reference') {
    return {
      preset: 'reference',
      optimizer: 'adamw',
      lr: 1e-4,
      batchSize: 128,
      epochs: 1,
      examplesPerEpoch: 0,
      sampling: 'downsample',
      templateAugmentation: true,
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
    templateAugmentation: s.templateAugmentation,
    weightDecay: s.weightDecay,
  };
}

export async function trainTextHead(
  set: TextSet,
  cfg: RetrainResolved,
  weightDecay: number,
  dims: { D: number; C: number },
  seed: number,
  opts: { signal?: AbortSignal; onEpoch?: (epoch: number, loss: number) => void },
): Promise<TrainedHead> {
  return trainLinearHead({
    dim: dims.D,
    classes: dims.C,
    optimizer: cfg.optimizer,
    lr: cfg.lr,
    weightDecay,
    epochs: cfg.epochs,
    seed,
    signal: opts.signal,
    onEpoch: opts.onEpoch,
    nextEpoch: (epoch) =>
      set.sampleEpoch(epoch, {
        mode: cfg.sampling,
        examples: cfg.examplesPerEpoch,
        batchSize: cfg.batchSize,
        augment: cfg.templateAugmentation,
        seed,
      }),
  });
}

export interface ChosenHead {
  /** index of the projector candidate */
  candidate: number;
  lambda: number;
  weightDecay: number;
  head: TrainedHead;
  selection: NonNullable<RunJson['selection']>;
}

/** Trains the candidates and keeps the best on val groups (or the first, when val has none). */
export async function retrainAndSelect(
  ctx: StepContext,
  sets: TextSet[],
  projectors: Projectors,
  retrain: RetrainResolved,
  valGroups: SplitData | undefined,
  evaluate: HeadEvaluator,
  dims: { D: number; C: number },
): Promise<ChosenHead> {
  const seed = ctx.loaded.experiment.settings.seed;
  const all = projectors.candidates.flatMap((p, candidate) =>
    retrain.weightDecay.map((weightDecay) => ({ candidate, lambda: p.lambda, weightDecay })),
  );
  const pool = valGroups ? all : all.slice(0, 1);
  if (!valGroups && all.length > 1)
    ctx.log(
      'warn',
      `val has no group labels: no model selection; using lambda ${all[0].lambda} and weight decay ${all[0].weightDecay}`,
      'retrain',
    );
  const results: ((typeof pool)[number] & { head: TrainedHead; val?: HeadMetrics })[] = [];
  for (const [k, c] of pool.entries()) {
    const head = await trainTextHead(sets[c.candidate], retrain, c.weightDecay, dims, seed, {
      signal: ctx.signal,
      onEpoch: (epoch) =>
        ctx.progress(
          'retrain',
          k * retrain.epochs + epoch + 1,
          pool.length * retrain.epochs,
          `lambda ${c.lambda}, weight decay ${c.weightDecay}`,
        ),
    });
    const val = valGroups ? evaluate(head, valGroups) : undefined;
    if (val)
      ctx.log(
        'info',
        `lambda ${c.lambda}, weight decay ${c.weightDecay}: val worst-group ${(val.worstGroup * 100).toFixed(1)}%, loss ${head.losses.at(-1)?.toFixed(4)}`,
        'retrain',
      );
    results.push({ ...c, head, val });
  }
  // best val worst group; ties go to the better class-balanced accuracy, then to the earlier candidate
  const best = results.reduce((a, b) =>
    !a.val || !b.val
      ? a
      : b.val.worstGroup > a.val.worstGroup || (b.val.worstGroup === a.val.worstGroup && b.val.classBalanced > a.val.classBalanced)
        ? b
        : a,
  );
  return {
    candidate: best.candidate,
    lambda: best.lambda,
    weightDecay: best.weightDecay,
    head: best.head,
    selection: {
      on: valGroups ? 'val worst-group accuracy' : 'none (val has no group labels)',
      candidates: results.map((r) => ({
        lambda: r.lambda,
        weightDecay: r.weightDecay,
        valWorstGroup: r.val?.worstGroup,
        finalLoss: r.head.losses.at(-1),
      })),
      chosen: { lambda: best.lambda, weightDecay: best.weightDecay },
    },
  };
}
