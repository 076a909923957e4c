// Step "export": the run folder's artifacts. model.debiased.onnx is the user's classifier with
// the new last layer (their own file is only read); every file is written atomically.
import type { WordScore } from '../../protocol/events';
import { ARTIFACTS, type RunJson } from '../../protocol/runRecord';
import type { LoadedExperiment } from '../../experiment';
import { writeFileAtomic, writeJsonAtomic } from '../../shared/atomicWrite';
import type { LinearHead } from '../math/linearHead';
import type { Projector } from '../math/projector';
import type { RunFolder } from '../runs/store';
import { renderReport } from '../runs/report';
import { exportDebiased } from '../onnx';
import { writeSafetensors, f32 } from '../io/safetensors';
import type { LoadedClassifier } from './models';
import type { Gap } from './gap';
import type { SplitData } from './encodeData';

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

/** Writes the artifacts; returns the record's part (artifacts and model hashes). `record` is the run so far, for the report. */
export async function exportRun(folder: RunFolder, x: ExportInputs, record: RunJson): Promise<Pick<RunJson, 'artifacts' | 'modelHashes'>> {
  const C = x.loaded.experiment.task.classes.length;
  await exportDebiased(x.classifier.path, folder.artifact(ARTIFACTS.model), x.head.weight, x.head.bias, {
    logits: x.loaded.experiment.models.classifier.logits,
  });
  await writeSafetensors(folder.artifact(ARTIFACTS.head), {
    weight: f32([C, x.D], Float32Array.from(x.head.weight)),
    bias: f32([C], Float32Array.from(x.head.bias)),
  });
  await writeSafetensors(folder.artifact(ARTIFACTS.projector), {
    W: f32([x.d, x.D], Float32Array.from(x.projector.W)),
    b: f32([x.D], Float32Array.from(x.projector.b)),
    G: f32([1, x.d], Float32Array.from(x.gap.g)),
  });
  await writeSafetensors(folder.artifact(ARTIFACTS.trainEmbeddings), {
    clip: f32([x.train.n, x.d], x.train.clip!),
    features: f32([x.train.n, x.D], x.train.features),
  });
  await writeJsonAtomic(folder.artifact(ARTIFACTS.scores), { scores: x.scores });
  const part = { modelHashes: { classifier: x.classifier.hash }, artifacts: Object.values(ARTIFACTS) };
  await writeFileAtomic(folder.artifact(ARTIFACTS.report), renderReport({ ...record, ...part }, x.loaded, x.scores));
  return part;
}
