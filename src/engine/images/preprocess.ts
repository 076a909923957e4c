// Image preprocessing with sharp: resize (shortest edge kept in proportion, or both edges to one
// size), centre crop, then (x * rescale - mean) / std into a CHW Float32Array, as the Hugging Face
// image processors (CLIPImageProcessor, ViTImageProcessor) and torchvision do.
import * as fs from 'node:fs';
import sharp from 'sharp';
import { InputError } from '../../shared/errors';

/** Resizing filters, by their torchvision / PIL names. */
export type Resample = 'bicubic' | 'bilinear';

export interface ImagePreprocessing {
  /** 'shortest-edge' (default): shortest edge to `resize`, aspect kept; 'exact': both edges to `resize`; 'none': no resize */
  resizeMode?: 'shortest-edge' | 'exact' | 'none';
  resize: number;
  /** the output is crop x crop, cut from the centre */
  crop: number;
  /** default 'bicubic' */
  resample?: Resample;
  mean: [number, number, number];
  std: [number, number, number];
  rescale: number;
}

export interface DecodedImage {
  data: Buffer;
  width: number;
  height: number;
}

// PIL's filter codes, as preprocessor_config.json stores `resample`
const PIL_RESAMPLE: Record<number, Resample> = { 2: 'bilinear', 3: 'bicubic' };
const SHARP_KERNEL: Record<Resample, 'cubic' | 'linear'> = { bicubic: 'cubic', bilinear: 'linear' };

type Size = number | { shortest_edge?: number; height?: number; width?: number } | undefined;

/** A square edge from `size` / `crop_size`: a number, {height, width} with both equal, or {shortest_edge}. */
function edge(v: Size, field: string, file: string): { edge: number; shortest: boolean } | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v > 0 ? { edge: v, shortest: field === 'size' } : undefined;
  if (typeof v !== 'object') return undefined;
  if (typeof v.shortest_edge === 'number') return { edge: v.shortest_edge, shortest: true };
  if (typeof v.height === 'number' && typeof v.width === 'number') {
    if (v.height !== v.width)
      throw new InputError(
        `${file}: ${field} is ${v.height}x${v.width} (height x width); only square model inputs are supported. Use a model with square inputs.`,
      );
    return { edge: v.height, shortest: false };
  }
  return undefined;
}

/**
 * The preprocessing a CLIP export's preprocessor_config.json describes: `size` and `crop_size` as
 * numbers or objects ({shortest_edge} or {height, width}), do_resize, do_center_crop, do_rescale,
 * do_normalize and resample (PIL codes 2 bilinear, 3 bicubic).
 */
export function readClipPreprocessing(file: string): ImagePreprocessing {
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(
      `${file}: cannot read the CLIP preprocessor config (${(err as Error).message}). Use the export's preprocessor_config.json.`,
    );
  }
  const fields = 'size (a number, {"shortest_edge": n} or {"height": n, "width": n}), crop_size, image_mean[3] and image_std[3]';
  const doResize = cfg.do_resize !== false;
  const size = edge(cfg.size as Size, 'size', file);
  const crop = edge(cfg.crop_size as Size, 'crop_size', file);
  const doCrop = typeof cfg.do_center_crop === 'boolean' ? cfg.do_center_crop : crop !== undefined;
  if (doResize && !size) throw new InputError(`${file}: needs a size to resize to: ${fields}.`);
  if (doCrop && !crop) throw new InputError(`${file}: do_center_crop is on but there is no crop_size: ${fields}.`);
  if (!doCrop && (!doResize || size!.shortest)) {
    throw new InputError(
      `${file}: without a centre crop (do_center_crop false) images ${doResize ? 'resized by their shortest edge' : 'not resized'} keep their own shapes and cannot be batched. Set "size": {"height": n, "width": n} or turn on do_center_crop in a copy of the file (models.clip.preprocessor).`,
    );
  }
  const code = cfg.resample ?? 3;
  const resample = typeof code === 'number' ? PIL_RESAMPLE[code] : undefined;
  if (!resample)
    throw new InputError(
      `${file}: resample ${JSON.stringify(code)} is not supported; use 2 (bilinear) or 3 (bicubic) in a copy of the file (models.clip.preprocessor).`,
    );
  const doNormalize = cfg.do_normalize !== false;
  const mean = doNormalize ? (cfg.image_mean as number[] | undefined) : [0, 0, 0];
  const std = doNormalize ? (cfg.image_std as number[] | undefined) : [1, 1, 1];
  if (mean?.length !== 3 || std?.length !== 3) throw new InputError(`${file}: needs ${fields}.`);
  const rescale = cfg.do_rescale === false ? 1 : typeof cfg.rescale_factor === 'number' ? cfg.rescale_factor : 1 / 255;
  return {
    resizeMode: !doResize ? 'none' : size!.shortest ? 'shortest-edge' : 'exact',
    resize: doResize ? size!.edge : crop!.edge,
    crop: doCrop ? crop!.edge : size!.edge,
    resample,
    mean: mean as ImagePreprocessing['mean'],
    std: std as ImagePreprocessing['std'],
    rescale,
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

/** libvips threads per image operation (sharp.concurrency, process-wide); undefined = sharp's default (the cores). */
export function setDecodingThreads(n: number | undefined): void {
  sharp.concurrency(n ?? 0);
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

/** The resized size before the crop. */
function resizedSize(img: DecodedImage, p: ImagePreprocessing): { w: number; h: number } {
  const mode = p.resizeMode ?? 'shortest-edge';
  if (mode === 'none') return { w: img.width, h: img.height };
  if (mode === 'exact') return { w: p.resize, h: p.resize };
  const scale = p.resize / Math.min(img.width, img.height);
  return { w: Math.max(p.crop, Math.round(img.width * scale)), h: Math.max(p.crop, Math.round(img.height * scale)) };
}

/** [3, crop, crop] normalised pixels, written into `out` at `offset`. */
export async function preprocessInto(img: DecodedImage, p: ImagePreprocessing, out: Float32Array, offset: number): Promise<void> {
  const { w, h } = resizedSize(img, p);
  // Centre crop; outside an image smaller than the crop the pixels are black (0 before
  // normalisation), as Hugging Face's center_crop pads.
  const left = Math.floor((w - p.crop) / 2);
  const top = Math.floor((h - p.crop) / 2);
  const plane = p.crop * p.crop;
  // x0..x1, y0..y1: the part of the crop inside the image; outside it the pixels are 0
  const x0 = Math.max(0, -left);
  const x1 = Math.min(p.crop, w - left);
  const y0 = Math.max(0, -top);
  const y1 = Math.min(p.crop, h - top);
  // rgb holds the resized image's columns winLeft.. (winWidth of them) and rows winTop..
  let rgb = img.data;
  let winLeft = 0;
  let winTop = 0;
  let winWidth = w;
  if (w !== img.width || h !== img.height) {
    // libvips computes only the pixels the crop keeps (the same values as a full resize, since it
    // works on demand): a quarter less work for a 256 -> 224 crop
    winLeft = left + x0;
    winTop = top + y0;
    winWidth = x1 - x0;
    rgb = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
      .resize(w, h, { kernel: SHARP_KERNEL[p.resample ?? 'bicubic'], fit: 'fill' })
      .extract({ left: winLeft, top: winTop, width: winWidth, height: y1 - y0 })
      .raw()
      .toBuffer();
  }
  for (let c = 0; c < 3; c++) {
    // every 8-bit value's normalised float: the same expression, computed 256 times per channel
    // instead of once per pixel (this loop runs on the JS thread the models also need)
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = (v * p.rescale - p.mean[c]) / p.std[c];
    const base = offset + c * plane;
    if (x0 > 0 || x1 < p.crop || y0 > 0 || y1 < p.crop) out.fill(lut[0], base, base + plane);
    // one channel, one row at a time: a tight loop without bounds tests
    for (let y = y0; y < y1; y++) {
      let src = ((y + top - winTop) * winWidth + left + x0 - winLeft) * 3 + c;
      let dst = base + y * p.crop + x0;
      for (let x = x0; x < x1; x++, src += 3) out[dst++] = lut[rgb[src]];
    }
  }
}

export function preprocessingKey(p: ImagePreprocessing): string {
  // Shortest-edge bicubic keeps its original key, so existing caches stay valid.
  const mode = p.resizeMode ?? 'shortest-edge';
  return JSON.stringify([
    p.resize,
    p.crop,
    p.mean,
    p.std,
    p.rescale,
    SHARP_KERNEL[p.resample ?? 'bicubic'],
    ...(mode === 'shortest-edge' ? [] : [mode]),
  ]);
}
