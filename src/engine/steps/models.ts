// Load the two models of an experiment and wrap them as image encoders for the cache:
// the classifier (one pass gives its features; the final layer's W and b are read from the
// graph) and CLIP's vision tower.
import { hashFile } from '../cache';
import { loadClip, type ClipModel } from '../clip/clipModel';
import { classifierRunner, prepareClassifier, type PreparedClassifier } from '../onnx';
import { createSession } from '../onnxSession';
import { preprocessingKey, type ImagePreprocessing } from '../images/preprocess';
import type { ImageEncoder } from '../images/encodeImages';
import type { StepContext } from './context';

export interface LoadedClassifier {
  info: PreparedClassifier;
  path: string;
  hash: string;
  preprocessing: ImagePreprocessing;
  encoder: ImageEncoder;
  release(): Promise<void>;
}

export async function loadClassifier(ctx: StepContext): Promise<LoadedClassifier> {
  const cfg = ctx.loaded.experiment.models.classifier;
  const file = ctx.loaded.resolve(cfg.path);
  const info = await prepareClassifier(file, { logits: cfg.logits, input: cfg.input });
  const p = cfg.preprocessing;
  const preprocessing: ImagePreprocessing = { ...p, rescale: 1 / 255 };
  const session = await createSession(info.modelBytes, file, {
    executionProvider: ctx.executionProvider,
    threads: ctx.threads,
  });
  const runner = classifierRunner(session, info, p.crop);
  for (const note of [...info.notes, ...runner.notes]) ctx.log('info', note, 'encode-images');
  const hash = await hashFile(file);
  const encoder: ImageEncoder = {
    name: 'classifier',
    namespace: ctx.cache.namespace('classifier-features', hash, info.featuresName, preprocessingKey(preprocessing)),
    preprocessing,
    dim: info.featureDim,
    run: async (pixels, n) => (await runner.run(pixels, n))[info.featuresName],
  };
  return { info, path: file, hash, preprocessing, encoder, release: () => session.release() };
}

export interface LoadedClip {
  model: ClipModel;
  textNamespace: string;
  imageEncoder: ImageEncoder;
}

export async function loadClipModels(ctx: StepContext): Promise<LoadedClip> {
  const model = await loadClip(ctx.loaded.experiment.models.clip, ctx.loaded.resolve, {
    executionProvider: ctx.executionProvider,
    threads: ctx.threads,
  });
  for (const note of model.notes) ctx.log('info', note, 'encode-images');
  const { textModel, visionModel, tokenizer, merges } = model.files;
  // One file may hold both towers: hash it once.
  const files = [...new Set([textModel, visionModel, tokenizer, ...(merges ? [merges] : [])])];
  const hashes = new Map(await Promise.all(files.map(async (f) => [f, await hashFile(f)] as const)));
  const [textHash, visionHash] = [hashes.get(textModel)!, hashes.get(visionModel)!];
  const tokHashes = [tokenizer, ...(merges ? [merges] : [])].map((f) => hashes.get(f)!);
  const imageEncoder: ImageEncoder = {
    name: 'clip',
    namespace: ctx.cache.namespace('clip-image', visionHash, preprocessingKey(model.preprocessing)),
    preprocessing: model.preprocessing,
    dim: model.dim,
    run: (pixels, n) => model.encodePixels(pixels, n),
  };
  return { model, textNamespace: ctx.cache.namespace('clip-text', textHash, ...tokHashes), imageEncoder };
}
