// The New Experiment wizard's and `tldr-debias init`'s brain: from a CLIP folder, a classifier
// file and a data folder (or file), an experiment that validates, with notes for what the user
// must still decide. Nothing is run: the CLIP layout is found from file names, the classifier's
// head and input are read from its protobuf, the data layout from folder listings and tables.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { experimentSchema, relativeForExperiment, type ExperimentInput } from '../experiment';
import { InputError } from '../shared/errors';
import { listClipVariants, resolveClipFiles } from './clip/exportLayout';
import type { ClassifierProposal, ClipProposal, Proposal, ProposeParams } from '../protocol/proposal';
import { loadClipTokenizer } from './clip/tokenizer';
import { celebaClassNames, detectDataLayout, type DetectedLayout } from './data/detect';
import { readClipPreprocessing } from './images/preprocess';
import { inspectClassifier } from './onnx';

export type { ClassifierProposal, ClipProposal, Proposal, ProposeParams } from '../protocol/proposal';

const KIND_NAMES: Record<DetectedLayout['kind'], string> = {
  imageFolder: 'class folders',
  celeba: 'CelebA',
  waterbirds: 'Waterbirds metadata.csv',
  manifest: 'manifest',
  captions: 'caption pairs',
  unknown: 'unknown layout',
};

const EXPERIMENT_SUFFIX = /\.tldr\.json$/i;

function clipProposal(clipDir: string, notes: string[], found: string[]): ClipProposal {
  const dir = path.resolve(clipDir);
  const out: ClipProposal = { dir, variants: [] };
  try {
    const offered = listClipVariants(dir);
    out.variants = offered.map((v) => v.variant);
    out.layout = offered[0]?.layout;
    const files = resolveClipFiles(
      { dir, variant: 'auto', tokenizer: 'tokenizer.json', preprocessor: 'preprocessor_config.json' },
      (p) => p,
    );
    out.tokenizer = files.merges ? 'vocab.json + merges.txt' : path.basename(files.tokenizer);
    loadClipTokenizer(files.tokenizer, files.merges);
    out.crop = readClipPreprocessing(files.preprocessor).crop;
    const layout =
      out.layout === 'single' ? "one model.onnx holding both towers (optimum's layout)" : 'a text and a vision model (Hugging Face layout)';
    found.push(`CLIP: ${layout}, tokenizer from ${out.tokenizer}, images cropped to ${out.crop}.`);
    if (out.variants.length > 1)
      found.push(
        `CLIP variants: ${out.variants.join(', ')}; "auto" loads ${out.variants[0]}. Choose another in the Setup tab or models.clip.variant.`,
      );
  } catch (err) {
    out.error = (err as Error).message;
    notes.push(`CLIP: ${out.error}`);
  }
  return out;
}

async function classifierProposal(file: string, notes: string[], found: string[]): Promise<ClassifierProposal> {
  const p = path.resolve(file);
  try {
    const info = await inspectClassifier(p);
    const i = info.imageInput;
    const size = i.height && i.width ? `${i.height}x${i.width}` : 'any size';
    found.push(
      `Classifier: ${info.numClasses} classes, ${info.featureDim} features (${info.layer.op} head), images ${size} ${i.layout}${
        i.fixedBatch ? `, fixed batch ${i.fixedBatch} (images run ${i.fixedBatch} at a time: slower)` : ''
      }.`,
    );
    for (const n of info.notes) notes.push(n.startsWith(p) ? n.slice(p.length + 2) : n);
    return {
      path: p,
      numClasses: info.numClasses,
      featureDim: info.featureDim,
      inputSize: { height: i.height, width: i.width, layout: i.layout, ...(i.fixedBatch ? { fixedBatch: i.fixedBatch } : {}) },
    };
  } catch (err) {
    const error = (err as Error).message;
    notes.push(`Classifier: ${error}`);
    return { path: p, error };
  }
}

/** Class names from the data, matched to the classifier's output count. */
function chooseClasses(layout: DetectedLayout, numClasses: number | undefined, given: string[] | undefined, notes: string[]): string[] {
  if (given?.length) {
    if (numClasses !== undefined && given.length !== numClasses)
      notes.push(`${given.length} class names were given but the classifier has ${numClasses} outputs: task.classes needs one per output.`);
    return given;
  }
  const data = layout.classes;
  if (!data.length) {
    const n = Math.max(numClasses ?? 2, 2);
    notes.push(
      `The data names no classes, so task.classes holds placeholders (${n}, from the classifier's outputs): rename them in the classifier's output order.`,
    );
    return Array.from({ length: n }, (_, i) => `class ${i}`);
  }
  let classes = data;
  if (data.every((c) => /^\d+$/.test(c))) {
    // indices: "class 3" still reads index 3 from a folder or manifest, and says a name is wanted
    const n = Math.max(numClasses ?? 0, ...data.map((c) => Number(c) + 1));
    classes = Array.from({ length: n }, (_, i) => `class ${i}`);
    notes.push(
      `The data names classes by index (${data.join(', ')}): task.classes holds "class 0" to "class ${n - 1}"; rename them (and their anchors) in the classifier's output order.`,
    );
  } else if (numClasses !== undefined && data.length !== numClasses) {
    notes.push(
      `The data has ${data.length} classes (${data.join(', ')}) but the classifier has ${numClasses} outputs. TLDR needs one class per output, in the classifier's order: fix task.classes, or check that this classifier and this data belong together.`,
    );
  }
  return classes;
}

/** CelebA: the target and spurious attributes the user named, checked against the file's attributes. */
function celebaChoice(layout: DetectedLayout, p: ProposeParams): DetectedLayout {
  if (layout.kind !== 'celeba' || (!p.target && !p.spurious)) return layout;
  const attrs = layout.attributes ?? [];
  const pick = (name: string, role: string) => {
    const hit = attrs.find((a) => a === name) ?? attrs.find((a) => a.toLowerCase() === name.toLowerCase());
    if (!hit) throw new InputError(`CelebA has no attribute "${name}" for the ${role}; its attributes are ${attrs.join(', ')}.`);
    return hit;
  };
  const first = Object.values(layout.data)[0] as { target?: string; spurious?: string } | undefined;
  const target = p.target ? pick(p.target, 'class (--target)') : first?.target;
  const spurious = p.spurious ? pick(p.spurious, 'spurious attribute (--spurious)') : first?.spurious;
  if (target && target === spurious)
    throw new InputError(`The class and the spurious attribute are both ${target}: choose two attributes.`);
  const data = Object.fromEntries(
    Object.entries(layout.data).map(([k, s]) => [k, { ...s, ...(target ? { target } : {}), ...(spurious ? { spurious } : {}) }]),
  );
  return {
    ...layout,
    data,
    classes: target ? celebaClassNames(target) : layout.classes,
    spurious: spurious ? { name: spurious.replace(/_/g, ' ').toLowerCase(), values: celebaClassNames(spurious) } : layout.spurious,
    notes: layout.notes.map((n) =>
      n.startsWith('CelebA: the class') ? `CelebA: the class is ${target}${spurious ? `, the spurious attribute ${spurious}` : ''}.` : n,
    ),
  };
}

/** Relative to the experiment when both lie under one folder (not the file system's root) at most three levels up, else absolute. */
function pathFor(file: string, target: string): string {
  const rel = relativeForExperiment(file, target);
  if (path.isAbsolute(rel)) return rel;
  const ups = rel.split('/').filter((s) => s === '..').length;
  const common = path.resolve(path.dirname(file), ...Array<string>(ups).fill('..'));
  return ups > 3 || common === path.parse(common).root ? path.resolve(target) : rel;
}

const PATH_KEYS = ['manifest', 'imageFolder', 'celeba', 'root', 'path', 'embeddings'];

function relativeSource<T extends object>(file: string, source: T): T {
  return Object.fromEntries(
    Object.entries(source).map(([k, v]) => [k, PATH_KEYS.includes(k) && typeof v === 'string' ? pathFor(file, v) : v]),
  ) as T;
}

const article = (w: string) => (/^[aeiou]/i.test(w) ? 'an' : 'a');

/** Proposes an experiment from the three things a user has; see ProposeParams. Never writes. */
export async function proposeExperiment(p: ProposeParams): Promise<Proposal> {
  const file = path.resolve(p.file);
  const notes: string[] = [];
  const found: string[] = [];
  const clip = clipProposal(p.clipDir, notes, found);
  const classifier = await classifierProposal(p.classifierPath, notes, found);

  const detected = celebaChoice(detectDataLayout(p.dataPath), p);
  const { data: sources, notes: dataNotes, captions: _captions, ...layout } = detected;
  if (detected.kind !== 'unknown' && detected.kind !== 'captions') {
    const splits = detected.splits.length ? detected.splits.join(', ') : 'no split names';
    found.push(
      `Data: ${KIND_NAMES[detected.kind]} at ${pathFor(file, detected.path)}${detected.images !== undefined ? `, ${detected.images} images` : ''}, ${splits}${
        detected.classes.length ? `, classes ${detected.classes.join(', ')}` : ''
      }${detected.spurious ? `, spurious attribute ${detected.spurious.name} (${detected.spurious.values.join(', ')})` : ''}.`,
    );
  }
  notes.push(...dataNotes);

  const classes = chooseClasses(detected, classifier.numClasses, p.classes, notes);
  let spurious = detected.spurious;
  if (p.spurious && detected.kind !== 'celeba') spurious = { name: p.spurious, values: spurious?.values ?? [] };
  if (p.spuriousValues?.length) spurious = { name: spurious?.name ?? p.spurious ?? 'spurious attribute', values: p.spuriousValues };
  if (!spurious || spurious.values.length < 2) {
    const name = spurious?.name ?? 'background';
    spurious = { name, values: [`${name} A`, `${name} B`] };
    notes.push(
      `The data names no spurious attribute: task.spurious is a placeholder ("${name}" with values "${name} A", "${name} B"). Name the feature the classifier leans on and its values (e.g. background: land, water).`,
    );
  } else if (spurious.values.every((v) => /^\d+$/.test(v))) {
    const values = spurious.values;
    spurious = { name: spurious.name, values: values.map((v) => `${spurious!.name} ${v}`) };
    notes.push(
      `The spurious values are indices (${values.join(', ')}): rename "${spurious.values.join('", "')}" to what they mean, in index order.`,
    );
  }

  // data: train is required; with no source found, a manifest path to fill
  const data: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(sources)) if (s) data[k] = relativeSource(file, s);
  if (!data.train) {
    const fallback = detected.kind === 'unknown' ? path.resolve(p.dataPath) : path.join(path.dirname(file), 'data', 'train.csv');
    data.train = { manifest: pathFor(file, fallback) };
    notes.push(
      detected.kind === 'captions'
        ? 'Only caption pairs were found: data.train still needs the training images (a folder of class folders or a manifest).'
        : 'data.train points at the picked path but no known layout was found there: point it at a folder of class folders, a CSV/JSONL manifest, CelebA or a Waterbirds metadata.csv.',
    );
  }
  if (detected.captions) data.captions = relativeSource(file, detected.captions);
  if (!data.val) notes.push('No val split: model selection and the DFR reference need labelled val images (data.val).');

  // preprocessing: the classifier's fixed input size, else the usual 224
  const crop = classifier.inputSize?.height ?? 224;
  const resize = crop === 224 ? 256 : Math.round((crop * 256) / 224);
  if (!classifier.inputSize?.height && !classifier.error)
    notes.push(
      'The classifier does not fix its image size: crop 224 (resize 256) is assumed; set models.classifier.preprocessing to yours.',
    );
  notes.push(
    'Classifier preprocessing: ImageNet mean/std and bicubic resizing are filled in; torchvision models are trained with bilinear (set preprocessing.resample in the Setup tab).',
  );

  const words = (names: string[]) => Object.fromEntries(names.map((n) => [n, []]));
  const name =
    p.name ??
    path
      .basename(file)
      .replace(EXPERIMENT_SUFFIX, '')
      .replace(/\.json$/i, '');
  const experiment: ExperimentInput = {
    version: 1,
    name,
    task: {
      classes,
      spurious,
      targetAnchors: classes.map((c) => `a photo of ${article(c)} ${c}.`),
      spuriousAnchors: spurious.values.map((v) => `a photo of ${article(v)} ${v}.`),
      neutralPrompt: 'a photo of a {}.',
    },
    models: {
      clip: { dir: pathFor(file, clip.dir), variant: 'auto' },
      classifier: {
        path: pathFor(file, classifier.path),
        preprocessing: { resize, crop, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], resample: 'bicubic' },
      },
    },
    data: data as ExperimentInput['data'],
    words: { targets: words(classes), spurious: words(spurious.values) },
  };
  notes.push('Words: every list is empty. Use Generate Words (an LLM) or type words for each class and spurious value, then Score Words.');
  const checked = experimentSchema.safeParse(experiment);
  if (!checked.success)
    notes.push(`The proposal does not validate yet: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { experiment, text: JSON.stringify(experiment, null, 2) + '\n', clip, classifier, data: layout, found, notes };
}

/** The experiment file a proposal would be written to by default: <name>.tldr.json in `dir`, never an existing one. */
export function defaultExperimentFile(dir: string, base = 'experiment'): string {
  for (let i = 1; ; i++) {
    const f = path.join(dir, `${base}${i === 1 ? '' : `-${i}`}.tldr.json`);
    if (!fs.existsSync(f)) return f;
  }
}
