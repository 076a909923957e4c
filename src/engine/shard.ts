// `encode --shard I/N`: encode one part of an experiment's images into the shared,
// content-addressed cache, so that N processes (a Slurm array, Kubernetes Jobs, Ray tasks)
// split the encoding and a later `run` reads every vector from the cache.
//
// The assignment is a pure function of the experiment: every image path the run would encode
// (train, val, test and caption images, each once) sorted by its path relative to the
// experiment folder, cut into N contiguous slices of equal size (+-1). Shards are therefore
// disjoint and together cover every image, on any machine that sees the same files, even
// where the folder is mounted under another absolute path. Writers never clash: each cache
// entry is its own file, written to a unique temp file and renamed into place.
import * as os from 'node:os';
import * as path from 'node:path';
import { loadExperiment, type LoadedExperiment } from '../experiment';
import { InputError } from '../shared/errors';
import { readCaptions, readImageSource } from './data/readSource';
import { encodeImages, skippedImagesMessage, type ImageEncoder } from './images/encodeImages';
import type { EngineOptions } from './options';
import { createStepContext } from './steps/context';
import { loadClassifier, loadClipModels } from './steps/models';
import { sha256 } from './cache';
import { writeShardRecord, type ShardRecord } from './runs/store';

export interface ShardSpec {
  /** 0-based */
  index: number;
  count: number;
}

/** "I/N" with 0 <= I < N. */
export function parseShard(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new InputError(`--shard "${text}": expected I/N, e.g. 0/4 for the first of four shards (I counts from 0), or "slurm".`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new InputError(`--shard "${text}": N must be at least 1.`);
  if (index >= count) throw new InputError(`--shard "${text}": shards are numbered 0 to ${count - 1} (I counts from 0).`);
  return { index, count };
}

/** The shard of this Slurm array task, from SLURM_ARRAY_TASK_ID, _COUNT and _MIN. */
export function slurmShard(env: NodeJS.ProcessEnv): ShardSpec {
  const id = env.SLURM_ARRAY_TASK_ID;
  const count = env.SLURM_ARRAY_TASK_COUNT;
  if (id === undefined || count === undefined)
    throw new InputError(
      `--shard slurm: ${id === undefined ? 'SLURM_ARRAY_TASK_ID' : 'SLURM_ARRAY_TASK_COUNT'} is not set, so this is not a Slurm array task. ` +
        'Submit it with sbatch --array=0-<N-1> (or use `tldr-debias slurm`), or give the shard as --shard I/N.',
    );
  const min = Number(env.SLURM_ARRAY_TASK_MIN ?? '0');
  const index = Number(id) - min;
  const n = Number(count);
  if (!Number.isInteger(index) || !Number.isInteger(n) || n < 1 || index < 0 || index >= n)
    throw new InputError(
      `--shard slurm: SLURM_ARRAY_TASK_ID=${id}, SLURM_ARRAY_TASK_MIN=${env.SLURM_ARRAY_TASK_MIN ?? '(unset)'}, SLURM_ARRAY_TASK_COUNT=${count} do not give a shard in 0..N-1. ` +
        'Use a contiguous array without a step (e.g. --array=0-3).',
    );
  return { index, count: n };
}

/** The slice [start, end) of `total` items that shard `index` of `count` takes. */
export function shardRange(total: number, { index, count }: ShardSpec): [number, number] {
  return [Math.floor((index * total) / count), Math.floor(((index + 1) * total) / count)];
}

export interface ShardImage {
  path: string;
  /** which encoders this image needs: split images both, caption-only images CLIP only */
  classifier: boolean;
}

/** Every image the experiment's run encodes, once each, in shard order (by relative path). */
export function shardPlan(loaded: LoadedExperiment): { root: string; images: ShardImage[]; planHash: string } {
  const exp = loaded.experiment;
  const byPath = new Map<string, ShardImage>();
  for (const source of [exp.data.train, exp.data.val, exp.data.test]) {
    if (!source) continue;
    for (const r of readImageSource(source, exp.task, loaded.resolve) ?? []) byPath.set(r.path, { path: r.path, classifier: true });
  }
  if (exp.data.captions)
    for (const p of readCaptions(exp.data.captions, loaded.resolve, exp.settings.seed))
      if (!byPath.has(p.path)) byPath.set(p.path, { path: p.path, classifier: false });
  const root = path.dirname(loaded.file);
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');
  const images = [...byPath.values()]
    .map((im) => ({ im, key: rel(im.path) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((x) => x.im);
  return { root, images, planHash: sha256(images.map((im) => `${rel(im.path)}\t${im.classifier ? 2 : 1}`).join('\n')).slice(0, 16) };
}

export interface ShardResult extends ShardRecord {
  recordPath: string;
}

/** Encode shard `spec` of the experiment's images into the cache; writes and returns the shard's record. */
export async function encodeShardImages(file: string, spec: ShardSpec, opts: EngineOptions = {}): Promise<ShardResult> {
  const loaded = loadExperiment(file);
  const exp = loaded.experiment;
  const startedAt = new Date().toISOString();
  const plan = shardPlan(loaded);
  const [start, end] = shardRange(plan.images.length, spec);
  const mine = plan.images.slice(start, end);
  const ctx = createStepContext(loaded, opts);
  ctx.log('info', `shard ${spec.index}/${spec.count}: images ${start} to ${end - 1} of ${plan.images.length}`, 'encode-images');
  const [classifier, clip] = await Promise.all([loadClassifier(ctx), loadClipModels(ctx)]);
  const counts = { encoded: 0, cached: 0, unreadable: 0 };
  try {
    await ctx.step(
      'encode-images',
      async () => {
        let before = 0;
        const groups: { images: ShardImage[]; encoders: ImageEncoder[] }[] = [
          { images: mine.filter((m) => m.classifier), encoders: [classifier.encoder, clip.imageEncoder] },
          { images: mine.filter((m) => !m.classifier), encoders: [clip.imageEncoder] },
        ];
        for (const g of groups) {
          if (!g.images.length) continue;
          const base = before;
          const r = await encodeImages(
            g.images.map((m) => m.path),
            g.encoders,
            {
              cache: ctx.cache,
              batchSize: exp.settings.batchSize,
              decode: { exifOrientation: exp.settings.exifOrientation },
              skipUnreadable: exp.settings.skipUnreadable,
              source: `shard ${spec.index}/${spec.count}`,
              signal: ctx.signal,
              onProgress: (done) => ctx.progress('encode-images', base + done, mine.length),
            },
          );
          before += g.images.length;
          counts.encoded += r.encoded;
          counts.cached += r.cached;
          counts.unreadable += r.unreadable.length;
          if (r.unreadable.length)
            ctx.log('warn', skippedImagesMessage(`shard ${spec.index}/${spec.count}`, r.unreadable), 'encode-images');
        }
      },
      () => `${mine.length} images: ${counts.encoded} encoded, ${counts.cached} from cache`,
    );
  } finally {
    await classifier.release();
    await clip.model.release();
  }
  const record: ShardRecord = {
    experiment: loaded.file,
    planHash: plan.planHash,
    index: spec.index,
    count: spec.count,
    total: plan.images.length,
    start,
    end,
    images: mine.length,
    ...counts,
    host: os.hostname(),
    pid: process.pid,
    startedAt,
    finishedAt: new Date().toISOString(),
    paths: mine.map((m) => path.relative(plan.root, m.path).split(path.sep).join('/')),
  };
  const recordPath = await writeShardRecord(loaded.file, record);
  return { ...record, recordPath };
}
