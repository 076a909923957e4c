// Live checks for the editor's Setup tab: files exist, the models have the expected inputs
// and outputs, and the sizes agree. Nothing is encoded and no onnxruntime session is opened:
// graph signatures are read from the protobuf, so a check takes milliseconds.
import * as fs from 'node:fs';
import type { SetupCheck } from '../protocol/events';
import { loadExperiment, type LoadedExperiment } from '../experiment';
import { inspectClassifier } from './onnx';
import { decodeModel, int64, type ValueInfoProto } from './onnx/proto';
import { clipFiles } from './clip/clipModel';
import { CLIP_NAME_CANDIDATES, maskName, pickName } from './clip/ioNames';
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

interface Signature {
  inputs: Map<string, (number | string)[]>;
  outputs: Map<string, (number | string)[]>;
}

function dims(v: ValueInfoProto): (number | string)[] {
  return (v.type?.tensor_type?.shape?.dim ?? []).map((d) =>
    d.dim_value !== undefined && d.dim_value !== null ? int64(d.dim_value) : (d.dim_param ?? '?'),
  );
}

function readSignature(file: string): Signature {
  const g = decodeModel(fs.readFileSync(file)).graph;
  if (!g) throw new Error('no graph');
  const init = new Set((g.initializer ?? []).map((t) => t.name));
  return {
    inputs: new Map((g.input ?? []).filter((v) => !init.has(v.name)).map((v) => [v.name ?? '', dims(v)])),
    outputs: new Map((g.output ?? []).map((v) => [v.name ?? '', dims(v)])),
  };
}

function guard(id: string, label: string, fn: () => SetupCheck | SetupCheck[]): SetupCheck[] {
  try {
    const r = fn();
    return Array.isArray(r) ? r : [r];
  } catch (err) {
    return [bad(id, label, (err as Error).message)];
  }
}

function clipChecks(l: LoadedExperiment): SetupCheck[] {
  const files = clipFiles(l.experiment.models.clip, l.resolve);
  const names = l.experiment.models.clip.names;
  const out: SetupCheck[] = [];
  for (const [id, file, what] of [
    ['clip-text', files.textModel, 'CLIP text model'],
    ['clip-vision', files.visionModel, 'CLIP vision model'],
    ['clip-tokenizer', files.tokenizer, 'CLIP tokenizer'],
    ['clip-preprocessor', files.preprocessor, 'CLIP preprocessor'],
  ] as const) {
    if (!fs.existsSync(file)) out.push(bad(id, what, `${file} not found`));
  }
  if (out.length) return out;
  let textDim: number | string | undefined;
  let imageDim: number | string | undefined;
  out.push(
    ...guard('clip-text', 'CLIP text model', () => {
      const s = readSignature(files.textModel);
      const inputs = [...s.inputs.keys()];
      const idsName = pickName(inputs, names.inputIds, CLIP_NAME_CANDIDATES.inputIds, 'token id input', files.textModel);
      const mask = maskName(inputs, names.attentionMask);
      const outName = pickName(
        [...s.outputs.keys()],
        names.textEmbeds,
        CLIP_NAME_CANDIDATES.textEmbeds,
        'text embedding output',
        files.textModel,
      );
      textDim = s.outputs.get(outName)?.at(-1);
      return ok('clip-text', 'CLIP text model', `${idsName}${mask ? ` + ${mask}` : ''} -> ${outName} [${textDim}]`);
    }),
    ...guard('clip-vision', 'CLIP vision model', () => {
      const s = readSignature(files.visionModel);
      const pix = pickName([...s.inputs.keys()], names.pixelValues, CLIP_NAME_CANDIDATES.pixelValues, 'pixel input', files.visionModel);
      const outName = pickName(
        [...s.outputs.keys()],
        names.imageEmbeds,
        CLIP_NAME_CANDIDATES.imageEmbeds,
        'image embedding output',
        files.visionModel,
      );
      imageDim = s.outputs.get(outName)?.at(-1);
      return ok('clip-vision', 'CLIP vision model', `${pix} [${s.inputs.get(pix)!.join(', ')}] -> ${outName} [${imageDim}]`);
    }),
    ...guard('clip-tokenizer', 'CLIP tokenizer', () => {
      const t = loadClipTokenizer(files.tokenizer);
      return ok(
        'clip-tokenizer',
        'CLIP tokenizer',
        `loads; end token ${t.endId}${t.unkId !== undefined ? `, unknown token ${t.unkId}` : ''}`,
      );
    }),
    ...guard('clip-preprocessor', 'CLIP preprocessor', () => {
      const p = readClipPreprocessing(files.preprocessor);
      return ok('clip-preprocessor', 'CLIP preprocessor', `shortest edge ${p.resize}, crop ${p.crop}`);
    }),
  );
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
    const info = await inspectClassifier(l.resolve(cfg.path), { logits: cfg.logits });
    const out = [
      ok('classifier', 'Classifier', `final layer ${info.layer.op} [${info.numClasses} x ${info.featureDim}] on "${info.featuresName}"`),
    ];
    const C = l.experiment.task.classes.length;
    out.push(
      info.numClasses === C
        ? ok('classifier-classes', 'Classes', `${C} classes match the model's ${info.numClasses} outputs`)
        : bad('classifier-classes', 'Classes', `task.classes has ${C} classes but the model has ${info.numClasses} outputs`),
    );
    const s = info.imageInput.shape;
    const crop = cfg.preprocessing.crop;
    if (typeof s[2] === 'number' && typeof s[3] === 'number' && (s[2] !== crop || s[3] !== crop)) {
      out.push(bad('classifier-input', 'Classifier input', `the model takes ${s[2]}x${s[3]} images but preprocessing.crop is ${crop}`));
    } else
      out.push(
        ok('classifier-input', 'Classifier input', `"${info.imageInput.name}" [${s.map((v) => v ?? '?').join(', ')}], crop ${crop}`),
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
    ...clipChecks(l),
    ...dataChecks(l),
    ...wordChecks(l),
  ];
}
