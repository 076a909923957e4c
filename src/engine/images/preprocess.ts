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

export interface DecodeOptions {
  /** 'ignore': pixels as stored, as PIL's Image.open gives them; 'apply': as PIL's ImageOps.exif_transpose */
  exifOrientation: 'ignore' | 'apply';
}

export const DEFAULT_DECODING: DecodeOptions = { exifOrientation: 'ignore' };

/** Part of every image cache namespace, so other decoding never serves stale vectors. */
export function decodingKey(o: DecodeOptions): string {
  return JSON.stringify(['pil-rgb-1', o.exifOrientation]);
}

export class UnreadableImageError extends InputError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: cannot read this image (${reason}). Replace the file or remove it from the data.`);
  }
}

/**
 * Decode once to 8-bit RGB so each model's preprocessing starts from the same pixels: the pixels
 * of PIL's Image.open(f).convert('RGB'), torchvision's default loader and the reference code's, so
 * the features match what the user's own pipeline computes. Like PIL: alpha is dropped (not
 * composited), grey is copied to three channels, embedded ICC profiles are ignored, CMYK uses PIL's
 * formula, multi-frame files give their first frame, EXIF orientation is not applied unless asked.
 * Unlike PIL, 16-bit grey keeps its top 8 bits (PIL clips it to 255, as it does not for 16-bit
 * colour), and transparent GIF pixels are black (PIL gives the palette colour of the transparent index).
 */
export async function decodeImage(bytes: Uint8Array, file: string, opts: DecodeOptions = DEFAULT_DECODING): Promise<DecodedImage> {
  try {
    const img = sharp(bytes, { failOn: 'error', ignoreIcc: true, autoOrient: opts.exifOrientation === 'apply' });
    if (await isCmyk(bytes, img)) {
      const { data, info } = await img.pipelineColourspace('cmyk').toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true });
      return { data: cmykToRgb(data), width: info.width, height: info.height };
    }
    const { data, info } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw new UnreadableImageError(file, (err as Error).message);
  }
}

/** Only JPEG and TIFF carry CMYK. A JPEG's frame header says so, read here without a second decoder call. */
async function isCmyk(bytes: Uint8Array, img: sharp.Sharp): Promise<boolean> {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return jpegComponents(bytes) === 4;
  const tiff = (bytes[0] === 0x49 && bytes[1] === 0x49) || (bytes[0] === 0x4d && bytes[1] === 0x4d);
  return tiff && (await img.metadata()).space === 'cmyk';
}

/** Components in a JPEG's start-of-frame segment (SOF0-SOF15 but DHT, JPG and DAC), or undefined. */
function jpegComponents(b: Uint8Array): number | undefined {
  let i = 2;
  while (i + 9 < b.length && b[i] === 0xff) {
    const m = b[i + 1];
    if (m === 0xff)
      i++; // fill byte
    else if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return b[i + 9];
    else if (m === 0x01 || (m >= 0xd0 && m <= 0xd8))
      i += 2; // markers without a length
    else i += 2 + ((b[i + 2] << 8) | b[i + 3]);
  }
  return undefined;
}

/** PIL's cmyk2rgb (Convert.c), rounding included: R = (255 - K) - C (255 - K) / 255. */
function cmykToRgb(cmyk: Buffer): Buffer {
  const rgb = Buffer.alloc((cmyk.length / 4) * 3);
  for (let i = 0, o = 0; i < cmyk.length; i += 4, o += 3) {
    const nk = 255 - cmyk[i + 3];
    for (let c = 0; c < 3; c++) {
      const t = cmyk[i + c] * nk + 128;
      rgb[o + c] = nk - (((t >> 8) + t) >> 8);
    }
  }
  return rgb;
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
