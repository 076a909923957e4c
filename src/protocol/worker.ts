// JSON-RPC between the extension host and the worker process (vscode-jsonrpc over IPC).
// Long jobs are ordinary requests: the host names a progress token in `workDoneToken`, and the
// worker streams the job's engine events as `$/progress` on it; cancelling the request's
// CancellationToken aborts the job in the worker.
import { ProgressType, RequestType } from 'vscode-jsonrpc';
import type { EngineEvent, RunRecord, RunSummary, SetupCheck, WordListKind, WordScores } from './events';
import type { ClipVariantOption, ProposeParams, Proposal } from './proposal';
import type { Discovery } from './discover';

export interface EngineSettings {
  /** absolute folder for the embedding cache; undefined = the engine default (.tldr/cache beside the experiment) */
  cacheDir?: string;
  executionProvider?: string;
  /** the editor's tldr.onnx.threads; 0 or undefined = every core */
  threads?: number;
}

/** A job streams its engine events on this progress token. */
export interface JobParams {
  workDoneToken: string;
}

export interface FileParams extends EngineSettings {
  /** absolute path of the *.tldr.json file */
  file: string;
}

export interface CreateDemoParams extends JobParams {
  /** absolute folder the demo is written into */
  dir: string;
}

export interface RunDirParams {
  runDir: string;
}

export interface LlmSettings {
  baseUrl: string;
  model: string;
  temperature: number;
  timeoutSeconds: number;
  /** from SecretStorage; never logged, never written */
  apiKey: string;
}

export interface GenerateWordsParams extends JobParams {
  file: string;
  /** the editor's current text (may be unsaved); the file on disk when absent */
  text?: string;
  /** restrict to one list (and group); both absent = every list */
  list?: WordListKind;
  group?: string;
  llm: LlmSettings;
}

/** New words per list and group, not yet in the experiment file (the host applies them as an edit). */
export interface GeneratedWords {
  targets: Record<string, string[]>;
  spurious: Record<string, string[]>;
  /** per-list failures (the other lists still got their words) */
  errors: string[];
}

export interface DiscoverParams extends FileParams, JobParams {
  /** the user's own candidate keywords */
  words: string[];
  /** ask this LLM for candidates too (absent: no LLM) */
  llm?: LlmSettings;
}

/** A discovery and the file it was kept in (`.tldr/discover/<id>.json`). */
export interface DiscoveryResult {
  path: string;
  discovery: Discovery;
}

/** The full summary of a past run, read from its folder; null when the folder holds none. */
export interface RunDetails {
  summary: RunSummary | null;
  /** <runDir>/report.md when written */
  reportPath?: string;
  /** the exported classifier (<runDir>/model.debiased.onnx) when written */
  modelPath?: string;
}

/** Error codes the worker puts on ResponseError so the host can word its message. */
export const WorkerErrorCode = {
  input: 1,
  cancelled: 2,
  internal: 4,
} as const;

export const engineProgress = new ProgressType<EngineEvent>();

export const scoreRequest = new RequestType<FileParams & JobParams, WordScores, void>('score');
export const runRequest = new RequestType<FileParams & JobParams, RunSummary, void>('run');
export const createDemoRequest = new RequestType<CreateDemoParams, string, void>('createDemo');
export const generateWordsRequest = new RequestType<GenerateWordsParams, GeneratedWords, void>('generateWords');
export const checkSetupRequest = new RequestType<FileParams, SetupCheck[], void>('checkSetup');
export const listRunsRequest = new RequestType<FileParams, RunRecord[], void>('listRuns');
export const runDetailsRequest = new RequestType<RunDirParams, RunDetails, void>('runDetails');
export const lastScoresRequest = new RequestType<FileParams, WordScores | null, void>('lastScores');
/** The New Experiment wizard: an experiment proposed from a CLIP folder, a classifier and data (nothing is written). */
export const proposeExperimentRequest = new RequestType<ProposeParams, Proposal, void>('proposeExperiment');
/** The CLIP variants a folder offers, for the Setup tab's dropdown (empty when it has none). */
export const clipVariantsRequest = new RequestType<{ dir: string }, ClipVariantOption[], void>('clipVariants');

// ---- Slurm ("TLDR: Run on Slurm…"): the worker runs sbatch and squeue, so the host never spawns them

export interface SlurmSubmitParams {
  file: string;
  tasks: number;
}

/** A submission: the encode array, the run job after it, where the scripts and logs are. */
export interface SlurmSubmissionInfo {
  id: string;
  experiment: string;
  dir: string;
  tasks: number;
  arrayJobId: string;
  runJobId: string;
  logs: { encode: string[]; run: string };
  submittedAt: string;
}

export interface SlurmStatusParams {
  file: string;
  arrayJobId: string;
  runJobId: string;
}

/** One line of squeue: an array task ("123_4"), a pending range ("123_[5-7]") or a job ("124"). */
export interface SlurmQueueEntry {
  id: string;
  state: string;
  reason: string;
}

export interface SlurmStatus {
  /** squeue's lines for the array and the run job; finished ones are absent */
  queue: SlurmQueueEntry[];
  /** the run job's run folder and status, once its run.json exists */
  run?: { runDir: string; status: RunRecord['status'] | 'running' };
}

export const slurmSubmitRequest = new RequestType<SlurmSubmitParams, SlurmSubmissionInfo, void>('slurmSubmit');
export const slurmStatusRequest = new RequestType<SlurmStatusParams, SlurmStatus, void>('slurmStatus');
export const discoverRequest = new RequestType<DiscoverParams, DiscoveryResult, void>('discover');
export const lastDiscoveryRequest = new RequestType<FileParams, DiscoveryResult | null, void>('lastDiscovery');
