// JSON-RPC between the extension host and the worker process (vscode-jsonrpc over IPC).
// Long jobs carry a jobId chosen by the host: engine events come back as `event`
// notifications tagged with it, and `cancel` names it.
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { EngineEvent, RunRecord, RunSummary, SetupCheck, WordListKind, WordScore } from './events';

export interface EngineSettings {
  /** absolute folder for the embedding cache; undefined = the engine default (.tldr/cache beside the experiment) */
  cacheDir?: string;
  executionProvider?: string;
}

export interface JobParams extends EngineSettings {
  jobId: string;
  /** absolute path of the *.tldr.json file */
  file: string;
}

export interface CreateDemoParams {
  jobId: string;
  /** absolute folder the demo is written into */
  dir: string;
}

export interface CancelParams {
  jobId: string;
}

export interface FileParams extends EngineSettings {
  file: string;
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

export interface GenerateWordsParams {
  jobId: string;
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

/** The full summary of a past run, read from its folder; null when the folder holds none. */
export interface RunDetails {
  summary: RunSummary | null;
  /** <runDir>/report.md when written */
  reportPath?: string;
  /** the exported classifier (<runDir>/model.debiased.onnx) when written */
  modelPath?: string;
}

export interface JobEvent {
  jobId: string;
  event: EngineEvent;
}

/** Error codes the worker puts on ResponseError so the host can word its message. */
export const WorkerErrorCode = {
  input: 1,
  cancelled: 2,
  unavailable: 3,
  internal: 4,
} as const;

export const scoreRequest = new RequestType<JobParams, WordScore[], void>('score');
export const runRequest = new RequestType<JobParams, RunSummary, void>('run');
export const cancelRequest = new RequestType<CancelParams, boolean, void>('cancel');
export const createDemoRequest = new RequestType<CreateDemoParams, string, void>('createDemo');
export const checkSetupRequest = new RequestType<FileParams, SetupCheck[], void>('checkSetup');
export const listRunsRequest = new RequestType<FileParams, RunRecord[], void>('listRuns');
export const runDetailsRequest = new RequestType<RunDirParams, RunDetails, void>('runDetails');
export const generateWordsRequest = new RequestType<GenerateWordsParams, GeneratedWords, void>('generateWords');
export const eventNotification = new NotificationType<JobEvent>('event');
