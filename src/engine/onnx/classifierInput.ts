// The classifier's image input, checked before any work: exactly one input to feed, float32 or
// float16, rank 4 with 3 colour channels first (NCHW, PyTorch) or last (NHWC, Keras/TensorFlow
// exports). A fixed batch axis (an export without dynamic axes) is noted so images run in
// batches of that size.
import { InputError } from '../../shared/errors';
import { isFloatType, isIntegerIdType } from './feeds';
import type { GraphProto } from './proto';
import { describeTensor, describeTensors, graphSignature, type Dim } from './signature';

export interface ImageInput {
  name: string;
  shape: Dim[];
  elemType: number;
  layout: 'NCHW' | 'NHWC';
  /** the batch size the model is fixed to, when it has no dynamic batch axis */
  fixedBatch?: number;
  /** image height and width, when the model fixes them */
  height?: number;
  width?: number;
}

const num = (d: Dim | undefined): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);

export function classifierImageInput(graph: GraphProto, file: string, wanted?: string): ImageInput {
  const { inputs } = graphSignature(graph);
  const expected = 'one float image input [batch, 3, height, width] (NCHW) or [batch, height, width, 3] (NHWC)';
  if (wanted && !inputs.some((t) => t.name === wanted))
    throw new InputError(
      `${file}: has no input named "${wanted}" (it has ${describeTensors(inputs)}). Fix models.classifier.input in the experiment.`,
    );
  // Integer inputs are token ids: a text model (a CLIP text tower?) given as the classifier.
  const text = inputs.some((t) => isIntegerIdType(t.elemType))
    ? ': integer token ids, so this looks like a text model (a CLIP text tower?)'
    : '';
  if (inputs.length !== 1)
    throw new InputError(
      `${file}: the classifier has ${inputs.length} inputs (${describeTensors(inputs)})${text}, but TLDR feeds ${expected}. Point models.classifier.path at the image classifier's .onnx file, exported with the image as its only input.`,
    );
  const t = inputs[0];
  if (!isFloatType(t.elemType) || (t.shape.length !== 4 && t.shape.length !== 0)) {
    throw new InputError(
      `${file}: the classifier's input is ${describeTensor(t)}${text}, but TLDR feeds ${expected}. Point models.classifier.path at the image classifier's .onnx file.`,
    );
  }
  const [b, d1, d2, d3] = t.shape;
  const nhwc = num(d3) === 3 && num(d1) !== 3;
  if (!nhwc && num(d1) !== undefined && num(d1) !== 3)
    throw new InputError(
      `${file}: the classifier's input is ${describeTensor(t)}: ${num(d1)} channels, but TLDR feeds RGB images (3 channels, NCHW or NHWC). Use a classifier that takes colour images.`,
    );
  return {
    name: t.name,
    shape: t.shape,
    elemType: t.elemType,
    layout: nhwc ? 'NHWC' : 'NCHW',
    fixedBatch: num(b),
    height: num(nhwc ? d1 : d2),
    width: num(nhwc ? d2 : d3),
  };
}

/** Undefined when the model takes crop x crop images (or does not fix its size), else what is wrong. */
export function inputSizeProblem(input: ImageInput, crop: number): string | undefined {
  const { height: h, width: w } = input;
  if ((h === undefined || h === crop) && (w === undefined || w === crop)) return undefined;
  return `the classifier takes ${h ?? '?'}x${w ?? '?'} images but models.classifier.preprocessing.crop is ${crop}. Set crop (and resize) to match the model.`;
}
