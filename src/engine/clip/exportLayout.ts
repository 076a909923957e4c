// Where a CLIP export keeps its files. Layouts users have:
//  - Hugging Face / transformers.js: onnx/text_model.onnx + onnx/vision_model.onnx, with variants
//    onnx/text_model_fp16.onnx, ..._quantized, _int8, _uint8, _q4, _q4f16, _bnb4 beside them;
//  - optimum-cli export onnx: one model.onnx holding both towers (transformers.js also ships
//    onnx/model.onnx and its variants);
//  - tokenizer.json, or the OpenAI / open_clip vocab.json + merges.txt; preprocessor_config.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../../shared/errors';

/** transformers.js's file suffixes, most precise first: what `auto` picks among those present. */
export const CLIP_VARIANTS = ['fp32', 'fp16', 'quantized', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'] as const;
export type ClipVariant = (typeof CLIP_VARIANTS)[number];

/** The experiment's models.clip section, as far as finding files goes. */
export interface ClipLocation {
  dir: string;
  variant?: ClipVariant | 'auto';
  textModel?: string;
  visionModel?: string;
  model?: string;
  tokenizer: string;
  preprocessor: string;
}

export interface ClipVariantFiles {
  variant: ClipVariant;
  /** split: one file per tower; single: one file holding both */
  layout: 'split' | 'single';
  /** paths relative to the export folder */
  textModel: string;
  visionModel: string;
}

export interface ClipFiles {
  dir: string;
  /** absolute; the same file for both towers when one file holds both */
  textModel: string;
  visionModel: string;
  /** tokenizer.json, or vocab.json with `merges` */
  tokenizer: string;
  merges?: string;
  preprocessor: string;
  /** the variant loaded, or 'custom' when the settings name the model files */
  variant: ClipVariant | 'custom';
  /** what was chosen and why, for the run log */
  notes: string[];
}

const MODEL_FILE = new RegExp(`^(text_model|vision_model|model)(?:_(${CLIP_VARIANTS.filter((v) => v !== 'fp32').join('|')}))?\\.onnx$`);

function onnxFiles(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith('.onnx'));
  } catch {
    return [];
  }
}

/**
 * The variants a CLIP export folder offers, most precise first: what the Setup tab's variant
 * dropdown lists. A variant is offered when both towers are there (split, preferred) or one
 * file holds both (single); files in onnx/ are preferred to files in the folder itself.
 */
export function listClipVariants(dir: string): ClipVariantFiles[] {
  const found = new Map<string, string>(); // `${kind}:${variant}` -> relative path, onnx/ first
  for (const sub of ['onnx', '']) {
    for (const f of onnxFiles(path.join(dir, sub))) {
      const m = MODEL_FILE.exec(f);
      if (!m) continue;
      const key = `${m[1]}:${m[2] ?? 'fp32'}`;
      if (!found.has(key)) found.set(key, sub ? `${sub}/${f}` : f);
    }
  }
  const out: ClipVariantFiles[] = [];
  for (const variant of CLIP_VARIANTS) {
    const text = found.get(`text_model:${variant}`);
    const vision = found.get(`vision_model:${variant}`);
    const single = found.get(`model:${variant}`);
    if (text && vision) out.push({ variant, layout: 'split', textModel: text, visionModel: vision });
    else if (single) out.push({ variant, layout: 'single', textModel: single, visionModel: single });
  }
  return out;
}

function describeFolder(dir: string): string {
  const files = [...onnxFiles(dir), ...onnxFiles(path.join(dir, 'onnx')).map((f) => `onnx/${f}`)];
  return files.length ? `it has ${files.join(', ')}` : 'it has no .onnx file (nor its onnx/ folder)';
}

function requireFile(file: string, what: string, setting: string): void {
  if (!fs.existsSync(file))
    throw new InputError(`${file}: ${what} not found. Fix ${setting} in the experiment (relative to models.clip.dir).`);
}

function chooseVariant(dir: string, wanted: ClipVariant | 'auto', notes: string[]): ClipVariantFiles {
  if (!fs.existsSync(dir))
    throw new InputError(`${dir}: the CLIP folder does not exist. Point models.clip.dir at the folder of a CLIP export.`);
  const offered = listClipVariants(dir);
  if (!offered.length) {
    throw new InputError(
      `${dir}: no CLIP model found: ${describeFolder(dir)}. Expected onnx/text_model.onnx + onnx/vision_model.onnx (Hugging Face, transformers.js) or model.onnx holding both towers (optimum-cli export onnx), optionally as a variant such as _fp16 or _quantized. Point models.clip.dir at the export folder, or name the files in models.clip.textModel and models.clip.visionModel (models.clip.model for one file holding both).`,
    );
  }
  const pick = wanted === 'auto' ? offered[0] : offered.find((v) => v.variant === wanted);
  if (!pick) {
    throw new InputError(
      `${dir}: models.clip.variant is "${wanted}" but the folder has no ${wanted} model; it offers ${offered.map((v) => v.variant).join(', ')}. Choose one of those in models.clip.variant (or "auto").`,
    );
  }
  const others = offered.filter((v) => v !== pick).map((v) => v.variant);
  const files = pick.layout === 'split' ? `${pick.textModel} + ${pick.visionModel}` : `${pick.textModel} (both towers in one file)`;
  notes.push(
    `CLIP model: ${files}, variant ${pick.variant}${others.length ? `; the folder also offers ${others.join(', ')} (models.clip.variant)` : ''}`,
  );
  return pick;
}

/**
 * The tokenizer files of a CLIP folder: `setting` (tokenizer.json by default) when present, else
 * vocab.json + merges.txt beside it (OpenAI, open_clip). The engine, `tokenize` and the wizard share it.
 */
export function tokenizerFiles(dir: string, setting: string, notes: string[] = []): { tokenizer: string; merges?: string } {
  const file = path.resolve(dir, setting);
  const beside = path.dirname(file);
  if (fs.existsSync(file)) {
    if (path.basename(file) !== 'vocab.json') return { tokenizer: file };
    const merges = path.join(beside, 'merges.txt');
    requireFile(merges, 'the merges.txt that goes with vocab.json', 'models.clip.tokenizer');
    return { tokenizer: file, merges };
  }
  const vocab = path.join(beside, 'vocab.json');
  const merges = path.join(beside, 'merges.txt');
  if (fs.existsSync(vocab) && fs.existsSync(merges)) {
    notes.push(`CLIP tokenizer: no ${path.basename(file)}; built from vocab.json + merges.txt (the OpenAI / open_clip files)`);
    return { tokenizer: vocab, merges };
  }
  throw new InputError(
    `${file}: CLIP tokenizer not found, nor vocab.json + merges.txt beside it. A CLIP export ships tokenizer.json (Hugging Face) or vocab.json and merges.txt (OpenAI, open_clip). Fix models.clip.tokenizer (relative to models.clip.dir).`,
  );
}

/** Resolves the experiment's CLIP settings to files: named files first, else the folder's layout and variant. */
export function resolveClipFiles(clip: ClipLocation, resolve: (p: string) => string): ClipFiles {
  const dir = resolve(clip.dir);
  const notes: string[] = [];
  const named = (p: string | undefined, what: string, setting: string): string | undefined => {
    if (p === undefined) return undefined;
    const file = path.resolve(dir, p);
    requireFile(file, what, setting);
    return file;
  };
  const single = named(clip.model, 'CLIP model', 'models.clip.model');
  let textModel = named(clip.textModel, 'CLIP text model', 'models.clip.textModel') ?? single;
  let visionModel = named(clip.visionModel, 'CLIP vision model', 'models.clip.visionModel') ?? single;
  let variant: ClipFiles['variant'] = 'custom';
  if (!textModel || !visionModel) {
    const pick = chooseVariant(dir, clip.variant ?? 'auto', notes);
    textModel ??= path.join(dir, pick.textModel);
    visionModel ??= path.join(dir, pick.visionModel);
    if (clip.textModel === undefined && clip.visionModel === undefined) variant = pick.variant;
  }
  const preprocessor = path.resolve(dir, clip.preprocessor);
  requireFile(preprocessor, 'CLIP preprocessor config', 'models.clip.preprocessor');
  return { dir, textModel, visionModel, ...tokenizerFiles(dir, clip.tokenizer, notes), preprocessor, variant, notes };
}
