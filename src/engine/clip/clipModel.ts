// A CLIP export in the Hugging Face layout (onnx/text_model.onnx, onnx/vision_model.onnx,
// tokenizer.json, preprocessor_config.json). Input and output names are detected from the
// sessions and can be overridden in the experiment file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { InputError, throwIfAborted } from '../../shared/errors';
import { createSession, type SessionOptions } from '../onnxSession';
import { loadClipTokenizer, type ClipTokenizer } from './tokenizer';
import { CLIP_NAME_CANDIDATES, maskName, pickName } from './ioNames';
import { readClipPreprocessing, type ImagePreprocessing } from '../images/preprocess';
import type { Experiment } from '../../experiment';

export interface ClipFiles {
  dir: string;
  textModel: string;
  visionModel: string;
  tokenizer: string;
  preprocessor: string;
}

export function clipFiles(clip: Experiment['models']['clip'], resolve: (p: string) => string): ClipFiles {
  const dir = resolve(clip.dir);
  return {
    dir,
    textModel: path.resolve(dir, clip.textModel),
    visionModel: path.resolve(dir, clip.visionModel),
    tokenizer: path.resolve(dir, clip.tokenizer),
    preprocessor: path.resolve(dir, clip.preprocessor),
  };
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
  /** row-major [texts.length, dim] */
  encodeTexts(texts: string[], opts?: EncodeTextsOptions): Promise<Float32Array>;
  /** pixel_values [n, 3, H, W] -> [n, dim] */
  encodePixels(pixels: Float32Array, n: number): Promise<Float32Array>;
  release(): Promise<void>;
}

function requireFile(file: string, what: string): void {
  if (!fs.existsSync(file))
    throw new InputError(
      `${file}: ${what} not found. A CLIP folder needs the Hugging Face export layout: onnx/text_model.onnx, onnx/vision_model.onnx, tokenizer.json, preprocessor_config.json (or set the file names in models.clip).`,
    );
}

export async function loadClip(
  clip: Experiment['models']['clip'],
  resolve: (p: string) => string,
  opts: SessionOptions = {},
): Promise<ClipModel> {
  const files = clipFiles(clip, resolve);
  requireFile(files.textModel, 'CLIP text model');
  requireFile(files.visionModel, 'CLIP vision model');
  requireFile(files.tokenizer, 'CLIP tokenizer');
  requireFile(files.preprocessor, 'CLIP preprocessor config');
  const tokenizer = loadClipTokenizer(files.tokenizer);
  const preprocessing = readClipPreprocessing(files.preprocessor);
  const [text, vision] = await Promise.all([
    createSession(files.textModel, files.textModel, opts),
    createSession(files.visionModel, files.visionModel, opts),
  ]);
  const names = clip.names;
  const C = CLIP_NAME_CANDIDATES;
  const idsName = pickName(text.inputNames, names.inputIds, C.inputIds, 'token id input', files.textModel);
  const attentionName = maskName(text.inputNames, names.attentionMask);
  const textOut = pickName(text.outputNames, names.textEmbeds, C.textEmbeds, 'text embedding output', files.textModel);
  const pixName = pickName(vision.inputNames, names.pixelValues, C.pixelValues, 'pixel input', files.visionModel);
  const imageOut = pickName(vision.outputNames, names.imageEmbeds, C.imageEmbeds, 'image embedding output', files.visionModel);

  const runText = async (batch: number[][], padTo = 0): Promise<{ data: Float32Array; dim: number }> => {
    // Trim to the longest prompt of the batch: end-token pooling makes padding irrelevant.
    const len = Math.max(padTo, ...batch.map((ids) => ids.length));
    const ids = new BigInt64Array(batch.length * len).fill(BigInt(tokenizer.padId));
    const mask = new BigInt64Array(batch.length * len);
    batch.forEach((row, i) =>
      row.forEach((id, j) => {
        ids[i * len + j] = BigInt(id);
        mask[i * len + j] = 1n;
      }),
    );
    const feeds: Record<string, ort.Tensor> = { [idsName]: new ort.Tensor('int64', ids, [batch.length, len]) };
    if (attentionName) feeds[attentionName] = new ort.Tensor('int64', mask, [batch.length, len]);
    const out = (await text.run(feeds, [textOut]))[textOut];
    return { data: out.data as Float32Array, dim: out.dims[out.dims.length - 1] };
  };
  const runVision = async (pixels: Float32Array, n: number): Promise<{ data: Float32Array; dim: number }> => {
    const { crop } = preprocessing;
    const out = (await vision.run({ [pixName]: new ort.Tensor('float32', pixels, [n, 3, crop, crop]) }, [imageOut]))[imageOut];
    return { data: out.data as Float32Array, dim: out.dims[out.dims.length - 1] };
  };

  const textDim = (await runText([tokenizer.encode('a photo.')])).dim;
  const imageDim = (await runVision(new Float32Array(3 * preprocessing.crop * preprocessing.crop), 1)).dim;
  if (textDim !== imageDim) {
    throw new InputError(
      `${files.dir}: CLIP text embeddings have ${textDim} dimensions but image embeddings have ${imageDim}. The two models must come from the same CLIP export (text_embeds and image_embeds, both projected).`,
    );
  }

  return {
    files,
    tokenizer,
    preprocessing,
    dim: textDim,
    async encodeTexts(texts, o = {}) {
      const batchSize = o.batchSize ?? 64;
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
      await Promise.all([text.release(), vision.release()]);
    },
  };
}
