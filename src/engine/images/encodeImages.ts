// Encode image files with one or more image encoders (classifier features, CLIP image
// embeddings) in batches, through the content-addressed cache. Reading and decoding the
// next batch overlaps with inference on the current one. A file that cannot be read or
// decoded does not stop the batch: every such file is collected, then reported together
// (or left out, with skipUnreadable), so one bad image never costs the rest of the encoding.
import * as fs from 'node:fs';
import { EmbeddingCache, sha256 } from '../cache';
import { throwIfAborted } from '../../shared/errors';
import { formatList, listProblems } from '../data/records';
import { InputError } from '../../shared/errors';
import {
  DEFAULT_DECODING,
  decodeImage,
  decodingKey,
  preprocessInto,
  setDecodingThreads,
  UnreadableImageError,
  type DecodedImage,
  type DecodeOptions,
  type ImagePreprocessing,
} from './preprocess';

export interface ImageEncoder {
  name: string;
  /** cache namespace: model bytes + preprocessing */
  namespace: string;
  preprocessing: ImagePreprocessing;
  dim: number;
  /** pixels [n, 3, crop, crop] -> [n, dim] */
  run(pixels: Float32Array, n: number): Promise<Float32Array>;
}

export interface UnreadableImage {
  path: string;
  reason: string;
}

export interface EncodeResult {
  /** one [kept.length, dim] matrix per encoder, rows in input order */
  outputs: Float32Array[];
  /** the input rows the outputs hold: every row, unless skipUnreadable left some out */
  kept: number[];
  /** the files left out, in input order */
  unreadable: UnreadableImage[];
  encoded: number;
  cached: number;
}

export interface EncodeOptions {
  cache: EmbeddingCache;
  batchSize: number;
  decode?: DecodeOptions;
  /** leave unreadable files out instead of failing */
  skipUnreadable?: boolean;
  /** names the images in the error, e.g. "data.train" */
  source?: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /**
   * How the encoders share the cores: 'in-turn' runs them one after the other (each session
   * holds every thread), 'side-by-side' at once (each session holds a share). imageDecoding
   * sets sharp's threads per operation; absent = sharp's default.
   */
  schedule?: { models: 'in-turn' | 'side-by-side'; imageDecoding?: number };
}

interface PreparedBatch {
  start: number;
  /** per encoder: rows that missed the cache, and their pixels */
  misses: { rows: number[]; pixels: Float32Array }[];
  /** per row: the content key, undefined when the row failed */
  keys: (string | undefined)[];
  cached: number;
  failed: Map<number, string>;
}

/**
 * Rows per inference call. onnxruntime-node's run holds the JS thread until it ends, so a whole
 * batch in one call would stall the next batch's preparation; per-image cost at 8 rows is that of
 * 32 (bench/README.md, "Encoding: what was tried").
 */
export const INFERENCE_CHUNK = 8;

export function unreadableImagesError(source: string, unreadable: UnreadableImage[], total: number): InputError {
  const list = unreadable.map((u) => `${u.path}: ${u.reason}`);
  if (unreadable.length === total)
    return new InputError(
      `${source}: none of the ${total} images can be read:\n${formatList(list)}\nCheck that the paths point at image files.`,
    );
  return listProblems(
    source,
    list,
    'images cannot be read',
    'Replace or remove these files, or set "skipUnreadable": true in the experiment\'s settings to leave them out (they are then listed in the log and counted in run.json).',
  );
}

/** The log line for the files skipUnreadable left out: every one of them. */
export function skippedImagesMessage(source: string, unreadable: UnreadableImage[]): string {
  return `${source}: left out ${unreadable.length} unreadable images (skipUnreadable):\n${formatList(
    unreadable.map((u) => `${u.path}: ${u.reason}`),
    Infinity,
  )}`;
}

export async function encodeImages(paths: string[], encoders: ImageEncoder[], opts: EncodeOptions): Promise<EncodeResult> {
  const decode = opts.decode ?? DEFAULT_DECODING;
  setDecodingThreads(opts.schedule?.imageDecoding);
  const sideBySide = opts.schedule?.models === 'side-by-side';
  // the encoder's namespace covers the model and its preprocessing; decoding is the other input
  const namespaces = encoders.map((e) => opts.cache.namespace(e.namespace, decodingKey(decode)));
  const outputs = encoders.map((e) => new Float32Array(paths.length * e.dim));
  const total = paths.length;
  const unreadableRows = new Map<number, string>();
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
    const failed = new Map<number, string>();
    const files = await Promise.all(
      paths.slice(start, end).map((p, i) =>
        fs.promises.readFile(p).catch((err: NodeJS.ErrnoException) => {
          failed.set(i, `cannot read the file (${err.code ?? err.message})`);
          return undefined;
        }),
      ),
    );
    const keys = files.map((f) => f && sha256(f));
    const missRows: number[][] = encoders.map(() => []);
    await Promise.all(
      keys.map(async (key, i) => {
        if (key === undefined) return;
        for (let e = 0; e < encoders.length; e++) {
          const hit = await opts.cache.get(namespaces[e], key);
          if (hit && hit.length === encoders[e].dim) outputs[e].set(hit, (start + i) * encoders[e].dim);
          else missRows[e].push(i);
        }
      }),
    );
    const needDecode = new Set(missRows.flat());
    const decoded = new Map<number, DecodedImage>();
    await Promise.all(
      [...needDecode].map(async (i) => {
        try {
          decoded.set(i, await decodeImage(files[i]!, paths[start + i], decode));
        } catch (err) {
          if (!(err instanceof UnreadableImageError)) throw err;
          failed.set(i, err.reason);
        }
      }),
    );
    const misses = await Promise.all(
      encoders.map(async (enc, e) => {
        const rows = missRows[e].filter((i) => decoded.has(i)).sort((a, b) => a - b);
        const size = 3 * enc.preprocessing.crop * enc.preprocessing.crop;
        const pixels = new Float32Array(rows.length * size);
        await Promise.all(rows.map((i, r) => preprocessInto(decoded.get(i)!, enc.preprocessing, pixels, r * size)));
        return { rows, pixels };
      }),
    );
    for (const i of failed.keys()) keys[i] = undefined;
    return { start, misses, keys, cached: keys.filter((k, i) => k !== undefined && !needDecode.has(i)).length, failed };
  };

  let next: Promise<PreparedBatch> | undefined = total > 0 ? prepare(0) : undefined;
  for (let b = 0; next; b++) {
    throwIfAborted(opts.signal);
    const batch = await next;
    const after = ends[b];
    next = b + 1 < ends.length ? prepare(b + 1) : undefined;
    next?.catch(() => undefined); // surfaced when awaited; avoid an unhandled rejection if we stop first
    const runEncoder = async (e: number) => {
      const { rows, pixels } = batch.misses[e];
      if (!rows.length) return;
      const enc = encoders[e];
      const size = pixels.length / rows.length;
      const puts: Promise<void>[] = [];
      // onnxruntime-node runs an inference on the JS thread; in chunks, the next batch's reading
      // and decoding get the thread between them instead of waiting for the whole batch
      for (let c = 0; c < rows.length; c += INFERENCE_CHUNK) {
        throwIfAborted(opts.signal);
        const n = Math.min(INFERENCE_CHUNK, rows.length - c);
        const out = await enc.run(pixels.subarray(c * size, (c + n) * size), n);
        for (let r = 0; r < n; r++) {
          const i = rows[c + r];
          const vec = out.slice(r * enc.dim, (r + 1) * enc.dim);
          outputs[e].set(vec, (batch.start + i) * enc.dim);
          puts.push(opts.cache.put(namespaces[e], batch.keys[i]!, vec));
        }
      }
      await Promise.all(puts);
    };
    if (sideBySide) await Promise.all(encoders.map((_, e) => runEncoder(e)));
    else for (let e = 0; e < encoders.length; e++) await runEncoder(e);
    for (const [i, reason] of batch.failed) unreadableRows.set(batch.start + i, reason);
    cached += batch.cached;
    encoded += batch.keys.length - batch.cached - batch.failed.size;
    opts.onProgress?.(Math.min(after, total), total);
  }

  const unreadable = [...unreadableRows.keys()].sort((a, b) => a - b).map((i) => ({ path: paths[i], reason: unreadableRows.get(i)! }));
  if (unreadable.length && (!opts.skipUnreadable || unreadable.length === total))
    throw unreadableImagesError(opts.source ?? 'images', unreadable, total);
  const kept = paths.map((_, i) => i).filter((i) => !unreadableRows.has(i));
  if (kept.length === total) return { outputs, kept, unreadable, encoded, cached };
  const compact = encoders.map((enc, e) => {
    const m = new Float32Array(kept.length * enc.dim);
    kept.forEach((i, r) => m.set(outputs[e].subarray(i * enc.dim, (i + 1) * enc.dim), r * enc.dim));
    return m;
  });
  return { outputs: compact, kept, unreadable, encoded, cached };
}
