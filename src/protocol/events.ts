// The one typed event stream every engine step reports through. The CLI prints it,
// the worker forwards it over JSON-RPC, the extension turns it into logs and progress.
import type { RunGallery, RunJson, RunMetrics, RunStatus, RunWarning } from './runRecord';

export const STEP_IDS = ['encode-images', 'gap', 'projector', 'score-words', 'text-set', 'retrain', 'evaluate', 'export'] as const;
/** The steps of a run, and 'discover' (ranking bias keywords from val errors), which is no run step. */
export type StepId = (typeof STEP_IDS)[number] | 'discover';

export const STEP_TITLES: Record<StepId, string> = {
  'encode-images': 'Encode images',
  gap: 'Modality gap',
  projector: 'Projector',
  'score-words': 'Score words',
  'text-set': 'Text set',
  retrain: 'Retrain last layer',
  evaluate: 'Evaluate',
  export: 'Export',
  discover: 'Discover biases',
};

/** The two kinds of word list: words for each class, and words for each spurious value. */
export const WORD_LIST_KINDS = ['targets', 'spurious'] as const;
export type WordListKind = (typeof WORD_LIST_KINDS)[number];

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** Per-word validation result (see docs: anchor margin and logit margin). */
export interface WordScore {
  list: WordListKind;
  /** class name or spurious value the word is listed under */
  group: string;
  /** position in words[list][group], so repeated words keep their own verdict */
  index: number;
  text: string;
  /** cos(e, a_own) - max other cos; pass iff > 0 */
  clipMargin: number;
  /** target words only: z_own - max other z; pass iff > 0 */
  logitMargin?: number;
  pass: boolean;
  /** why it failed, readable */
  reason?: string;
}

export type { GroupMetric, HeadMetrics, SplitMetrics, RunMetrics, RunStatus } from './runRecord';

export interface RunSummary {
  runId: string;
  runDir: string;
  status: RunStatus;
  metrics: RunMetrics;
  /** how the candidate was chosen (absent when the run stopped before) */
  selection?: RunJson['selection'];
  warnings?: RunWarning[];
  /** per-group examples of the headline split (image sources only) */
  gallery?: RunGallery;
  error?: string;
}

export type EngineEvent =
  | { type: 'run-start'; runId: string; runDir: string; experiment: string; steps: StepId[] }
  | { type: 'step-start'; step: StepId }
  | { type: 'progress'; step: StepId; done: number; total: number; message?: string }
  | { type: 'step-end'; step: StepId; status: 'done' | 'skipped'; seconds: number; detail?: string }
  | { type: 'log'; level: LogLevel; message: string; step?: StepId }
  | { type: 'scores'; scores: WordScore[]; lambda: number }
  | { type: 'result'; summary: RunSummary };

export type EventSink = (event: EngineEvent) => void;

/** One live check of an experiment's setup (files exist, inputs/outputs, sizes agree). */
export interface SetupCheck {
  id: string;
  label: string;
  status: 'ok' | 'warn' | 'error';
  message: string;
}

/** Word scores and the projector lambda their logit margins used. */
export interface WordScores {
  lambda: number;
  scores: WordScore[];
}

/** A past run as the tree view lists it (read from `.tldr/runs/<id>/run.json`). */
export interface RunRecord {
  runId: string;
  runDir: string;
  experiment: string;
  startedAt: string;
  status: RunStatus;
  worstGroup?: { split: 'val' | 'test'; erm: number; tldr: number };
}
