// Encode image files with one or more image encoders (classifier features, CLIP image
// embeddings) in batches, through the content-addressed cache. Reading and decoding the
// next batch overlaps with inference on the current one.
import * as fs from 'node:fs';
import { EmbeddingCache, sha256 } from '../cache';
import { throwIfAborted, InputError } from '../errors';
import { DEFAULT_DECODING, decodeImage, decodingKey, preprocessInto, type DecodeOptions, type ImagePreprocessing } from './preprocess';

export interface ImageEncoder {
  name: string;
  /** cache namespace: model bytes + preprocessing */
  namespace: string;
  preprocessing: ImagePreprocessing;
  dim: number;
  /** pixels [n, 3, crop, crop] -> [n, dim] */
  run(pixels: Float32Array, n: number): Promise<Float32Array>;
}

export interface EncodeResult {
  /** one [paths.length, dim] matrix per encoder, rows in input order */
  outputs: Float32Array[];
  encoded: number;
  cached: number;
}

interface PreparedBatch {
  start: number;
  /** per encoder: rows that missed the cache, and their pixels */
  misses: { rows: number[]; pixels: Float32Array }[];
  keys: string[];
  cached: number;
}

export async function encodeImages(
  paths: string[],
  encoders: ImageEncoder[],
  opts: {
    cache: EmbeddingCache;
    batchSize: number;
    decode?: DecodeOptions;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<EncodeResult> {
  const decode = opts.decode ?? DEFAULT_DECODING;
  // the encoder's namespace covers the model and its preprocessing; decoding is the other input
  const namespaces = encoders.map((e) => opts.cache.namespace(e.namespace, decodingKey(decode)));
  const outputs = encoders.map((e) => new Float32Array(paths.length * e.dim));
  const total = paths.length;
  let encoded = 0;
  let cached = 0;

  // Batch boundaries: the first batch is a quarter of the others, so inference starts after a few
  // decodes instead of a full batch (nothing overlaps the first batch's preparation).
  const ends: number[] = [];
  const first = Math.max(1, Math.ceil(opts.batchSize / 4));
  for (let e = Math.min(first, total); e <= total; e = Math.min(e + opts.batchSize, total)) {
    ends.push(e);
    if (e === total) break;
  }

  const prepare = async (b: number): Promise<PreparedBatch> => {
    const start = b === 0 ? 0 : ends[b - 1];
    const end = ends[b];
    const files = await Promise.all(
      paths.slice(start, end).map((p) =>
        fs.promises.readFile(p).catch((err: NodeJS.ErrnoException) => {
          throw new InputError(`${p}: cannot read the image (${err.code ?? err.message}). Restore it or remove it from the manifest.`);
        }),
      ),
    );
    const keys = files.map((b) => sha256(b));
    const missRows: number[][] = encoders.map(() => []);
    await Promise.all(
      keys.map(async (key, i) => {
        for (let e = 0; e < encoders.length; e++) {
          const hit = await opts.cache.get(namespaces[e], key);
          if (hit && hit.length === encoders[e].dim) outputs[e].set(hit, (start + i) * encoders[e].dim);
          else missRows[e].push(i);
        }
      }),
    );
    const needDecode = new Set(missRows.flat());
    const decoded = new Map(
      await Promise.all([...needDecode].map(async (i) => [i, await decodeImage(files[i], paths[start + i], decode)] as const)),
    );
    const misses = await Promise.all(
      encoders.map(async (enc, e) => {
        const rows = missRows[e].sort((a, b) => a - b);
        const size = 3 * enc.preprocessing.crop * enc.preprocessing.crop;
        const pixels = new Float32Array(rows.length * size);
        await Promise.all(rows.map((i, r) => preprocessInto(decoded.get(i)!, enc.preprocessing, pixels, r * size)));
        return { rows, pixels };
      }),
    );
    return { start, misses, keys, cached: end - start - needDecode.size };
  };

  let next: Promise<PreparedBatch> | undefined = total > 0 ? prepare(0) : undefined;
  for (let b = 0; next; b++) {
    throwIfAborted(opts.signal);
    const batch = await next;
    const after = ends[b];
    next = b + 1 < ends.length ? prepare(b + 1) : undefined;
    next?.catch(() => undefined); // surfaced when awaited; avoid an unhandled rejection if we stop first
    for (let e = 0; e < encoders.length; e++) {
      const { rows, pixels } = batch.misses[e];
      if (!rows.length) continue;
      throwIfAborted(opts.signal);
      const enc = encoders[e];
      const out = await enc.run(pixels, rows.length);
      await Promise.all(
        rows.map((i, r) => {
          const vec = out.slice(r * enc.dim, (r + 1) * enc.dim);
          outputs[e].set(vec, (batch.start + i) * enc.dim);
          return opts.cache.put(namespaces[e], batch.keys[i], vec);
        }),
      );
    }
    const n = batch.keys.length;
    cached += batch.cached;
    encoded += n - batch.cached;
    opts.onProgress?.(Math.min(after, total), total);
  }
  return { outputs, encoded, cached };
}
