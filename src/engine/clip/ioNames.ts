// Which inputs and outputs of a CLIP export to use: the names the Hugging Face exports use,
// or the experiment's overrides, checked against what the role needs (token ids are integers
// [batch, sequence], pixels float [batch, 3, H, W], embeddings float [batch, dim]). One rule
// for loading the models and for the Setup checks.
import { InputError } from '../../shared/errors';
import { isFloatType, isIntegerIdType } from '../onnx/feeds';
import { describeTensor, describeTensors, type TensorSignature } from '../onnx/signature';

export const CLIP_NAME_CANDIDATES = {
  inputIds: ['input_ids'],
  attentionMask: ['attention_mask'],
  textEmbeds: ['text_embeds', 'text_features', 'pooler_output'],
  pixelValues: ['pixel_values'],
  imageEmbeds: ['image_embeds', 'image_features', 'pooler_output'],
} as const;

export interface ClipNames {
  inputIds?: string;
  attentionMask?: string;
  textEmbeds?: string;
  pixelValues?: string;
  imageEmbeds?: string;
}

export interface Slot {
  /** "token id input" */
  what: string;
  /** the models.clip.names key that overrides it */
  setting: keyof ClipNames;
  /** what a fitting tensor looks like, for messages */
  expected: string;
  fits(t: TensorSignature): boolean;
}

/** rank `n`, or unknown rank (an export without shapes) */
const rank = (t: TensorSignature, n: number) => t.shape.length === n || t.shape.length === 0;

export const SLOTS = {
  inputIds: {
    what: 'token id input',
    setting: 'inputIds',
    expected: 'int64 or int32 [batch, sequence] (input_ids)',
    fits: (t) => isIntegerIdType(t.elemType) && rank(t, 2),
  },
  attentionMask: {
    what: 'attention mask input',
    setting: 'attentionMask',
    expected: 'int64 or int32 [batch, sequence] (attention_mask)',
    fits: (t) => isIntegerIdType(t.elemType) && rank(t, 2),
  },
  pixelValues: {
    what: 'pixel input',
    setting: 'pixelValues',
    expected: 'float32 or float16 [batch, 3, height, width] (pixel_values)',
    fits: (t) => isFloatType(t.elemType) && rank(t, 4),
  },
  textEmbeds: {
    what: 'text embedding output',
    setting: 'textEmbeds',
    expected: 'float [batch, dim] (text_embeds)',
    fits: (t) => isFloatType(t.elemType) && rank(t, 2),
  },
  imageEmbeds: {
    what: 'image embedding output',
    setting: 'imageEmbeds',
    expected: 'float [batch, dim] (image_embeds)',
    fits: (t) => isFloatType(t.elemType) && rank(t, 2),
  },
} satisfies Record<keyof ClipNames, Slot>;

/**
 * The override when given (it must exist and fit), else the first known name that fits, else
 * the only tensor that fits; undefined when none fits (the caller says what the file is instead).
 */
export function pickTensor(
  tensors: TensorSignature[],
  slot: Slot,
  wanted: string | undefined,
  candidates: readonly string[],
  file: string,
): TensorSignature | undefined {
  if (wanted) {
    const t = tensors.find((x) => x.name === wanted);
    if (!t)
      throw new InputError(
        `${file}: has no ${slot.what} named "${wanted}" (it has ${describeTensors(tensors)}). Fix models.clip.names.${slot.setting} in the experiment.`,
      );
    if (!slot.fits(t))
      throw new InputError(
        `${file}: "${wanted}" is ${describeTensor(t)}, but the ${slot.what} must be ${slot.expected}. Fix models.clip.names.${slot.setting} in the experiment.`,
      );
    return t;
  }
  for (const c of candidates) {
    const t = tensors.find((x) => x.name === c && slot.fits(x));
    if (t) return t;
  }
  const fitting = tensors.filter((t) => slot.fits(t));
  if (fitting.length === 1) return fitting[0];
  if (fitting.length > 1)
    throw new InputError(
      `${file}: cannot tell which ${slot.what} to use among ${describeTensors(fitting)}. Name it in models.clip.names.${slot.setting}.`,
    );
  return undefined;
}
