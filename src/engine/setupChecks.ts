// Live checks for the editor's Setup tab: files exist, the models have the expected inputs
// and outputs, and the sizes agree. Nothing is encoded and no onnxruntime session is opened:
// graph signatures are read from the protobuf, so a check takes milliseconds.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SetupCheck } from '../protocol/events';
import { loadExperiment, type LoadedExperiment } from '../experiment';
import { inputSizeProblem, inspectClassifier } from './onnx';
import { readOnnxModel } from './onnx/model';
import { describeTensor } from './onnx/signature';
import { resolveClipFiles, type ClipFiles } from './clip/exportLayout';
import { planTower, towerRole, type TowerPlan, type TowerRole } from './clip/clipTower';
import { loadClipTokenizer } from './clip/tokenizer';
import { readClipPreprocessing } from './images/preprocess';
import { readCaptions, readImageSource } from './data/readSource';

const ok = (id: string, label: string, message: string): SetupCheck => ({ id, label, status: 'ok', message });
const bad = (id: string, label: string, message: string, status: 'error' | 'warn' = 'error'): SetupCheck => ({
  id,
  label,
  status,
  message,
});

function guard(id: string, label: string, fn: () => SetupCheck | SetupCheck[]): SetupCheck[] {
  try {
    const r = fn();
    return Array.isArray(r) ? r : [r];
  } catch (err) {
    return [bad(id, label, (err as Error).message)];
  }
}

async function clipChecks(l: LoadedExperiment): Promise<SetupCheck[]> {
  const clip = l.experiment.models.clip;
  let files: ClipFiles;
  try {
    files = resolveClipFiles(clip, l.resolve);
  } catch (err) {
    return [bad('clip-files', 'CLIP files', (err as Error).message)];
  }
  const out: SetupCheck[] = [ok('clip-files', 'CLIP files', files.notes.join('; ') || `${files.textModel} + ${files.visionModel}`)];
  const shared = files.textModel === files.visionModel;
  const plans: Partial<Record<TowerRole, TowerPlan>> = {};
  for (const [role, file, id, label] of [
    ['text', files.textModel, 'clip-text', 'CLIP text model'],
    ['vision', files.visionModel, 'clip-vision', 'CLIP vision model'],
  ] as const) {
    try {
      const loaded = await readOnnxModel(file, towerRole(role), false);
      const plan = planTower(loaded, role, clip.names, file);
      plans[role] = plan;
      const inputs = role === 'text' ? `${plan.ids!.name}${plan.mask ? ` + ${plan.mask.name}` : ''}` : describeTensor(plan.pixels!);
      const cut = plan.notes.length ? ` (${plan.notes.map((n) => n.slice(file.length + 2)).join('; ')})` : '';
      out.push(
        ok(
          id,
          label,
          `${shared ? 'one file, both towers: ' : ''}${inputs} -> ${plan.read.name} [${plan.output.shape.at(-1) ?? '?'}]${cut}`,
        ),
      );
    } catch (err) {
      out.push(bad(id, label, (err as Error).message));
    }
  }
  let crop: number | undefined;
  out.push(
    ...guard('clip-tokenizer', 'CLIP tokenizer', () => {
      const t = loadClipTokenizer(files.tokenizer, files.merges);
      const from = files.merges ? 'vocab.json + merges.txt' : path.basename(files.tokenizer);
      return ok(
        'clip-tokenizer',
        'CLIP tokenizer',
        `${from} loads; end token ${t.endId}${t.unkId !== undefined ? `, unknown token ${t.unkId}` : ''}`,
      );
    }),
    ...guard('clip-preprocessor', 'CLIP preprocessor', () => {
      const p = readClipPreprocessing(files.preprocessor);
      crop = p.crop;
      const resize = p.resizeMode === 'none' ? 'no resize' : `${p.resizeMode === 'exact' ? 'resize to' : 'shortest edge'} ${p.resize}`;
      return ok('clip-preprocessor', 'CLIP preprocessor', `${resize} (${p.resample}), crop ${p.crop}`);
    }),
  );
  const [, , h, w] = plans.vision?.pixels?.shape ?? [];
  if (crop !== undefined && [h, w].some((d) => typeof d === 'number' && d !== crop))
    out.push(bad('clip-pixels', 'CLIP image size', `the vision tower takes ${h}x${w} images but ${files.preprocessor} crops to ${crop}`));
  const textDim = plans.text?.output.shape.at(-1);
  const imageDim = plans.vision?.output.shape.at(-1);
  if (typeof textDim === 'number' && typeof imageDim === 'number') {
    out.push(
      textDim === imageDim
        ? ok('clip-dims', 'CLIP embedding sizes', `text and image embeddings both ${textDim}`)
        : bad(
            'clip-dims',
            'CLIP embedding sizes',
            `text embeddings ${textDim} but image embeddings ${imageDim}: use both models of the same export`,
          ),
    );
  }
  return out;
}

async function classifierChecks(l: LoadedExperiment): Promise<SetupCheck[]> {
  const cfg = l.experiment.models.classifier;
  try {
    const info = await inspectClassifier(l.resolve(cfg.path), { logits: cfg.logits, input: cfg.input });
    const softmax = info.logitsName !== info.outputName ? `, logits read before the Softmax of "${info.outputName}"` : '';
    const out = [
      ok(
        'classifier',
        'Classifier',
        `final layer ${info.layer.op} [${info.numClasses} x ${info.featureDim}] on "${info.featuresName}"${softmax}`,
      ),
    ];
    const C = l.experiment.task.classes.length;
    out.push(
      info.numClasses === C
        ? ok('classifier-classes', 'Classes', `${C} classes match the model's ${info.numClasses} outputs`)
        : bad('classifier-classes', 'Classes', `task.classes has ${C} classes but the model has ${info.numClasses} outputs`),
    );
    const input = info.imageInput;
    const crop = cfg.preprocessing.crop;
    const problem = inputSizeProblem(input, crop);
    const batch = input.fixedBatch ? `, fixed batch ${input.fixedBatch} (slower: images run ${input.fixedBatch} at a time)` : '';
    out.push(
      problem
        ? bad('classifier-input', 'Classifier input', problem)
        : ok('classifier-input', 'Classifier input', `${describeTensor(input)} ${input.layout}${batch}, crop ${crop}`),
    );
    return out;
  } catch (err) {
    return [bad('classifier', 'Classifier', (err as Error).message)];
  }
}

function dataChecks(l: LoadedExperiment): SetupCheck[] {
  const exp = l.experiment;
  const out: SetupCheck[] = [];
  for (const split of ['train', 'val', 'test'] as const) {
    const src = exp.data[split];
    if (!src) {
      out.push(
        bad(
          `data-${split}`,
          `Data: ${split}`,
          split === 'val' ? 'no val split: no model selection and no DFR reference' : 'no test split: results on val only',
          'warn',
        ),
      );
      continue;
    }
    out.push(
      ...guard(`data-${split}`, `Data: ${split}`, () => {
        if ('embeddings' in src) {
          const f = l.resolve(src.embeddings);
          return fs.existsSync(f)
            ? ok(`data-${split}`, `Data: ${split}`, `precomputed embeddings ${src.embeddings}`)
            : bad(`data-${split}`, `Data: ${split}`, `${f} not found`);
        }
        const rows = readImageSource(src, exp.task, l.resolve)!;
        const grouped = rows.filter((r) => r.label !== null && r.spurious !== null).length;
        return ok(
          `data-${split}`,
          `Data: ${split}`,
          `${rows.length} images${grouped === rows.length ? ', all with group labels' : grouped ? `, ${grouped} with group labels` : ', no group labels'}`,
        );
      }),
    );
  }
  if (exp.data.captions) {
    const c = exp.data.captions;
    out.push(
      ...guard('data-captions', 'Data: caption pairs', () =>
        ok('data-captions', 'Data: caption pairs', `${readCaptions(c, l.resolve, exp.settings.seed).length} pairs for the modality gap`),
      ),
    );
  } else
    out.push(
      bad(
        'data-captions',
        'Data: caption pairs',
        'none: the modality gap will be estimated from the training images and class prompts',
        'warn',
      ),
    );
  return out;
}

function wordChecks(l: LoadedExperiment): SetupCheck[] {
  const exp = l.experiment;
  const empty = [
    ...exp.task.classes.filter((c) => !(exp.words.targets[c] ?? []).length).map((c) => `class "${c}"`),
    ...exp.task.spurious.values.filter((v) => !(exp.words.spurious[v] ?? []).length).map((v) => `spurious value "${v}"`),
  ];
  return [
    empty.length
      ? bad('words', 'Words', `no words for ${empty.join(', ')}`)
      : ok('words', 'Words', 'every class and spurious value has words'),
  ];
}

export async function runSetupChecks(file: string, _opts: { executionProvider?: string } = {}): Promise<SetupCheck[]> {
  let l: LoadedExperiment;
  try {
    l = loadExperiment(file);
  } catch (err) {
    return [bad('experiment', 'Experiment file', (err as Error).message)];
  }
  return [
    ok('experiment', 'Experiment file', 'valid'),
    ...(await classifierChecks(l)),
    ...(await clipChecks(l)),
    ...dataChecks(l),
    ...wordChecks(l),
  ];
}
