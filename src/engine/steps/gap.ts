// Step "gap": the mean modality gap g = mean(image - text) of paired CLIP embeddings. With
// caption pairs it is the reference's COCO estimate; without, the user's own training images
// are paired with their class anchor prompts (the predicted class when a row has no label).
import type { EncodedData } from './encodeData';
import type { LoadedClip } from './models';
import type { StepContext } from './context';
import { embedPrompts } from '../text/embedPrompts';
import { l2normalizeRows } from '../math/vectors';

export interface Gap {
  /** 1 x d */
  g: Float64Array;
  source: 'captions' | 'train-class-prompts';
  pairs: number;
  norm: number;
}

export async function computeGap(
  ctx: StepContext,
  data: EncodedData,
  clip: LoadedClip,
  trainClasses: Int32Array,
  normalize: boolean,
): Promise<Gap> {
  const d = clip.model.dim;
  let images: Float32Array;
  let texts: Float32Array;
  let source: Gap['source'];
  if (data.captions) {
    source = 'captions';
    images = data.captions.clip;
    const emb = await embedPrompts(
      clip.model,
      ctx.cache,
      clip.textNamespace,
      data.captions.pairs.map((p) => p.caption),
      ['{}'],
      { signal: ctx.signal },
    );
    texts = emb.data;
  } else {
    source = 'train-class-prompts';
    ctx.log(
      'warn',
      'No caption pairs in data.captions: estimating the modality gap from the training images paired with their class anchor prompts (an approximation of the reference, which uses 1000 COCO caption pairs).',
      'gap',
    );
    const anchors = ctx.loaded.experiment.task.targetAnchors;
    const emb = await embedPrompts(clip.model, ctx.cache, clip.textNamespace, anchors, ['{}'], { signal: ctx.signal });
    images = data.train.clip!;
    texts = new Float32Array(images.length);
    trainClasses.forEach((c, i) => texts.set(emb.data.subarray(c * d, (c + 1) * d), i * d));
  }
  if (normalize) {
    images = l2normalizeRows(images, d);
    texts = l2normalizeRows(texts, d);
  }
  const n = images.length / d;
  const g = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) g[j] += images[i * d + j] - texts[i * d + j];
  for (let j = 0; j < d; j++) g[j] /= n;
  const norm = Math.hypot(...g);
  ctx.log('info', `modality gap from ${n} ${source === 'captions' ? 'caption pairs' : 'training images'}: |g| = ${norm.toFixed(4)}`, 'gap');
  return { g, source, pairs: n, norm };
}
