// Load the two models of an experiment and wrap them as image encoders for the cache:
// the classifier (one pass gives its features; the final layer's W and b are read from the
// graph) and CLIP's vision tower.
import * as ort from 'onnxruntime-node';
import { InputError } from '../../shared/errors';
import { hashFile } from '../cache';
import { loadClip, type ClipModel } from '../clip/clipModel';
import { prepareClassifier, type PreparedClassifier } from '../onnx';
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
  const info = await prepareClassifier(file, { logits: cfg.logits });
  const p = cfg.preprocessing;
  const preprocessing: ImagePreprocessing = { resize: p.resize, crop: p.crop, mean: p.mean, std: p.std, rescale: 1 / 255 };
  const inputName = cfg.input ?? info.imageInput.name;
  const shape = info.imageInput.shape;
  if (shape.length === 4 && typeof shape[2] === 'number' && typeof shape[3] === 'number' && (shape[2] !== p.crop || shape[3] !== p.crop)) {
    throw new InputError(
      `${file}: the classifier takes ${shape[2]}x${shape[3]} images but models.classifier.preprocessing.crop is ${p.crop}. Set crop (and resize) to match the model.`,
    );
  }
  const session = await createSession(info.modelBytes, file, { executionProvider: ctx.executionProvider });
  const hash = await hashFile(file);
  const encoder: ImageEncoder = {
    name: 'classifier',
    namespace: ctx.cache.namespace('classifier-features', hash, info.featuresName, preprocessingKey(preprocessing)),
    preprocessing,
    dim: info.featureDim,
    async run(pixels, n) {
      const out = await session.run({ [inputName]: new ort.Tensor('float32', pixels, [n, 3, p.crop, p.crop]) }, [info.featuresName]);
      const t = out[info.featuresName];
      if (t.data.length !== n * info.featureDim) {
        throw new InputError(
          `${file}: the final layer's input "${info.featuresName}" has ${t.data.length / n} values per image, expected ${info.featureDim}.`,
        );
      }
      return t.data as Float32Array;
    },
  };
  return { info, path: file, hash, preprocessing, encoder, release: () => session.release() };
}

export interface LoadedClip {
  model: ClipModel;
  textNamespace: string;
  imageEncoder: ImageEncoder;
}

export async function loadClipModels(ctx: StepContext): Promise<LoadedClip> {
  const model = await loadClip(ctx.loaded.experiment.models.clip, ctx.loaded.resolve, { executionProvider: ctx.executionProvider });
  const [textHash, visionHash, tokHash] = await Promise.all([
    hashFile(model.files.textModel),
    hashFile(model.files.visionModel),
    hashFile(model.files.tokenizer),
  ]);
  const imageEncoder: ImageEncoder = {
    name: 'clip',
    namespace: ctx.cache.namespace('clip-image', visionHash, preprocessingKey(model.preprocessing)),
    preprocessing: model.preprocessing,
    dim: model.dim,
    run: (pixels, n) => model.encodePixels(pixels, n),
  };
  return { model, textNamespace: ctx.cache.namespace('clip-text', textHash, tokHash), imageEncoder };
}
