// CLIP text embeddings of words under a set of templates, through the cache: one entry per
// (text model, template set, word), so adding a word encodes only that word's prompts.
import { sha256, type EmbeddingCache } from '../cache';
import type { ClipModel } from '../clip/clipModel';
import { fillTemplate } from './templates';

export interface PromptEmbeddings {
  /** [words.length, templates.length, dim] */
  data: Float32Array;
  templates: number;
  dim: number;
  encoded: number;
}

export async function embedPrompts(
  clip: ClipModel,
  cache: EmbeddingCache,
  namespace: string,
  words: string[],
  templates: readonly string[],
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<PromptEmbeddings> {
  const T = templates.length;
  const dim = clip.dim;
  const data = new Float32Array(words.length * T * dim);
  const setKey = sha256(templates.join('\n'));
  const keys = words.map((w) => sha256(`${setKey}\u0000${w}`));
  const missing: number[] = [];
  await Promise.all(
    keys.map(async (key, i) => {
      const hit = await cache.get(namespace, key);
      if (hit && hit.length === T * dim) data.set(hit, i * T * dim);
      else missing.push(i);
    }),
  );
  missing.sort((a, b) => a - b);
  if (missing.length) {
    const prompts = missing.flatMap((i) => templates.map((t) => fillTemplate(t, words[i])));
    const out = await clip.encodeTexts(prompts, { signal: opts.signal, onBatch: (done) => opts.onProgress?.(done, prompts.length) });
    await Promise.all(
      missing.map((i, r) => {
        const vec = out.slice(r * T * dim, (r + 1) * T * dim);
        data.set(vec, i * T * dim);
        return cache.put(namespace, keys[i], vec);
      }),
    );
  }
  return { data, templates: T, dim, encoded: missing.length * T };
}
