// Step "export": the run folder's artifacts. model.debiased.onnx is the user's classifier with
// the new last layer (their own file is only read); every file is written atomically.
import * as path from 'node:path';
import type { WordScore } from '../../protocol/events';
import type { LoadedExperiment } from '../../experiment';
import type { LinearHead } from '../math/linearHead';
import type { Projector } from '../math/projector';
import type { RunFolder } from '../runFolder';
import type { LoadedClassifier } from './models';
import type { Gap } from './gap';
import type { SplitData } from './encodeData';
import { exportDebiased } from '../onnx';
import { writeSafetensors, f32 } from '../io/safetensors';
import { writeFileAtomic, writeJsonAtomic } from '../../shared/atomicWrite';
import { renderReport } from '../report';

export interface ExportInputs {
  loaded: LoadedExperiment;
  classifier: LoadedClassifier;
  head: LinearHead;
  projector: Projector;
  gap: Gap;
  train: SplitData;
  d: number;
  D: number;
  scores: WordScore[];
}

export async function exportRun(folder: RunFolder, x: ExportInputs): Promise<void> {
  const C = x.loaded.experiment.task.classes.length;
  const file = (name: string) => path.join(folder.dir, name);
  await exportDebiased(x.classifier.path, file('model.debiased.onnx'), x.head.weight, x.head.bias, {
    logits: x.loaded.experiment.models.classifier.logits,
  });
  await writeSafetensors(file('head.safetensors'), {
    weight: f32([C, x.D], Float32Array.from(x.head.weight)),
    bias: f32([C], Float32Array.from(x.head.bias)),
  });
  await writeSafetensors(file('projector.safetensors'), {
    W: f32([x.d, x.D], Float32Array.from(x.projector.W)),
    b: f32([x.D], Float32Array.from(x.projector.b)),
    G: f32([1, x.d], Float32Array.from(x.gap.g)),
  });
  await writeSafetensors(file('train-embeddings.safetensors'), {
    clip: f32([x.train.n, x.d], x.train.clip!),
    features: f32([x.train.n, x.D], x.train.features),
  });
  await writeJsonAtomic(file('scores.json'), { scores: x.scores });
  folder.record.modelHashes = { classifier: x.classifier.hash };
  folder.record.artifacts = [
    'model.debiased.onnx',
    'head.safetensors',
    'projector.safetensors',
    'train-embeddings.safetensors',
    'scores.json',
    'report.md',
    'run.json',
  ];
  await writeFileAtomic(file('report.md'), renderReport(folder.record, x.loaded, x.scores));
}
