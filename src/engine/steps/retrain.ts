// Step "retrain": a fresh linear layer trained with cross-entropy on group-balanced projected
// text embeddings. Two presets:
//  - converge (default): a fixed number of group-balanced draws per epoch for many epochs, so
//    a few hundred word pairs train to convergence;
//  - reference: the official script's single AdamW epoch (lr 1e-4, batch 128, wd 1e-4) over
//    the groups downsampled to the smallest, which only converges with tens of thousands of pairs.
import type { Settings } from '../../experiment';
import { trainLinearHead, type TrainedHead } from '../math/linearHead';
import type { TextSet } from '../text/textSet';

export interface RetrainConfig {
  preset: 'converge' | 'reference';
  optimizer: 'adamw' | 'sgd';
  lr: number;
  batchSize: number;
  epochs: number;
  examplesPerEpoch: number;
  sampling: 'balanced-with-replacement' | 'downsample';
  templateAugmentation: boolean;
  weightDecay: number[];
}

export function resolveRetrainConfig(s: Settings['retrain']): RetrainConfig {
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
  cfg: RetrainConfig,
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
