// What the New Experiment wizard (through the worker) and `tldr-debias init` get from the
// engine's proposeExperiment: an experiment that validates, and what was found and what is left.
import type { ExperimentInput } from '../experiment';

export interface ProposeParams {
  /** the CLIP export folder */
  clipDir: string;
  /** the classifier's .onnx file */
  classifierPath: string;
  /** the data folder, or a manifest / captions file */
  dataPath: string;
  /** the experiment file the proposal is for: every path in it is made relative to its folder */
  file: string;
  /** the experiment's name (default: the file name without .tldr.json) */
  name?: string;
  /** CelebA: the attribute that is the class (default Blond_Hair) */
  target?: string;
  /** CelebA: the spurious attribute (default Male); other layouts: the spurious attribute's name */
  spurious?: string;
  /** the spurious attribute's values, when the data does not name them */
  spuriousValues?: string[];
  /** class names in the classifier's output order, overriding what the data names */
  classes?: string[];
}

/** The transformers.js variant names (src/experiment's CLIP_VARIANTS). */
export type ClipVariantName = 'fp32' | 'fp16' | 'quantized' | 'int8' | 'uint8' | 'q4' | 'q4f16' | 'bnb4';

export interface ClipProposal {
  /** absolute folder */
  dir: string;
  /** transformers.js variants offered, most precise first; empty when no model was found */
  variants: ClipVariantName[];
  /** split: one file per tower; single: optimum's one file holding both */
  layout?: 'split' | 'single';
  /** "tokenizer.json" or "vocab.json + merges.txt"; undefined when none was found */
  tokenizer?: string;
  /** the vision tower's crop, from preprocessor_config.json */
  crop?: number;
  /** what stopped a file from being found or read */
  error?: string;
}

export interface ClassifierProposal {
  /** absolute path */
  path: string;
  numClasses?: number;
  featureDim?: number;
  /** the image input; height and width when the model fixes them */
  inputSize?: { height?: number; width?: number; layout: 'NCHW' | 'NHWC'; fixedBatch?: number };
  error?: string;
}

export interface DataLayoutSummary {
  kind: 'imageFolder' | 'celeba' | 'waterbirds' | 'manifest' | 'captions' | 'unknown';
  /** absolute folder or file */
  path: string;
  /** class names as the data names them (empty when it names none) */
  classes: string[];
  spurious?: { name: string; values: string[] };
  splits: ('train' | 'val' | 'test')[];
  /** CelebA: every attribute */
  attributes?: string[];
  /** images or rows found */
  images?: number;
}

export interface Proposal {
  /** the experiment, valid against the schema, paths relative to `file` */
  experiment: ExperimentInput;
  /** the experiment as the file's text (2-space JSON, final newline) */
  text: string;
  clip: ClipProposal;
  classifier: ClassifierProposal;
  data: DataLayoutSummary;
  /** what was found and filled, in plain words */
  found: string[];
  /** what the user must still check or fill */
  notes: string[];
}

/** One variant a CLIP folder offers (the Setup tab's dropdown). */
export interface ClipVariantOption {
  variant: ClipVariantName;
  layout: 'split' | 'single';
  /** relative to the CLIP folder */
  textModel: string;
  visionModel: string;
}
