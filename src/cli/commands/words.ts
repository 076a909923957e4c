// `tldr-debias words EXP [--generate] ...`: list an experiment's words, or ask an LLM for
// more and write them into the experiment file. Exit codes: 0 ok, 1 a request or write
// failed, 2 bad input or usage, 130 cancelled.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { experimentSchema, type Experiment, type WordListKind } from '../../experiment/schema';
import { describeIssues } from '../../experiment/parse';
import { writeJsonAtomic } from '../../shared/atomicWrite';
import { isAbortError } from '../../shared/errors';
import { allLists, renderPrompts, buildPrompt, DEFAULT_WORD_COUNT, type ListRef } from '../../llm/prompts';
import { generateWords, LlmError, type GenerateResult } from '../../llm/generate';
import { resolveCliLlmSettings, ConfigError, type Env } from '../../llm/config';

export interface WordsCommandIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** default process.env */
  env?: Env;
  /** cancels generation; without it, Ctrl-C (SIGINT) does */
  signal?: AbortSignal;
  /** backoff between retries when the server sends no Retry-After (tests shorten it) */
  retryBaseDelayMs?: number;
}

export const WORDS_USAGE = `Usage: tldr-debias words EXP [options]

Lists the word lists of the experiment file EXP, or with --generate asks an LLM
(OpenAI or any OpenAI-compatible server) for more and adds them to EXP.

  --generate          ask the LLM for words and write the new ones into EXP
  --count N           words asked for per list (default ${DEFAULT_WORD_COUNT})
  --list NAME         only this list (a class or spurious value; prefix with
                      targets: or spurious: if a name is both); repeatable
  --json              machine-readable output on stdout
  --show-prompt       print the prompts that would be sent, and exit
  --base-url URL      endpoint (default OPENAI_BASE_URL, else https://api.openai.com/v1)
  --model M           model (default TLDR_LLM_MODEL, else gpt-4o-mini)
  --timeout S         seconds per request (default 60)
  --temperature T     sampling temperature (default: the server's)
  --max-retries N     retries on 429, 5xx and timeouts (default 2)

The API key comes from OPENAI_API_KEY (local servers accept any key).
Exit codes: 0 ok, 1 a request or the write failed, 2 bad input, 130 cancelled.
`;

const options = {
  generate: { type: 'boolean' },
  count: { type: 'string' },
  list: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  'show-prompt': { type: 'boolean' },
  'base-url': { type: 'string' },
  model: { type: 'string' },
  timeout: { type: 'string' },
  temperature: { type: 'string' },
  'max-retries': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

export async function runWordsCommand(argv: string[], io: WordsCommandIo): Promise<number> {
  const line = (write: (s: string) => void) => (s: string) => write(s.endsWith('\n') ? s : s + '\n');
  const out = line(io.stdout);
  const err = line(io.stderr);
  try {
    return await run(argv, io, out, err);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) {
      err(e.message);
      return 2;
    }
    throw e;
  }
}

async function run(argv: string[], io: WordsCommandIo, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let args: ReturnType<typeof parseArgs<{ args: string[]; options: typeof options; allowPositionals: true; strict: true }>>;
  try {
    args = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${WORDS_USAGE}`);
  }
  const v = args.values;
  if (v.help) {
    out(WORDS_USAGE);
    return 0;
  }
  if (args.positionals.length !== 1)
    throw new UsageError(`Expected one experiment file, got ${args.positionals.length}.\n\n${WORDS_USAGE}`);
  const file = path.resolve(args.positionals[0]!);

  const loaded = readExperiment(file);
  if ('error' in loaded) {
    err(loaded.error);
    return 2;
  }
  const { text: originalText, raw, exp } = loaded;
  const lists = selectLists(exp, v.list);
  const count = v.count === undefined ? DEFAULT_WORD_COUNT : Number(v.count);
  if (!Number.isInteger(count) || count < 1 || count > 1000)
    throw new UsageError(`--count must be an integer from 1 to 1000, got ${JSON.stringify(v.count)}.`);

  if (v['show-prompt']) {
    if (v.json) out(JSON.stringify({ prompts: lists.map((l) => ({ ...l, ...buildPrompt(exp.task, l, count) })) }, null, 2));
    else out(renderPrompts(exp.task, lists, count));
    return 0;
  }
  if (!v.generate) {
    printWords(exp, lists, !!v.json, out);
    return 0;
  }

  const settings = resolveCliLlmSettings(
    { baseUrl: v['base-url'], model: v.model, timeout: v.timeout, temperature: v.temperature, maxRetries: v['max-retries'] },
    io.env ?? process.env,
  );
  const { signal, dispose } = cancellation(io.signal);
  let result: GenerateResult;
  try {
    result = await generateWords(exp.task, exp.words, {
      ...settings,
      count,
      lists,
      signal,
      onLog: (m) => err(`tldr: ${m}`),
      retryBaseDelayMs: io.retryBaseDelayMs,
    });
  } catch (e) {
    if (isAbortError(e)) {
      err('Cancelled; the experiment file was not changed.');
      return 130;
    }
    if (e instanceof LlmError) {
      err(e.message);
      return e.code === 'missing-key' || e.code === 'bad-input' ? 2 : 1;
    }
    throw e;
  } finally {
    dispose();
  }

  let written = false;
  let writeError: string | undefined;
  if (result.added.length > 0) {
    // The editor may have saved the file while we waited on the LLM: never clobber that.
    const now = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    if (now !== originalText) {
      writeError = `${file} changed while the words were being generated; it was not written. Run the command again.`;
    } else {
      const rawWords = (raw as { words: Record<WordListKind, Record<string, unknown[]>> }).words;
      for (const a of result.added) rawWords[a.kind][a.name]!.push({ text: a.text, source: 'llm' });
      try {
        await writeJsonAtomic(file, raw);
        written = true;
      } catch (e) {
        writeError = `Cannot write ${file}: ${(e as Error).message}`;
      }
    }
  }

  if (v.json) {
    out(JSON.stringify({ file, written, added: result.added, errors: result.errors, ...(writeError ? { writeError } : {}) }, null, 2));
  } else {
    if (result.added.length === 0)
      out(result.errors.length ? 'No words added.' : 'No new words: everything the model proposed is already in the experiment.');
    else out(`${written ? 'Added' : 'Generated (not written)'} ${result.added.length} words${written ? ` to ${file}` : ''}:`);
    for (const l of lists) {
      const got = result.added.filter((a) => a.kind === l.kind && a.name === l.name).map((a) => a.text);
      if (got.length) out(`  ${l.kind} / ${l.name} (+${got.length}): ${got.join(', ')}`);
    }
  }
  for (const e of result.errors) err(`${e.kind} / ${e.name}: ${e.message}`);
  if (writeError) err(writeError);
  return result.errors.length || writeError ? 1 : 0;
}

function readExperiment(file: string): { error: string } | { text: string; raw: unknown; exp: Experiment } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return {
      error: `${file}: cannot read the experiment file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Check the path.`,
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { error: `${file}: not valid JSON (${(e as Error).message}). Fix the syntax, e.g. a missing comma or quote.` };
  }
  const parsed = experimentSchema.safeParse(raw);
  if (!parsed.success) return { error: describeIssues(file, parsed.error) };
  return { text, raw, exp: parsed.data };
}

function selectLists(exp: Experiment, names: string[] | undefined): ListRef[] {
  const every = allLists(exp.task);
  if (!names?.length) return every;
  const picked: ListRef[] = [];
  for (const n of names) {
    const m = /^(targets|spurious):(.+)$/.exec(n);
    const matches = every.filter((l) => (m ? l.kind === m[1] && l.name === m[2] : l.name === n));
    if (matches.length === 0)
      throw new UsageError(`--list ${JSON.stringify(n)}: no such list. Lists: ${every.map((l) => `${l.kind}:${l.name}`).join(', ')}.`);
    if (matches.length > 1)
      throw new UsageError(`--list ${JSON.stringify(n)} is both a class and a spurious value: write targets:${n} or spurious:${n}.`);
    if (!picked.some((p) => p.kind === matches[0]!.kind && p.name === matches[0]!.name)) picked.push(matches[0]!);
  }
  return picked;
}

function printWords(exp: Experiment, lists: ListRef[], json: boolean, out: (s: string) => void): void {
  if (json) {
    const sel: Record<WordListKind, Record<string, unknown>> = { targets: {}, spurious: {} };
    for (const l of lists) sel[l.kind][l.name] = exp.words[l.kind][l.name];
    out(JSON.stringify(sel, null, 2));
    return;
  }
  for (const l of lists) {
    const ws = exp.words[l.kind][l.name] ?? [];
    out(`${l.kind} / ${l.name} (${ws.length} words)`);
    for (const w of ws) out(`  ${w.text}${w.source === 'llm' ? '' : '  [user]'}${w.locked ? '  [locked]' : ''}`);
  }
}

function cancellation(external?: AbortSignal): { signal: AbortSignal; dispose: () => void } {
  if (external) return { signal: external, dispose: () => {} };
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  return { signal: ac.signal, dispose: () => process.removeListener('SIGINT', onSigint) };
}
