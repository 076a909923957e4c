// Which inputs and outputs of a CLIP export to use: the names the Hugging Face exports use,
// or the experiment's overrides. One rule for loading the models and for the Setup checks.
import { InputError } from '../../shared/errors';

export const CLIP_NAME_CANDIDATES = {
  inputIds: ['input_ids'],
  attentionMask: ['attention_mask'],
  textEmbeds: ['text_embeds', 'text_features', 'pooler_output'],
  pixelValues: ['pixel_values'],
  imageEmbeds: ['image_embeds', 'image_features', 'pooler_output'],
} as const;

/** The override when given (it must exist), else the first known name, else the only one. */
export function pickName(
  names: readonly string[],
  wanted: string | undefined,
  candidates: readonly string[],
  what: string,
  file: string,
): string {
  if (wanted) {
    if (!names.includes(wanted))
      throw new InputError(
        `${file}: has no ${what} named "${wanted}" (it has ${names.join(', ')}). Fix models.clip.names in the experiment.`,
      );
    return wanted;
  }
  for (const c of candidates) if (names.includes(c)) return c;
  if (names.length === 1) return names[0];
  throw new InputError(`${file}: cannot tell which ${what} to use among ${names.join(', ')}. Set it in models.clip.names.`);
}

/** The attention mask input, when the model has one (CLIP exports without it pool by position). */
export function maskName(names: readonly string[], wanted: string | undefined): string | undefined {
  const name = wanted ?? CLIP_NAME_CANDIDATES.attentionMask[0];
  return names.includes(name) ? name : undefined;
}
