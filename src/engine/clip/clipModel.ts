// A CLIP export: two towers (two files, or one file holding both), its tokenizer and its image
// preprocessing, found by clip/exportLayout.ts. Input and output names are detected and checked
// against what each tower needs (clip/clipTower.ts) and can be overridden in the experiment file.
import { InputError, throwIfAborted } from '../../shared/errors';
import { readOnnxModel } from '../onnx/model';
import { floatTensor, floatValues, intTensor } from '../onnx/feeds';
import type { SessionOptions } from '../onnxSession';

import { loadClipTokenizer, type ClipTokenizer } from './tokenizer';
import { openTower, towerRole, type OpenedTower } from './clipTower';
import { resolveClipFiles, type ClipFiles, type ClipLocation } from './exportLayout';
import type { ClipNames } from './ioNames';
import { readClipPreprocessing, type ImagePreprocessing } from '../images/preprocess';

export interface ClipSettings extends ClipLocation {
  names: ClipNames;
}

export interface EncodeTextsOptions {
  batchSize?: number;
  signal?: AbortSignal;
  onBatch?: (done: number) => void;
  /** pad every batch to this many tokens instead of its longest prompt (benchmarks and tests compare the two) */
  padTo?: number;
}

export interface ClipModel {
  files: ClipFiles;
  tokenizer: ClipTokenizer;
  preprocessing: ImagePreprocessing;
  dim: number;
  /** what was chosen and why (layout, variant, cut towers, normalisation), for the run log */
  notes: string[];
  /** row-major [texts.length, dim] */
  encodeTexts(texts: string[], opts?: EncodeTextsOptions): Promise<Float32Array>;
  /** pixel_values [n, 3, H, W] -> [n, dim] */
  encodePixels(pixels: Float32Array, n: number): Promise<Float32Array>;
  release(): Promise<void>;
}

/** A fixed size on a tensor axis (an export traced without dynamic axes), else undefined. */
const fixed = (d: unknown): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);

export async function loadClip(clip: ClipSettings, resolve: (p: string) => string, opts: SessionOptions = {}): Promise<ClipModel> {
  const files = resolveClipFiles(clip, resolve);
  const tokenizer = loadClipTokenizer(files.tokenizer, files.merges);
  const preprocessing = readClipPreprocessing(files.preprocessor);
  const [text, vision] = await openTowers(files, clip.names, opts);
  try {
    checkPixelSize(vision, preprocessing, files.preprocessor);
    return await assemble(files, tokenizer, preprocessing, text, vision);
  } catch (err) {
    await Promise.all([text.session.release(), vision.session.release()]);
    throw err;
  }
}

/** Both towers, or neither: a tower that opened is released when the other fails. */
async function openTowers(files: ClipFiles, names: ClipNames, opts: SessionOptions): Promise<[OpenedTower, OpenedTower]> {
  // One file holding both towers is decoded once.
  const shared = files.textModel === files.visionModel ? await readOnnxModel(files.textModel, towerRole('text'), false) : undefined;
  const [text, vision] = await Promise.allSettled([
    openTower(files.textModel, 'text', names, opts, shared),
    openTower(files.visionModel, 'vision', names, opts, shared),
  ]);
  if (text.status === 'fulfilled' && vision.status === 'fulfilled') return [text.value, vision.value];
  await Promise.all([text, vision].map((t) => (t.status === 'fulfilled' ? t.value.session.release() : undefined)));
  throw (text.status === 'rejected' ? text : (vision as PromiseRejectedResult)).reason;
}

function checkPixelSize(vision: OpenedTower, p: ImagePreprocessing, preprocessor: string): void {
  const { pixels } = vision.plan;
  const [, c, h, w] = pixels!.shape;
  const wrong = (fixed(c) !== undefined && c !== 3) || [h, w].some((d) => fixed(d) !== undefined && d !== p.crop);
  if (wrong)
    throw new InputError(
      `${vision.plan.file}: the vision tower takes ${pixels!.name} [${pixels!.shape.map((d) => d ?? '?').join(', ')}] but ${preprocessor} makes [batch, 3, ${p.crop}, ${p.crop}]. Use the preprocessor_config.json of the same export (models.clip.preprocessor).`,
    );
}

async function assemble(
  files: ClipFiles,
  tokenizer: ClipTokenizer,
  preprocessing: ImagePreprocessing,
  text: OpenedTower,
  vision: OpenedTower,
): Promise<ClipModel> {
  const tp = text.plan;
  const vp = vision.plan;
  const ids = tp.ids!;
  const textBatch = fixed(ids.shape[0]);
  const textLength = fixed(ids.shape[1]);
  const imageBatch = fixed(vp.pixels!.shape[0]);
  const { crop } = preprocessing;

  /** One onnxruntime call; rows beyond `batch` fill a fixed batch axis with copies of the first. */
  const runText = async (batch: number[][], padTo = 0): Promise<{ data: Float32Array; dim: number }> => {
    const rows = textBatch ?? batch.length;
    const len = textLength ?? Math.max(padTo, ...batch.map((r) => r.length));
    const tooLong = batch.find((r) => r.length > len);
    if (tooLong)
      throw new InputError(
        `${tp.file}: the text tower takes exactly ${len} tokens but a prompt has ${tooLong.length}. Use an export with a dynamic sequence axis, or shorter words.`,
      );
    // Trim to the longest prompt of the batch: end-token pooling makes padding irrelevant.
    const idValues = new Array<number>(rows * len).fill(tokenizer.padId);
    const maskValues = new Array<number>(rows * len).fill(0);
    for (let i = 0; i < rows; i++) {
      const row = batch[i] ?? batch[0];
      row.forEach((id, j) => {
        idValues[i * len + j] = id;
        maskValues[i * len + j] = 1;
      });
    }
    const feeds = { [ids.name]: intTensor(ids.elemType, idValues, [rows, len]) };
    if (tp.mask) feeds[tp.mask.name] = intTensor(tp.mask.elemType, maskValues, [rows, len]);
    const out = (await text.session.run(feeds, [tp.read.name]))[tp.read.name];
    const dim = out.dims[out.dims.length - 1];
    return { data: floatValues(out, `${tp.file}: ${tp.read.name}`).subarray(0, batch.length * dim), dim };
  };

  const runVision = async (pixels: Float32Array, n: number): Promise<{ data: Float32Array; dim: number }> => {
    const size = 3 * crop * crop;
    if (!imageBatch || imageBatch === n) {
      const t = floatTensor(vp.pixels!.elemType, pixels.subarray(0, n * size), [n, 3, crop, crop]);
      const out = (await vision.session.run({ [vp.pixels!.name]: t }, [vp.read.name]))[vp.read.name];
      return { data: floatValues(out, `${vp.file}: ${vp.read.name}`), dim: out.dims[out.dims.length - 1] };
    }
    // A fixed batch axis: run in chunks of that size, the last one padded with copies of its first image.
    let result: Float32Array | undefined;
    let dim = 0;
    for (let start = 0; start < n; start += imageBatch) {
      const chunk = new Float32Array(imageBatch * size);
      const count = Math.min(imageBatch, n - start);
      chunk.set(pixels.subarray(start * size, (start + count) * size));
      for (let i = count; i < imageBatch; i++) chunk.copyWithin(i * size, 0, size);
      const part = await runVision(chunk, imageBatch);
      dim = part.dim;
      result ??= new Float32Array(n * dim);
      result.set(part.data.subarray(0, count * dim), start * dim);
    }
    return { data: result!, dim };
  };

  const textDim = (await runText([tokenizer.encode('a photo.')])).dim;
  const imageDim = (await runVision(new Float32Array(3 * crop * crop * (imageBatch ?? 1)), imageBatch ?? 1)).dim;
  if (textDim !== imageDim) {
    throw new InputError(
      `${files.dir}: CLIP text embeddings have ${textDim} dimensions but image embeddings have ${imageDim} (${tp.read.name} in ${tp.file}, ${vp.read.name} in ${vp.file}). The two towers must come from the same CLIP export (text_embeds and image_embeds, both projected).`,
    );
  }

  return {
    files,
    tokenizer,
    preprocessing,
    dim: textDim,
    notes: [...files.notes, ...tp.notes, ...vp.notes],
    async encodeTexts(texts, o = {}) {
      const batchSize = textBatch ?? o.batchSize ?? 64;
      const encoded = texts.map((t) => tokenizer.encode(t));
      // Sort by length so each batch is trimmed to similar lengths; write back in input order.
      const order = encoded.map((_, i) => i).sort((a, b) => encoded[a].length - encoded[b].length);
      const out = new Float32Array(texts.length * textDim);
      for (let start = 0; start < order.length; start += batchSize) {
        throwIfAborted(o.signal);
        const idx = order.slice(start, start + batchSize);
        const { data } = await runText(
          idx.map((i) => encoded[i]),
          o.padTo,
        );
        idx.forEach((i, r) => out.set(data.subarray(r * textDim, (r + 1) * textDim), i * textDim));
        o.onBatch?.(Math.min(start + batchSize, order.length));
      }
      return out;
    },
    async encodePixels(pixels, n) {
      return (await runVision(pixels, n)).data;
    },
    async release() {
      await Promise.all([text.session.release(), vision.session.release()]);
    },
  };
}
