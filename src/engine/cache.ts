// Content-addressed embedding cache under .tldr/cache/: one safetensors file per
// (encoder namespace, input hash). The namespace hashes the model bytes and the
// preprocessing, so changing either never serves stale vectors. Entries are written
// atomically, so a cancelled run leaves only complete entries; temp files a killed process
// left behind (SIGKILL gives it no chance to clean up) are removed when the cache opens.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { decodeSafetensors, encodeSafetensors } from './io/safetensors';
import { TEMP_SUFFIX, writeFileAtomic } from '../shared/atomicWrite';

export const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

const fileHashes = new Map<string, { stamp: string; hash: string }>();

/** Hash of a file's bytes, remembered per (path, size, mtime) for the life of the process. */
export async function hashFile(file: string): Promise<string> {
  const st = await fs.promises.stat(file);
  const stamp = `${st.size}:${st.mtimeMs}`;
  const known = fileHashes.get(file);
  if (known?.stamp === stamp) return known.hash;
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  const hex = hash.digest('hex');
  fileHashes.set(file, { stamp, hash: hex });
  return hex;
}

/** A temp file older than this belongs to no live writer: one entry is written in milliseconds. */
export const STALE_TEMP_MS = 5 * 60_000;

export class EmbeddingCache {
  /** settles when the stale temp files found at opening are removed (never rejects) */
  readonly swept: Promise<number>;

  constructor(readonly dir: string) {
    this.swept = EmbeddingCache.sweepStaleTemp(dir);
  }

  /** Removes `*.tmp` files older than STALE_TEMP_MS under `dir`; returns how many. */
  static async sweepStaleTemp(dir: string, maxAgeMs = STALE_TEMP_MS, now = Date.now()): Promise<number> {
    let names: string[];
    try {
      names = (await fs.promises.readdir(dir, { recursive: true })) as string[];
    } catch {
      return 0; // no cache yet
    }
    let removed = 0;
    for (const name of names) {
      if (!name.endsWith(TEMP_SUFFIX)) continue;
      const file = path.join(dir, name);
      try {
        const st = await fs.promises.stat(file);
        if (!st.isFile() || now - st.mtimeMs < maxAgeMs) continue;
        await fs.promises.rm(file, { force: true });
        removed++;
      } catch {
        // gone meanwhile, or not ours to remove: leave it
      }
    }
    return removed;
  }

  namespace(...parts: string[]): string {
    return sha256(parts.join('\n')).slice(0, 24);
  }

  private file(ns: string, key: string): string {
    return path.join(this.dir, ns, key.slice(0, 2), `${key}.safetensors`);
  }

  async get(ns: string, key: string): Promise<Float32Array | undefined> {
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(this.file(ns, key));
    } catch {
      return undefined;
    }
    try {
      const t = decodeSafetensors(bytes).tensors.embedding;
      return t?.data instanceof Float32Array ? t.data : undefined;
    } catch {
      return undefined; // a damaged entry is recomputed and overwritten
    }
  }

  async put(ns: string, key: string, values: Float32Array): Promise<void> {
    await writeFileAtomic(this.file(ns, key), encodeSafetensors({ embedding: { dtype: 'F32', shape: [values.length], data: values } }));
  }
}
