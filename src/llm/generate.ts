// Word generation over the `openai` package, for OpenAI and OpenAI-compatible servers.
// Pure with respect to files: takes the task and the current word lists, returns the new
// lists; the caller decides whether to write. One request per list, so a failure in one
// list keeps what the others got.
import OpenAI from 'openai';
import { z } from 'zod';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { Task, WordEntry, WordLists } from '../experiment';
import type { WordListKind } from '../protocol/events';
import type { GeneratedWords } from '../protocol/worker';
import type { SpuriousGrouping } from '../protocol/discover';
import { abortError, isAbortError, throwIfAborted } from '../shared/errors';
import {
  buildPrompt,
  allLists,
  wordListJsonSchema,
  WORD_LIST_SCHEMA_NAME,
  DEFAULT_WORD_COUNT,
  buildConceptPrompt,
  buildGroupingPrompt,
  DEFAULT_CONCEPT_COUNT,
  type AnswerFormat,
  type ListRef,
  type Prompt,
} from './prompts';
import { looksLikeHtml, normalizeWord, readWordAnswer, wordKey } from './parse';

export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_MODEL = 'gpt-4o-mini';
export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_RETRIES = 2;
/** Until the endpoint has answered once, a request waits at most this long (never more than the timeout). */
export const DEFAULT_FIRST_TIMEOUT_MS = 30_000;
/** The whole generation (every list, every retry) ends by then. */
export const DEFAULT_DEADLINE_MS = 300_000;

/** Where each setting comes from, named in error messages so users know what to change. */
export const SETTING_HINTS = {
  baseUrl: 'the setting tldr.llm.baseUrl in VS Code, or --base-url / OPENAI_BASE_URL for the CLI',
  model: 'the setting tldr.llm.model in VS Code, or --model / TLDR_LLM_MODEL for the CLI',
  timeout: 'the setting tldr.llm.timeoutSeconds in VS Code, or --timeout for the CLI',
  firstTimeout: '--first-timeout for the CLI',
  deadline: '--deadline for the CLI',
  apiKey: '"TLDR: Set API Key" in VS Code, or the OPENAI_API_KEY environment variable for the CLI',
} as const;

export interface LlmClientSettings {
  /** default https://api.openai.com/v1; never read from the environment here (see config.ts) */
  baseURL?: string;
  apiKey?: string;
  model: string;
  /** omitted from the request when undefined: some models reject any temperature */
  temperature?: number;
  timeoutMs?: number;
  /** retries after the first attempt, on 408/409/429/5xx, timeouts and dropped connections */
  maxRetries?: number;
  /**
   * A request's timeout until the endpoint has answered once (default 30 s, capped at timeoutMs):
   * an endpoint that never answers fails in (maxRetries + 1) x this, and the other lists are
   * not attempted.
   */
  firstTimeoutMs?: number;
  /** the whole generation, every list and retry, ends by then (default 300 s, or timeoutMs if longer) */
  deadlineMs?: number;
}

export interface GenerateOptions extends LlmClientSettings {
  /** words asked for per list */
  count?: number;
  /** default: every list of the task */
  lists?: ListRef[];
  signal?: AbortSignal;
  onLog?: (msg: string) => void;
  /** after each list, success or not: drives a progress bar */
  onProgress?: (p: { done: number; total: number; list: ListRef }) => void;
  /** exponential backoff when the server gives no Retry-After (tests use a few ms) */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
}

export interface AddedWord {
  kind: WordListKind;
  name: string;
  text: string;
}

export interface ListError {
  kind: WordListKind;
  name: string;
  message: string;
}

export interface GenerateResult {
  /** the input lists with the new words appended (existing entries are the same objects, untouched) */
  words: WordLists;
  added: AddedWord[];
  errors: ListError[];
}

export type LlmErrorCode =
  | 'missing-key'
  | 'unreachable'
  | 'timeout'
  | 'auth'
  | 'not-found'
  | 'rate-limited'
  | 'server'
  | 'bad-request'
  | 'unparseable'
  | 'deadline'
  | 'bad-input';

export class LlmError extends Error {
  override name = 'LlmError';
  constructor(
    readonly code: LlmErrorCode,
    message: string,
    /** no point trying the remaining lists: every request would fail the same way */
    readonly fatal = false,
  ) {
    super(message);
  }
}

const MAX_WORD_CHARS = 60;
const MAX_WORD_TOKENS = 6;

export function missingKeyMessage(): string {
  return `No API key for the LLM endpoint. Set it with ${SETTING_HINTS.apiKey}. Local servers such as Ollama, LM Studio or llama.cpp accept any key (e.g. "local").`;
}

/**
 * Generates words for the requested lists. Throws an AbortError when cancelled (no partial
 * result), an LlmError for a missing key or bad list names; every other failure is
 * reported per list in `errors`.
 */
export async function generateWords(task: Task, words: WordLists, opts: GenerateOptions): Promise<GenerateResult> {
  throwIfAborted(opts.signal);
  const lists = opts.lists ?? allLists(task);
  for (const l of lists) {
    const names = l.kind === 'targets' ? task.classes : task.spurious.values;
    if (!names.includes(l.name))
      throw new LlmError(
        'bad-input',
        `"${l.name}" is not a ${l.kind === 'targets' ? 'class' : `value of ${task.spurious.name}`}; one of ${JSON.stringify(names)}.`,
      );
  }
  const apiKey = opts.apiKey?.trim();
  if (!apiKey) throw new LlmError('missing-key', missingKeyMessage(), true);
  const count = opts.count ?? DEFAULT_WORD_COUNT;
  if (!Number.isInteger(count) || count < 1) throw new LlmError('bad-input', `count must be a positive integer, got ${count}.`);

  const { baseURL, query } = parseBaseUrl(opts.baseURL);
  const client = makeClient(baseURL, query, apiKey, opts);
  const endpoint = `${baseURL}/chat/completions`;
  // Servers sometimes echo the key in error text; it must never reach a log or a message.
  const redact = (s: string) => (apiKey.length >= 4 ? s.split(apiKey).join('***') : s);
  const log = (m: string) => opts.onLog?.(redact(m));

  const seen = new Set<string>();
  for (const kind of ['targets', 'spurious'] as const)
    for (const list of Object.values(words[kind])) for (const w of list) seen.add(wordKey(w.text));

  const out: WordLists = { targets: { ...words.targets }, spurious: { ...words.spurious } };
  const added: AddedWord[] = [];
  const errors: ListError[] = [];
  // Learned once per run: an endpoint that refuses json_schema for one list refuses it for all,
  // and one that has answered once is up (its requests get the full timeout from then on).
  const state: RequestState = { format: 'json_schema', answered: false, endpoint };

  // One signal for the whole generation: the caller's cancel or the deadline. Each request gets
  // a child of it that dies with the request, so no listener piles up on the caller's signal
  // (the openai package adds one per request and never removes it).
  // never shorter than one request may take, so a raised timeout is not undone by the default
  const deadlineMs = opts.deadlineMs ?? Math.max(DEFAULT_DEADLINE_MS, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const run = linkedController(opts.signal);
  let deadlinePassed = false;
  const deadline = setTimeout(() => {
    deadlinePassed = true;
    run.controller.abort();
  }, deadlineMs);
  const signal = run.controller.signal;
  const reqOpts = { ...opts, signal };

  try {
    for (let i = 0; i < lists.length; i++) {
      const list = lists[i]!;
      if (deadlinePassed) {
        for (const rest of lists.slice(i))
          errors.push({ ...rest, message: `not attempted: the deadline of ${deadlineMs / 1000} s (${SETTING_HINTS.deadline}) passed` });
        break;
      }
      try {
        log(`${list.kind} / ${list.name}: asking ${opts.model} at ${baseURL} for ${count} words`);
        const raw = await requestWords(client, task, list, count, reqOpts, state, log);
        const fresh: WordEntry[] = [];
        for (const r of raw) {
          const text = normalizeWord(r, task.lowercaseWords);
          if (!text || text.length > MAX_WORD_CHARS || text.split(' ').length > MAX_WORD_TOKENS) continue;
          const key = wordKey(text);
          if (seen.has(key)) continue;
          seen.add(key);
          fresh.push({ text, source: 'llm' });
          if (fresh.length >= count) break;
        }
        if (raw.length > 0 && fresh.length === 0) log(`${list.kind} / ${list.name}: none of the ${raw.length} proposed words was new`);
        out[list.kind][list.name] = [...(words[list.kind][list.name] ?? []), ...fresh];
        for (const w of fresh) added.push({ kind: list.kind, name: list.name, text: w.text });
        log(`${list.kind} / ${list.name}: ${fresh.length} new words`);
      } catch (err) {
        if (opts.signal?.aborted) throw abortError();
        if (deadlinePassed) {
          const e = new LlmError(
            'deadline',
            `${endpoint} (model "${opts.model}"): no word list within the deadline of ${deadlineMs / 1000} s for the whole generation. Raise it (${SETTING_HINTS.deadline}), ask for fewer lists, or check the server.`,
          );
          errors.push({ ...list, message: e.message });
          log(`${list.kind} / ${list.name}: ${e.message}`);
          for (const rest of lists.slice(i + 1))
            errors.push({ ...rest, message: `not attempted: the deadline of ${deadlineMs / 1000} s passed` });
          break;
        }
        if (isAbortError(err)) throw abortError();
        const e = err instanceof LlmError ? err : toLlmError(err, baseURL, opts, state);
        errors.push({ ...list, message: redact(e.message) });
        log(`${list.kind} / ${list.name}: ${e.message}`);
        if (e.fatal) {
          for (const rest of lists.slice(i + 1)) errors.push({ ...rest, message: 'not attempted after the previous error' });
          break;
        }
      }
      opts.onProgress?.({ done: i + 1, total: lists.length, list });
    }
  } finally {
    clearTimeout(deadline);
    run.dispose();
  }
  throwIfAborted(opts.signal);
  return { words: out, added, errors };
}

interface RequestState {
  format: AnswerFormat;
  /** the endpoint has sent an HTTP answer (any status) during this generation */
  answered: boolean;
  endpoint: string;
}

/** A controller aborted when `parent` aborts; dispose() removes the one listener it put on parent. */
function linkedController(parent: AbortSignal | undefined): { controller: AbortController; dispose: () => void } {
  const controller = new AbortController();
  if (!parent) return { controller, dispose: () => {} };
  if (parent.aborted) {
    controller.abort();
    return { controller, dispose: () => {} };
  }
  const onAbort = () => controller.abort();
  parent.addEventListener('abort', onAbort, { once: true });
  return { controller, dispose: () => parent.removeEventListener('abort', onAbort) };
}

/**
 * Splits the base URL into the URL the client appends paths to and its query. Azure's
 * classic endpoints carry ?api-version=... there, which must follow /chat/completions.
 */
function parseBaseUrl(raw: string | undefined): { baseURL: string; query: Record<string, string> } {
  const text = raw?.trim() || DEFAULT_BASE_URL;
  let url: URL;
  try {
    url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new LlmError(
      'bad-input',
      `The base URL ${JSON.stringify(text)} is not an http(s) URL. Set it with ${SETTING_HINTS.baseUrl}, e.g. http://127.0.0.1:11434/v1 for Ollama.`,
      true,
    );
  }
  const query: Record<string, string> = {};
  url.searchParams.forEach((v, k) => (query[k] = v));
  url.search = '';
  url.hash = '';
  return { baseURL: url.toString().replace(/\/+$/, ''), query };
}

function makeClient(baseURL: string, query: Record<string, string>, apiKey: string, opts: GenerateOptions): OpenAI {
  // Azure wants the key in an api-key header (it also accepts Bearer on the v1 API).
  const defaultHeaders = /\.azure\.com$/i.test(new URL(baseURL).hostname) ? { 'api-key': apiKey } : undefined;
  return new OpenAI({
    baseURL,
    apiKey,
    defaultQuery: query,
    defaultHeaders,
    // Retries are ours (below): the package's backoff cannot be tuned and we also need
    // the response-format fallback between attempts.
    maxRetries: 0,
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    logLevel: 'off',
  });
}

function requestBody(p: Prompt, opts: LlmClientSettings, format: AnswerFormat): ChatCompletionCreateParamsNonStreaming {
  const body: ChatCompletionCreateParamsNonStreaming = {
    model: opts.model,
    messages: [
      { role: 'system', content: p.system },
      { role: 'user', content: p.user },
    ],
  };
  if (opts.temperature !== undefined) body.temperature = opts.temperature;
  if (format === 'json_schema') {
    body.response_format = {
      type: 'json_schema',
      json_schema: { name: WORD_LIST_SCHEMA_NAME, strict: true, schema: wordListJsonSchema as unknown as Record<string, unknown> },
    };
  } else if (format === 'json_object') {
    body.response_format = { type: 'json_object' };
  }
  return body;
}

const NEXT_FORMAT: Record<AnswerFormat, AnswerFormat | undefined> = { json_schema: 'json_object', json_object: 'text', text: undefined };

/** An endpoint that does not support the requested response_format (400/422 naming it). */
function refusesFormat(err: unknown): boolean {
  if (!(err instanceof OpenAI.APIError) || (err.status !== 400 && err.status !== 422)) return false;
  const text = `${err.message} ${err.param ?? ''} ${JSON.stringify(err.error ?? '')}`;
  return /response_format|json_schema|json_object|structured|schema|grammar/i.test(text);
}

async function requestWords(
  client: OpenAI,
  task: Task,
  list: ListRef,
  count: number,
  opts: GenerateOptions,
  state: RequestState,
  log: (m: string) => void,
): Promise<string[]> {
  return requestList(client, (format) => buildPrompt(task, list, count, format), `${list.kind} / ${list.name}`, opts, state, log);
}

/** One chat request for a list of strings, with the response-format fallback, timeouts and retries. */
async function requestList(
  client: OpenAI,
  prompt: (format: AnswerFormat) => Prompt,
  label: string,
  opts: GenerateOptions,
  state: RequestState,
  log: (m: string) => void,
): Promise<string[]> {
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const firstTimeout = Math.min(timeout, opts.firstTimeoutMs ?? DEFAULT_FIRST_TIMEOUT_MS);
  for (;;) {
    const format = state.format;
    let completion: OpenAI.Chat.Completions.ChatCompletion | string;
    try {
      completion = await withRetries(
        async () => {
          const req = linkedController(opts.signal);
          try {
            const c = await client.chat.completions.create(requestBody(prompt(format), opts, format), {
              signal: req.controller.signal,
              timeout: state.answered ? timeout : firstTimeout,
            });
            state.answered = true;
            return c;
          } catch (err) {
            if (err instanceof OpenAI.APIError && typeof err.status === 'number') state.answered = true;
            throw err;
          } finally {
            req.dispose();
          }
        },
        opts,
        log,
      );
    } catch (err) {
      const next = NEXT_FORMAT[format];
      if (next && refusesFormat(err)) {
        log(`the endpoint refused response_format ${format}; retrying with ${next === 'text' ? 'a plain-text list' : next}`);
        state.format = next;
        continue;
      }
      throw err;
    }
    const where = `${state.endpoint} (model "${opts.model}")`;
    const began = (text: string) => `; it began: ${JSON.stringify(text.trim().slice(0, 80))}`;
    // Not a chat completion at all: a body that is not JSON (the package hands it over as text).
    if (typeof completion === 'string' || !Array.isArray((completion as { choices?: unknown }).choices)) {
      const body = typeof completion === 'string' ? completion : JSON.stringify(completion);
      const html = looksLikeHtml(body);
      throw new LlmError(
        'unparseable',
        `${where} did not answer with a chat completion${html ? ' but with an HTML page' : ''}${body.trim() ? began(body) : ' (the body was empty)'}. Check the base URL (${SETTING_HINTS.baseUrl}; it usually ends in /v1).`,
        true,
      );
    }
    const choice = completion.choices[0];
    const content = choice?.message?.content ?? '';
    if (choice?.message?.refusal && !content.trim())
      throw new LlmError(
        'unparseable',
        `${where}: the model refused: ${choice.message.refusal}. Try again, or another model (${SETTING_HINTS.model}).`,
      );
    const reading = readWordAnswer(content);
    if (!reading.ok) {
      throw new LlmError(
        'unparseable',
        `${where}: the answer could not be read as a word list (${reading.why})${content.trim() ? began(content) : ''}. Nothing was written. Try again, or another model (${SETTING_HINTS.model}).`,
        reading.fatal ?? false,
      );
    }
    if (reading.dropped.length)
      log(
        `${label}: left out ${reading.dropped.length} items that are not words or short phrases (${JSON.stringify(reading.dropped[0]!.slice(0, 40))})`,
      );
    if (choice?.finish_reason === 'length') log(`${label}: the answer was cut off at the token limit; kept the complete words`);
    return reading.words;
  }
}

function isRetryable(err: unknown): boolean {
  if (err instanceof OpenAI.APIConnectionTimeoutError) return true;
  if (err instanceof OpenAI.APIConnectionError) return !isRefusedOrUnresolved(err);
  if (err instanceof OpenAI.APIError && typeof err.status === 'number')
    return err.status === 408 || err.status === 409 || err.status === 429 || err.status >= 500;
  return false;
}

function errnoCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
  }
  return undefined;
}

function isRefusedOrUnresolved(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH';
}

/** Retry-After (seconds or an HTTP date) or retry-after-ms, in ms; capped at a minute. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Math.min(Number(ms), 60_000));
  const ra = headers?.get('retry-after');
  if (!ra) return undefined;
  const secs = Number(ra);
  const wait = Number.isFinite(secs) ? secs * 1000 : Date.parse(ra) - now;
  return Number.isFinite(wait) ? Math.max(0, Math.min(wait, 60_000)) : undefined;
}

async function withRetries<T>(fn: () => Promise<T>, opts: GenerateOptions, log: (m: string) => void): Promise<T> {
  const maxRetries = opts.maxRetries ?? DEFAULT_MAX_RETRIES;
  const base = opts.retryBaseDelayMs ?? 500;
  const cap = opts.retryMaxDelayMs ?? 8_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (opts.signal?.aborted || err instanceof OpenAI.APIUserAbortError) throw abortError();
      if (attempt >= maxRetries || !isRetryable(err)) throw err;
      const headers = err instanceof OpenAI.APIError ? (err.headers as Headers | undefined) : undefined;
      const fromServer = retryAfterMs(headers);
      const delay = fromServer ?? Math.min(cap, base * 2 ** attempt) * (1 - Math.random() * 0.25);
      const what =
        err instanceof OpenAI.APIError && err.status
          ? `HTTP ${err.status}`
          : err instanceof OpenAI.APIConnectionTimeoutError
            ? 'timeout'
            : 'connection error';
      log(`${what}; retry ${attempt + 1} of ${maxRetries} in ${Math.round(delay)} ms${fromServer !== undefined ? ' (Retry-After)' : ''}`);
      await sleep(delay, opts.signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError());
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A message that says what went wrong and which setting fixes it. Never includes the key. */
function toLlmError(err: unknown, baseURL: string, opts: GenerateOptions, state: RequestState): LlmError {
  const url = `${baseURL}/chat/completions`;
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const first = Math.min(timeout, opts.firstTimeoutMs ?? DEFAULT_FIRST_TIMEOUT_MS);
    // Nothing has answered yet: the endpoint is down or stuck, and so would every other list be.
    if (!state.answered)
      return new LlmError(
        'timeout',
        `No answer from ${url} (model "${opts.model}") within ${first} ms, on any of ${(opts.maxRetries ?? DEFAULT_MAX_RETRIES) + 1} tries; the endpoint has answered no request. Check the server; if the model takes long to load, raise the first-request timeout (${SETTING_HINTS.firstTimeout}) or the timeout (${SETTING_HINTS.timeout}).`,
        true,
      );
    return new LlmError(
      'timeout',
      `No answer from ${url} within ${timeout} ms (after ${opts.maxRetries ?? DEFAULT_MAX_RETRIES} retries). Raise the timeout (${SETTING_HINTS.timeout}) or check the server.`,
    );
  }
  if (err instanceof OpenAI.APIConnectionError) {
    const code = errnoCode(err);
    return new LlmError(
      'unreachable',
      `Cannot reach the LLM endpoint ${baseURL}${code ? ` (${code})` : ''}. Check the base URL (${SETTING_HINTS.baseUrl}) and that the server is running.`,
      true,
    );
  }
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const detail = serverDetail(err);
    switch (err.status) {
      case 401:
      case 403:
        return new LlmError(
          'auth',
          `${url} rejected the API key (HTTP ${err.status}${detail}). Set the right key with ${SETTING_HINTS.apiKey}.`,
          true,
        );
      case 404:
        return /model/i.test(detail)
          ? new LlmError(
              'not-found',
              `Unknown model "${opts.model}" at ${baseURL} (HTTP 404${detail}). Set the model with ${SETTING_HINTS.model}; for Ollama, pull it first.`,
              true,
            )
          : new LlmError(
              'not-found',
              `${url} was not found (HTTP 404${detail}). Check the base URL (${SETTING_HINTS.baseUrl}; it usually ends in /v1) and the model "${opts.model}" (${SETTING_HINTS.model}).`,
              true,
            );
      case 429:
        return new LlmError(
          'rate-limited',
          `${url} is rate-limiting (HTTP 429${detail}) and still was after ${opts.maxRetries ?? DEFAULT_MAX_RETRIES} retries. Try again later.`,
        );
      default:
        if (err.status >= 500)
          return new LlmError(
            'server',
            `${url} failed with HTTP ${err.status}${detail} after ${opts.maxRetries ?? DEFAULT_MAX_RETRIES} retries. The server has a problem; try again later.`,
          );
        return new LlmError(
          'bad-request',
          `${url} refused the request (HTTP ${err.status}${detail}). Check the model "${opts.model}" (${SETTING_HINTS.model}).`,
        );
    }
  }
  return new LlmError('server', `The LLM request failed: ${err instanceof Error ? err.message : String(err)}`);
}

function serverDetail(err: InstanceType<typeof OpenAI.APIError>): string {
  // OpenAI nests {error: {message}}; some compatible servers send {error: "text"}.
  const e = err.error as { message?: unknown } | string | undefined;
  const msg = typeof e === 'string' ? e : typeof e?.message === 'string' ? e.message : '';
  return msg ? `: ${msg.slice(0, 200)}` : '';
}

/** New words grouped per list, the shape the document edit `addGeneratedWords` takes; errors worded for a person. */
export function groupAddedWords(result: GenerateResult): GeneratedWords {
  const out: GeneratedWords = {
    targets: {},
    spurious: {},
    errors: result.errors.map((e) => `${e.kind === 'targets' ? 'class' : 'value'} "${e.name}": ${e.message}`),
  };
  for (const a of result.added) (out[a.kind][a.name] ??= []).push(a.text);
  return out;
}

/** Concepts an LLM proposes as possible biases of each class (see prompts.ts, buildConceptPrompt). */
export interface ConceptResult {
  /** per class, cleaned and de-duplicated within the class */
  concepts: Record<string, string[]>;
  errors: string[];
}

export async function generateConcepts(classes: readonly string[], opts: GenerateOptions): Promise<ConceptResult> {
  throwIfAborted(opts.signal);
  const apiKey = opts.apiKey?.trim();
  if (!apiKey) throw new LlmError('missing-key', missingKeyMessage(), true);
  const count = opts.count ?? DEFAULT_CONCEPT_COUNT;
  const { baseURL, query } = parseBaseUrl(opts.baseURL);
  const client = makeClient(baseURL, query, apiKey, opts);
  const redact = (s: string) => (apiKey.length >= 4 ? s.split(apiKey).join('***') : s);
  const log = (m: string) => opts.onLog?.(redact(m));
  const state: RequestState = { format: 'json_schema', answered: false, endpoint: `${baseURL}/chat/completions` };
  const concepts: Record<string, string[]> = {};
  const errors: string[] = [];
  for (let i = 0; i < classes.length; i++) {
    const cls = classes[i]!;
    try {
      log(`concepts / ${cls}: asking ${opts.model} at ${baseURL} for ${count} concepts`);
      const raw = await requestList(
        client,
        (format) => buildConceptPrompt(classes, cls, count, format),
        `concepts / ${cls}`,
        opts,
        state,
        log,
      );
      const seen = new Set<string>();
      const out: string[] = [];
      for (const r of raw) {
        const text = normalizeWord(r, true);
        if (!text || text.length > MAX_WORD_CHARS || text.split(' ').length > MAX_WORD_TOKENS || seen.has(wordKey(text))) continue;
        seen.add(wordKey(text));
        out.push(text);
      }
      concepts[cls] = out;
    } catch (err) {
      if (isAbortError(err) || opts.signal?.aborted) throw abortError();
      const e = err instanceof LlmError ? err : toLlmError(err, baseURL, opts, state);
      errors.push(`concepts / ${cls}: ${redact(e.message)}`);
      if (e.fatal) break;
    }
  }
  throwIfAborted(opts.signal);
  return { concepts, errors };
}

const groupingAnswer = z.object({
  name: z.string().trim().min(1).max(60),
  values: z.array(z.object({ name: z.string().trim().min(1).max(60), words: z.array(z.string()) })).min(2),
});

/**
 * Asks the LLM to group ranked keywords into values of one spurious attribute. The answer is
 * parsed strictly: JSON of the asked shape, only keywords that were offered (matched up to case),
 * values that keep at least one keyword; anything else is an LlmError ('unparseable').
 */
export async function proposeGrouping(
  classes: readonly string[],
  ranked: Record<string, readonly string[]>,
  opts: LlmClientSettings & Pick<GenerateOptions, 'signal' | 'onLog' | 'retryBaseDelayMs' | 'retryMaxDelayMs'>,
): Promise<SpuriousGrouping> {
  throwIfAborted(opts.signal);
  const apiKey = opts.apiKey?.trim();
  if (!apiKey) throw new LlmError('missing-key', missingKeyMessage(), true);
  const { baseURL, query } = parseBaseUrl(opts.baseURL);
  const client = makeClient(baseURL, query, apiKey, opts);
  const log = (m: string) => opts.onLog?.(apiKey.length >= 4 ? m.split(apiKey).join('***') : m);
  const body = requestBody(buildGroupingPrompt(classes, ranked), opts, 'text');
  const state: RequestState = { format: 'text', answered: false, endpoint: `${baseURL}/chat/completions` };
  let content: string;
  try {
    const completion = await withRetries(() => client.chat.completions.create(body, { signal: opts.signal }), opts, log);
    content = completion.choices?.[0]?.message?.content ?? '';
  } catch (err) {
    if (isAbortError(err) || opts.signal?.aborted) throw abortError();
    throw err instanceof LlmError ? err : toLlmError(err, baseURL, opts, state);
  }
  const offered = new Map(
    Object.values(ranked)
      .flat()
      .map((w) => [wordKey(w), w] as const),
  );
  let json: unknown;
  try {
    json = JSON.parse((/```(?:json)?\s*([\s\S]*?)```/i.exec(content)?.[1] ?? content).trim());
  } catch {
    json = undefined;
  }
  const parsed = groupingAnswer.safeParse(json);
  const values = parsed.success
    ? parsed.data.values
        .map((v) => ({ name: v.name, words: [...new Set(v.words.map((w) => offered.get(wordKey(w))).filter((w): w is string => !!w))] }))
        .filter((v) => v.words.length > 0)
    : [];
  if (!parsed.success || values.length < 2)
    throw new LlmError(
      'unparseable',
      `The model's grouping could not be used (answer began: ${JSON.stringify(content.slice(0, 160))}). Group the keywords yourself, or try another model (${SETTING_HINTS.model}).`,
    );
  return { name: parsed.data.name, values };
}
