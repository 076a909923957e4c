// The worker process: forked by the extension host, it holds the engine (onnxruntime
// sessions, caches) and answers JSON-RPC over IPC, so heavy work never blocks VS Code.
// Engine events stream back as `event` notifications tagged with the host's job id.
import { createMessageConnection, IPCMessageReader, IPCMessageWriter, ResponseError } from 'vscode-jsonrpc/node';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { checkSetup, createDemo, listRuns, runExperiment, scoreWords, type EngineOptions } from '../engine/api';
import { InputError, isAbortError } from '../shared/errors';
import { loadExperiment, parseExperimentText } from '../experiment';
import type { EngineEvent, RunSummary } from '../protocol/events';
import { generateWords, groupAddedWords, LlmError } from '../llm/generate';
import type { ListRef } from '../llm/prompts';
import {
  cancelRequest,
  checkSetupRequest,
  createDemoRequest,
  eventNotification,
  generateWordsRequest,
  listRunsRequest,
  runDetailsRequest,
  runRequest,
  scoreRequest,
  WorkerErrorCode,
  type EngineSettings,
  type GeneratedWords,
  type RunDetails,
} from '../protocol/worker';

if (!process.send) {
  process.stderr.write('dist/worker.js is started by the TLDR extension over IPC; use dist/cli.js on the command line.\n');
  process.exit(2);
}

const connection = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));
const jobs = new Map<string, AbortController>();

function engineOptions(s: EngineSettings): Pick<EngineOptions, 'cacheDir' | 'executionProvider'> {
  return { ...(s.cacheDir ? { cacheDir: s.cacheDir } : {}), ...(s.executionProvider ? { executionProvider: s.executionProvider } : {}) };
}

/** Errors cross the wire as ResponseError with a code the host words its message by. */
function toResponseError(err: unknown): ResponseError<void> {
  if (isAbortError(err)) return new ResponseError(WorkerErrorCode.cancelled, 'The job was cancelled.');
  if (err instanceof InputError) return new ResponseError(WorkerErrorCode.input, err.message);
  if (err instanceof LlmError) return new ResponseError(WorkerErrorCode.input, err.message);
  const e = err instanceof Error ? err : new Error(String(err));
  if (/in progress/.test(e.message))
    return new ResponseError(WorkerErrorCode.unavailable, `Not available in this build yet (${e.message}).`);
  process.stderr.write(`${e.stack ?? e.message}\n`);
  return new ResponseError(WorkerErrorCode.internal, e.message);
}

/** Runs one cancellable job, forwarding its engine events. */
async function job<T>(
  jobId: string,
  work: (signal: AbortSignal, onEvent: (e: EngineEvent) => void) => Promise<T>,
): Promise<T | ResponseError<void>> {
  if (jobs.has(jobId)) return new ResponseError(WorkerErrorCode.internal, `job ${jobId} is already running`);
  const ac = new AbortController();
  jobs.set(jobId, ac);
  const onEvent = (event: EngineEvent) => void connection.sendNotification(eventNotification, { jobId, event });
  try {
    return await work(ac.signal, onEvent);
  } catch (err) {
    return toResponseError(err);
  } finally {
    jobs.delete(jobId);
  }
}

async function plain<T>(work: () => Promise<T>): Promise<T | ResponseError<void>> {
  try {
    return await work();
  } catch (err) {
    return toResponseError(err);
  }
}

connection.onRequest(runRequest, (p) => job(p.jobId, (signal, onEvent) => runExperiment(p.file, { ...engineOptions(p), signal, onEvent })));
connection.onRequest(scoreRequest, (p) => job(p.jobId, (signal, onEvent) => scoreWords(p.file, { ...engineOptions(p), signal, onEvent })));
connection.onRequest(createDemoRequest, (p) => job(p.jobId, (signal, onEvent) => createDemo(p.dir, { signal, onEvent })));
connection.onRequest(cancelRequest, (p) => {
  const ac = jobs.get(p.jobId);
  ac?.abort();
  return ac !== undefined;
});
connection.onRequest(checkSetupRequest, (p) => plain(() => checkSetup(p.file, engineOptions(p))));
connection.onRequest(listRunsRequest, (p) => plain(() => listRuns(p.file)));
connection.onRequest(runDetailsRequest, (p) => plain(async () => readRunDetails(p.runDir)));

connection.onRequest(generateWordsRequest, (p) =>
  job(p.jobId, async (signal, onEvent): Promise<GeneratedWords> => {
    const exp = p.text !== undefined ? parseExperimentText(p.file, p.text) : loadExperiment(p.file).experiment;
    let lists: ListRef[] | undefined;
    if (p.list) {
      const names = p.group ? [p.group] : p.list === 'targets' ? exp.task.classes : exp.task.spurious.values;
      lists = names.map((name) => ({ kind: p.list!, name }));
    }
    const result = await generateWords(exp.task, exp.words, {
      baseURL: p.llm.baseUrl,
      apiKey: p.llm.apiKey,
      model: p.llm.model,
      temperature: p.llm.temperature,
      timeoutMs: p.llm.timeoutSeconds * 1000,
      signal,
      ...(lists ? { lists } : {}),
      onLog: (message) => onEvent({ type: 'log', level: 'info', message }),
    });
    return groupAddedWords(result);
  }),
);

/** A past run's summary and artifacts, read from its run.json (the engine writes it atomically). */
function readRunDetails(runDir: string): RunDetails {
  let summary: RunSummary | null = null;
  try {
    const j = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as {
      runId?: string;
      status?: string;
      metrics?: RunSummary['metrics'];
      error?: string;
    };
    if (j.runId && j.metrics && (j.status === 'succeeded' || j.status === 'failed' || j.status === 'cancelled')) {
      summary = { runId: j.runId, runDir, status: j.status, metrics: j.metrics, ...(j.error ? { error: j.error } : {}) };
    }
  } catch {
    // no record (yet): the Results tab shows none
  }
  const report = path.join(runDir, 'report.md');
  const model = path.join(runDir, 'model.debiased.onnx');
  return { summary, ...(fs.existsSync(report) ? { reportPath: report } : {}), ...(fs.existsSync(model) ? { modelPath: model } : {}) };
}

// The host going away (window closed, extension reloaded) ends the worker.
process.on('disconnect', () => process.exit(0));
connection.onClose(() => process.exit(0));
connection.listen();
