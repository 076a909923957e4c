// Running the prepared classifier on preprocessed images, whatever its input looks like: NHWC
// inputs get the NCHW pixels transposed, float16 inputs converted, a fixed batch size (exports
// without dynamic axes, usually 1) is run in batches of exactly that size.
import type * as ort from 'onnxruntime-node';
import { InputError } from '../../shared/errors';
import type { PreparedClassifier } from './classifier';
import { inputSizeProblem } from './classifierInput';
import { floatTensor, floatValues } from './feeds';

export interface ClassifierRunner {
  /** NCHW pixels [n, 3, crop, crop] -> each requested tensor as float32, n rows (default: the features) */
  run(pixels: Float32Array, n: number, outputs?: string[]): Promise<Record<string, Float32Array>>;
  /** how the input is fed when not as given (layout, fixed batch), for the run log */
  notes: string[];
}

/** [n, 3, s, s] -> [n, s, s, 3] */
function toNhwc(pixels: Float32Array, n: number, s: number): Float32Array {
  const out = new Float32Array(pixels.length);
  const plane = s * s;
  for (let i = 0; i < n; i++) {
    const base = i * 3 * plane;
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[base + p * 3 + c] = pixels[base + c * plane + p];
  }
  return out;
}

export function classifierRunner(session: ort.InferenceSession, info: PreparedClassifier, crop: number): ClassifierRunner {
  const input = info.imageInput;
  const file = info.modelPath;
  const sizeProblem = inputSizeProblem(input, crop);
  if (sizeProblem) throw new InputError(`${file}: ${sizeProblem}`);
  const notes: string[] = [];
  if (input.layout === 'NHWC')
    notes.push(
      `${file}: the classifier takes channels-last images (${input.name} [batch, height, width, 3]); pixels are transposed for it`,
    );
  const fixedBatch = input.fixedBatch;
  if (fixedBatch)
    notes.push(
      `${file}: the classifier's input has a fixed batch of ${fixedBatch}, so images run ${fixedBatch === 1 ? 'one at a time' : `${fixedBatch} at a time`}, which is slower than larger batches; export it with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={'${input.name}': {0: 'batch'}})) to batch more`,
    );
  const size = 3 * crop * crop;
  const dims = (n: number) => (input.layout === 'NHWC' ? [n, crop, crop, 3] : [n, 3, crop, crop]);

  const once = async (pixels: Float32Array, n: number, outputs: string[]): Promise<Record<string, Float32Array>> => {
    const data = input.layout === 'NHWC' ? toNhwc(pixels, n, crop) : pixels;
    const out = await session.run({ [input.name]: floatTensor(input.elemType, data, dims(n)) }, outputs);
    return Object.fromEntries(outputs.map((name) => [name, floatValues(out[name], `${file}: ${name}`)]));
  };

  return {
    notes,
    async run(pixels, n, outputs = [info.featuresName]) {
      let result: Record<string, Float32Array>;
      if (!fixedBatch || fixedBatch === n) result = await once(pixels.subarray(0, n * size), n, outputs);
      else {
        const parts: Record<string, Float32Array>[] = [];
        for (let start = 0; start < n; start += fixedBatch) {
          // the last batch is filled up with copies of its first image
          const count = Math.min(fixedBatch, n - start);
          const chunk = new Float32Array(fixedBatch * size);
          chunk.set(pixels.subarray(start * size, (start + count) * size));
          for (let i = count; i < fixedBatch; i++) chunk.copyWithin(i * size, 0, size);
          const part = await once(chunk, fixedBatch, outputs);
          parts.push(Object.fromEntries(outputs.map((name) => [name, part[name].subarray(0, (part[name].length / fixedBatch) * count)])));
        }
        result = Object.fromEntries(
          outputs.map((name) => {
            const all = new Float32Array(parts.reduce((a, p) => a + p[name].length, 0));
            let at = 0;
            for (const p of parts) {
              all.set(p[name], at);
              at += p[name].length;
            }
            return [name, all];
          }),
        );
      }
      const features = result[info.featuresName];
      if (features && features.length !== n * info.featureDim)
        throw new InputError(
          `${file}: the final layer's input "${info.featuresName}" has ${features.length / n} values per image, expected ${info.featureDim}.`,
        );
      return result;
    },
  };
}
