// The worker process: forked by the extension host, it holds the engine (onnxruntime
// sessions, caches) and answers JSON-RPC over IPC, so heavy work never blocks VS Code.
// A job's engine events stream back as `$/progress` on the token the host named.
import { createMessageConnection, IPCMessageReader, IPCMessageWriter, ResponseError, type CancellationToken } from 'vscode-jsonrpc/node';
import * as path from 'node:path';
import {
  checkSetup,
  createDemo,
  discoverBiases,
  jobRun,
  lastDiscovery,
  lastScores,
  listClipVariants,
  listRuns,
  proposeExperiment,
  runDetails,
  runExperiment,
  scoreWords,
  slurmQueue,
  submitSlurm,
  type EngineOptions,
} from '../engine/api';
import { InputError, isAbortError } from '../shared/errors';
import { loadExperiment, parseExperimentText } from '../experiment';
import type { EngineEvent } from '../protocol/events';
import { generateConcepts, generateWords, groupAddedWords, LlmError, type LlmClientSettings } from '../llm/generate';
import type { ListRef } from '../llm/prompts';
import {
  checkSetupRequest,
  clipVariantsRequest,
  createDemoRequest,
  discoverRequest,
  lastDiscoveryRequest,
  engineProgress,
  generateWordsRequest,
  lastScoresRequest,
  listRunsRequest,
  proposeExperimentRequest,
  runDetailsRequest,
  runRequest,
  scoreRequest,
  slurmStatusRequest,
  slurmSubmitRequest,
  WorkerErrorCode,
  type EngineSettings,
  type GeneratedWords,
  type JobParams,
  type LlmSettings,
} from '../protocol/worker';

if (!process.send) {
  process.stderr.write('dist/worker.js is started by the TLDR extension over IPC; use dist/cli.js on the command line.\n');
  process.exit(2);
}

const connection = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));

function engineOptions(s: EngineSettings): Pick<EngineOptions, 'cacheDir' | 'executionProvider' | 'threads' | 'threadsSource'> {
  return {
    ...(s.cacheDir ? { cacheDir: s.cacheDir } : {}),
    ...(s.executionProvider ? { executionProvider: s.executionProvider } : {}),
    ...(s.threads ? { threads: s.threads, threadsSource: 'setting' as const } : {}),
  };
}

/** Errors cross the wire as ResponseError with a code the host words its message by. */
function toResponseError(err: unknown): ResponseError<void> {
  if (isAbortError(err)) return new ResponseError(WorkerErrorCode.cancelled, 'The job was cancelled.');
  if (err instanceof InputError || err instanceof LlmError) return new ResponseError(WorkerErrorCode.input, err.message);
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`${e.stack ?? e.message}\n`);
  return new ResponseError(WorkerErrorCode.internal, e.message);
}

/** Runs one job: its engine events go out as progress, the request's cancellation aborts it. */
async function job<T>(
  params: JobParams,
  token: CancellationToken,
  work: (signal: AbortSignal, onEvent: (e: EngineEvent) => void) => Promise<T>,
): Promise<T | ResponseError<void>> {
  const ac = new AbortController();
  const sub = token.onCancellationRequested(() => ac.abort());
  const onEvent = (event: EngineEvent) => void connection.sendProgress(engineProgress, params.workDoneToken, event);
  try {
    return await work(ac.signal, onEvent);
  } catch (err) {
    return toResponseError(err);
  } finally {
    sub.dispose();
  }
}

async function plain<T>(work: () => T | Promise<T>): Promise<T | ResponseError<void>> {
  try {
    return await work();
  } catch (err) {
    return toResponseError(err);
  }
}

connection.onRequest(runRequest, (p, token) =>
  job(p, token, (signal, onEvent) => runExperiment(p.file, { ...engineOptions(p), signal, onEvent })),
);
connection.onRequest(scoreRequest, (p, token) =>
  job(p, token, (signal, onEvent) => scoreWords(p.file, { ...engineOptions(p), signal, onEvent })),
);
connection.onRequest(createDemoRequest, (p, token) => job(p, token, (signal, onEvent) => createDemo(p.dir, { signal, onEvent })));
connection.onRequest(checkSetupRequest, (p) => plain(() => checkSetup(p.file, engineOptions(p))));
connection.onRequest(listRunsRequest, (p) => plain(() => listRuns(p.file)));
connection.onRequest(runDetailsRequest, (p) => plain(() => runDetails(p.runDir)));
connection.onRequest(lastScoresRequest, (p) => plain(() => lastScores(p.file)));
connection.onRequest(proposeExperimentRequest, (p) => plain(() => proposeExperiment(p)));
connection.onRequest(clipVariantsRequest, (p) => plain(() => listClipVariants(p.dir)));
// the Slurm jobs call the CLI bundled beside this worker (dist/cli.js) with this Node, by absolute path
connection.onRequest(slurmSubmitRequest, (p) =>
  plain(async () => {
    const { scripts: _scripts, ...info } = await submitSlurm(p.file, {
      tasks: p.tasks,
      cli: { node: process.execPath, script: path.join(__dirname, 'cli.js') },
    });
    return info;
  }),
);
connection.onRequest(slurmStatusRequest, (p) =>
  plain(async () => {
    const queue = await slurmQueue([p.arrayJobId, p.runJobId]);
    const run = jobRun(p.file, p.runJobId);
    return { queue, ...(run ? { run } : {}) };
  }),
);

connection.onRequest(generateWordsRequest, (p, token) =>
  job(p, token, async (signal, onEvent): Promise<GeneratedWords> => {
    const exp = p.text !== undefined ? parseExperimentText(p.file, p.text) : loadExperiment(p.file).experiment;
    let lists: ListRef[] | undefined;
    if (p.list) {
      const names = p.group ? [p.group] : p.list === 'targets' ? exp.task.classes : exp.task.spurious.values;
      lists = names.map((name) => ({ kind: p.list!, name }));
    }
    const result = await generateWords(exp.task, exp.words, {
      ...llmClientSettings(p.llm),
      signal,
      ...(lists ? { lists } : {}),
      onLog: (message) => onEvent({ type: 'log', level: 'info', message }),
    });
    return groupAddedWords(result);
  }),
);

connection.onRequest(lastDiscoveryRequest, (p) => plain(() => lastDiscovery(p.file)));
connection.onRequest(discoverRequest, (p, token) =>
  job(p, token, async (signal, onEvent) => {
    const log = (message: string, level: 'info' | 'warn' = 'info') => onEvent({ type: 'log', level, message, step: 'discover' });
    let llmWords: string[] = [];
    if (p.llm) {
      // an LLM that fails or is unreachable costs its candidates only: the built-in list and the user's words are scored
      try {
        const exp = loadExperiment(p.file).experiment;
        const r = await generateConcepts(exp.task.classes, {
          ...llmClientSettings(p.llm),
          signal,
          onLog: (m) => log(m),
        });
        llmWords = Object.values(r.concepts).flat();
        for (const e of r.errors) log(`LLM candidates incomplete: ${e}`, 'warn');
      } catch (err) {
        if (!(err instanceof LlmError)) throw err;
        log(`LLM candidates skipped: ${err.message}`, 'warn');
      }
    }
    return discoverBiases(p.file, { ...engineOptions(p), words: p.words, llmWords, signal, onEvent });
  }),
);

// The host going away (window closed, extension reloaded) ends the worker.
process.on('disconnect', () => process.exit(0));
connection.onClose(() => process.exit(0));
connection.listen();

/** The LLM client's settings from the host's (VS Code settings + the key from SecretStorage). */
function llmClientSettings(l: LlmSettings): LlmClientSettings {
  return { baseURL: l.baseUrl, apiKey: l.apiKey, model: l.model, temperature: l.temperature, timeoutMs: l.timeoutSeconds * 1000 };
}
