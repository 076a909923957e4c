// Step "encode images": every split becomes matrices. Train needs classifier features and
// CLIP image embeddings (the projector's Y and X); val and test need classifier features;
// caption pairs need CLIP image embeddings. Precomputed safetensors skip the models.
import * as fs from 'node:fs';
import { readCaptions, readImageSource } from '../data/readSource';
import type { CaptionPair } from '../data/records';
import { encodeImages, skippedImagesMessage, type ImageEncoder } from '../images/encodeImages';
import { readSafetensors, toFloat64, type Tensor } from '../io/safetensors';
import { InputError } from '../../shared/errors';
import type { DataSource } from '../../experiment';
import type { StepContext } from './context';
import { encodeSchedule } from '../onnxSession';

export interface SplitData {
  name: 'train' | 'val' | 'test';
  n: number;
  features: Float32Array;
  /** CLIP image embeddings (absent for precomputed val/test embeddings without them) */
  clip?: Float32Array;
  /** class index per row, -1 when unknown */
  labels: Int32Array;
  /** spurious value index per row, -1 when unknown */
  spurious: Int32Array;
  /** absolute image path per row (image sources only; rows the encoder skipped are left out as everywhere) */
  paths?: string[];
}

export interface EncodedData {
  train: SplitData;
  val?: SplitData;
  test?: SplitData;
  captions?: { pairs: CaptionPair[]; clip: Float32Array };
  counts: { images: number; encoded: number; cached: number; unreadable: number };
}

const asInt = (t: Tensor | undefined, n: number, file: string, name: string): Int32Array => {
  if (!t) return new Int32Array(n).fill(-1);
  if (t.data.length !== n) throw new InputError(`${file}: tensor "${name}" has ${t.data.length} values but there are ${n} rows.`);
  return Int32Array.from(toFloat64(t), (v) => Math.round(v));
};

async function readEmbeddingSource(
  file: string,
  name: SplitData['name'],
  needClip: boolean,
  dims: { D: number; d?: number },
): Promise<SplitData> {
  if (!fs.existsSync(file)) throw new InputError(`${file}: embeddings file not found. Fix data.${name}.embeddings.`);
  const { tensors } = await readSafetensors(file);
  const features = tensors.features;
  if (!features || features.shape.length !== 2)
    throw new InputError(`${file}: needs a 2-D tensor "features" [N, D] (the classifier's penultimate features).`);
  const [n, D] = features.shape;
  if (D !== dims.D) throw new InputError(`${file}: "features" has ${D} columns but the classifier's final layer takes ${dims.D}.`);
  const clip = tensors.clip;
  if (needClip && (!clip || clip.shape[0] !== n || (dims.d !== undefined && clip.shape[1] !== dims.d))) {
    throw new InputError(
      `${file}: the train split needs a tensor "clip" [N, ${dims.d ?? 'd'}] of CLIP image embeddings, one row per features row.`,
    );
  }
  return {
    name,
    n,
    features: Float32Array.from(toFloat64(features)),
    // val and test use CLIP embeddings when given (pseudo-groups, the zero-shot baseline)
    clip:
      clip && clip.shape[0] === n && (dims.d === undefined || clip.shape[1] === dims.d) ? Float32Array.from(toFloat64(clip)) : undefined,
    labels: asInt(tensors.labels, n, file, 'labels'),
    spurious: asInt(tensors.spurious, n, file, 'spurious'),
  };
}

/**
 * `trainOnly`: only what the gap and the projector need (train and the caption pairs), as word
 * scoring does: val and test, often most of the images, wait for the first run.
 */
export async function encodeData(
  ctx: StepContext,
  encoders: { classifier: ImageEncoder; clip: ImageEncoder },
  opts: { trainOnly?: boolean } = {},
): Promise<EncodedData> {
  const exp = ctx.loaded.experiment;
  const resolve = ctx.loaded.resolve;
  type Job = { name: SplitData['name']; source: DataSource };
  const jobs: Job[] = [{ name: 'train', source: exp.data.train }];
  if (exp.data.val && !opts.trainOnly) jobs.push({ name: 'val', source: exp.data.val });
  if (exp.data.test && !opts.trainOnly) jobs.push({ name: 'test', source: exp.data.test });

  // Read every source first, so a bad row anywhere fails before minutes of encoding.
  const lists = jobs.map((j) => readImageSource(j.source, exp.task, resolve));
  const pairs = exp.data.captions && readCaptions(exp.data.captions, resolve, exp.settings.seed);
  const total = lists.reduce((s, m) => s + (m?.length ?? 0), 0) + (pairs?.length ?? 0);
  let before = 0;
  const counts = { images: total, encoded: 0, cached: 0, unreadable: 0 };
  const run = async (paths: string[], encs: ImageEncoder[], source: string) => {
    const base = before;
    const r = await encodeImages(paths, encs, {
      cache: ctx.cache,
      batchSize: exp.settings.batchSize,
      decode: { exifOrientation: exp.settings.exifOrientation },
      skipUnreadable: exp.settings.skipUnreadable,
      source,
      signal: ctx.signal,
      onProgress: (done) => ctx.progress('encode-images', base + done, total),
      schedule: encodeSchedule(ctx.threads),
    });
    before += paths.length;
    counts.encoded += r.encoded;
    counts.cached += r.cached;
    counts.unreadable += r.unreadable.length;
    if (r.unreadable.length) ctx.log('warn', skippedImagesMessage(source, r.unreadable), 'encode-images');
    return r;
  };

  const splits: Partial<Record<SplitData['name'], SplitData>> = {};
  for (let i = 0; i < jobs.length; i++) {
    const { name, source } = jobs[i];
    const listed = lists[i];
    if (!listed) {
      splits[name] = await readEmbeddingSource(resolve((source as { embeddings: string }).embeddings), name, name === 'train', {
        D: encoders.classifier.dim,
        d: encoders.clip.dim,
      });
      continue;
    }
    // every split gets both: train for the projector, val for pseudo-groups, test for the CLIP zero-shot baseline
    const encs = [encoders.classifier, encoders.clip];
    const { outputs, kept } = await run(
      listed.map((r) => r.path),
      encs,
      `data.${name}`,
    );
    const [features, clip] = outputs;
    const records = kept.map((k) => listed[k]);
    splits[name] = {
      name,
      n: records.length,
      features,
      clip,
      labels: Int32Array.from(records, (r) => r.label ?? -1),
      spurious: Int32Array.from(records, (r) => r.spurious ?? -1),
      paths: records.map((r) => r.path),
    };
    ctx.log('info', `${name}: ${records.length} images`, 'encode-images');
  }
  let captions: EncodedData['captions'];
  if (pairs) {
    const { outputs, kept } = await run(
      pairs.map((p) => p.path),
      [encoders.clip],
      'data.captions',
    );
    captions = { pairs: kept.map((k) => pairs[k]), clip: outputs[0] };
  }
  return { train: splits.train!, val: splits.val, test: splits.test, captions, counts };
}
