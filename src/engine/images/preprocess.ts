// Image preprocessing with sharp: shortest edge to `resize` (bicubic), centre crop, then
// (x * rescale - mean) / std into a CHW Float32Array, as CLIPImageProcessor and torchvision do.
import * as fs from 'node:fs';
import sharp from 'sharp';
import { InputError } from '../../shared/errors';

export interface ImagePreprocessing {
  resize: number;
  crop: number;
  mean: [number, number, number];
  std: [number, number, number];
  rescale: number;
}

export interface DecodedImage {
  data: Buffer;
  width: number;
  height: number;
}

export function readClipPreprocessing(file: string): ImagePreprocessing {
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(
      `${file}: cannot read the CLIP preprocessor config (${(err as Error).message}). Use the export's preprocessor_config.json.`,
    );
  }
  const size = cfg.size as number | { shortest_edge?: number; height?: number } | undefined;
  const cropSize = cfg.crop_size as number | { height?: number } | undefined;
  const resize = typeof size === 'number' ? size : (size?.shortest_edge ?? size?.height);
  const crop = typeof cropSize === 'number' ? cropSize : (cropSize?.height ?? resize);
  const mean = cfg.image_mean as number[] | undefined;
  const std = cfg.image_std as number[] | undefined;
  if (!resize || !crop || mean?.length !== 3 || std?.length !== 3) {
    throw new InputError(`${file}: needs size.shortest_edge, crop_size, image_mean[3] and image_std[3] (the CLIPImageProcessor fields).`);
  }
  return {
    resize,
    crop,
    mean: mean as ImagePreprocessing['mean'],
    std: std as ImagePreprocessing['std'],
    rescale: typeof cfg.rescale_factor === 'number' ? cfg.rescale_factor : 1 / 255,
  };
}

/** Decode once to RGB so each model's preprocessing starts from the same pixels. */
export async function decodeImage(bytes: Uint8Array, file: string): Promise<DecodedImage> {
  try {
    const { data, info } = await sharp(bytes, { failOn: 'error' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw new InputError(`${file}: cannot decode this image (${(err as Error).message}). Replace the file or remove it from the manifest.`);
  }
}

/** [3, crop, crop] normalised pixels, written into `out` at `offset`. */
export async function preprocessInto(img: DecodedImage, p: ImagePreprocessing, out: Float32Array, offset: number): Promise<void> {
  const scale = p.resize / Math.min(img.width, img.height);
  const w = Math.max(p.crop, Math.round(img.width * scale));
  const h = Math.max(p.crop, Math.round(img.height * scale));
  const rgb = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(w, h, { kernel: 'cubic', fit: 'fill' })
    .extract({ left: Math.floor((w - p.crop) / 2), top: Math.floor((h - p.crop) / 2), width: p.crop, height: p.crop })
    .raw()
    .toBuffer();
  const plane = p.crop * p.crop;
  for (let c = 0; c < 3; c++) {
    const m = p.mean[c];
    const s = p.std[c];
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = (rgb[i * 3 + c] * p.rescale - m) / s;
  }
}

export function preprocessingKey(p: ImagePreprocessing): string {
  return JSON.stringify([p.resize, p.crop, p.mean, p.std, p.rescale, 'cubic']);
}
