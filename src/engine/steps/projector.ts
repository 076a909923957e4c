// Step "projector": the closed-form projector P: CLIP space -> the classifier's feature space,
// one per lambda candidate, all orthogonal to the modality gap (G W = 0). X^T X and X^T Y do not
// depend on lambda, so they are computed once for every candidate.
import { throwIfAborted } from '../../shared/errors';
import { projectorFromMomentsAsync, projectorMomentsAsync, type Projector } from '../math/projector';
import { l2normalizeRows } from '../math/vectors';
import type { StepContext } from './context';
import type { SplitData } from './encodeData';
import type { Gap } from './gap';

export interface Projectors {
  /** ReLU on P(e): on when asked, or (auto) when the classifier's features are non-negative */
  relu: boolean;
  /** one per lambda candidate, in the order of settings.lambda */
  candidates: { lambda: number; P: Projector }[];
}

export async function fitProjectors(ctx: StepContext, train: SplitData, gap: Gap, dims: { d: number; D: number }): Promise<Projectors> {
  const { settings } = ctx.loaded.experiment;
  const { d, D } = dims;
  const relu = settings.relu === 'auto' ? train.features.every((v) => v >= 0) : settings.relu === 'on';
  const why = settings.relu === 'auto' ? ` (auto: features are ${relu ? 'non-negative' : 'signed'})` : '';
  ctx.log('info', `fitting P: ${d} -> ${D} on ${train.n} training images, ReLU ${relu ? 'on' : 'off'}${why}`, 'projector');
  const X = Float64Array.from(settings.normalize === 'clip' ? l2normalizeRows(train.clip!, d) : train.clip!);
  const Y = Float64Array.from(train.features);
  const moments = await projectorMomentsAsync(X, Y, train.n, d, D, ctx.threads);
  const lambdas = settings.lambda;
  // the noGapConstraint ablation: plain ridge, P no longer blind to the gap
  const G = settings.ablations.noGapConstraint ? null : gap.g;
  if (!G) ctx.log('warn', 'ablation noGapConstraint: the projector is plain ridge regression, without G W = 0', 'projector');
  const candidates: Projectors['candidates'] = [];
  for (const [i, lambda] of lambdas.entries()) {
    throwIfAborted(ctx.signal);
    ctx.progress('projector', i, lambdas.length, `lambda ${lambda}`);
    candidates.push({ lambda, P: await projectorFromMomentsAsync(moments, G, G ? 1 : 0, lambda, ctx.threads) });
  }
  ctx.progress('projector', lambdas.length, lambdas.length);
  return { relu, candidates };
}
