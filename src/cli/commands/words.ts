// `tldr-debias words EXP [--generate] ...`: list an experiment's words, or ask an LLM for more
// and add them to the experiment file as a minimal edit (only the added lines change).
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { addGeneratedWords, loadExperiment, writeExperimentText, type Experiment } from '../../experiment';
import type { WordListKind } from '../../protocol/events';
import { InputError } from '../../shared/errors';
import { allLists, renderPrompts, buildPrompt, DEFAULT_WORD_COUNT, type ListRef } from '../../llm/prompts';
import { generateWords, groupAddedWords, LlmError } from '../../llm/generate';
import { EXIT, UsageError, cliLlmSettings, type CliIo } from '../io';

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
  --first-timeout S   seconds per request until the endpoint has answered once
                      (default 30, at most --timeout): a server that never answers
                      fails in (retries + 1) x this, and no other list is tried
  --deadline S        seconds for the whole generation, every list and retry
                      (default 300, or --timeout if longer); lists not done
                      by then are reported
  --temperature T     sampling temperature (default: the server's)
  --max-retries N     retries on 429, 5xx and timeouts (default 2)

The API key comes from OPENAI_API_KEY (local servers accept any key). Only answers that
are the requested JSON or a plain list of short phrases are taken; anything else is an
error naming the endpoint and the model, and EXP is not touched.
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
  'first-timeout': { type: 'string' },
  deadline: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function wordsCommand(argv: string[], io: CliIo): Promise<number> {
  const line = (write: (s: string) => void) => (s: string) => write(s.endsWith('\n') ? s : s + '\n');
  const out = line(io.stdout);
  const err = line(io.stderr);
  let args;
  try {
    args = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${WORDS_USAGE}`);
  }
  const v = args.values;
  if (v.help) return (out(WORDS_USAGE), EXIT.ok);
  if (args.positionals.length !== 1)
    throw new UsageError(`Expected one experiment file, got ${args.positionals.length}.\n\n${WORDS_USAGE}`);
  const loaded = loadExperiment(path.resolve(args.positionals[0]!));
  const { file, experiment: exp } = loaded;
  const lists = selectLists(exp, v.list);
  const count = v.count === undefined ? DEFAULT_WORD_COUNT : Number(v.count);
  if (!Number.isInteger(count) || count < 1 || count > 1000)
    throw new UsageError(`--count must be an integer from 1 to 1000, got ${JSON.stringify(v.count)}.`);

  if (v['show-prompt']) {
    if (v.json) out(JSON.stringify({ prompts: lists.map((l) => ({ ...l, ...buildPrompt(exp.task, l, count) })) }, null, 2));
    else out(renderPrompts(exp.task, lists, count));
    return EXIT.ok;
  }
  if (!v.generate) {
    printWords(exp, lists, !!v.json, out);
    return EXIT.ok;
  }

  const settings = cliLlmSettings(
    {
      baseUrl: v['base-url'],
      model: v.model,
      timeout: v.timeout,
      temperature: v.temperature,
      maxRetries: v['max-retries'],
      firstTimeout: v['first-timeout'],
      deadline: v.deadline,
    },
    io.env,
  );
  let result;
  try {
    result = await generateWords(exp.task, exp.words, {
      ...settings,
      count,
      lists,
      signal: io.signal,
      onLog: (m) => err(`tldr: ${m}`),
      retryBaseDelayMs: io.retryBaseDelayMs,
    });
  } catch (e) {
    if (e instanceof LlmError) {
      err(e.message);
      return e.code === 'missing-key' || e.code === 'bad-input' ? EXIT.usage : EXIT.failed;
    }
    throw e; // a cancel becomes exit 130 in main; the file was not touched
  }

  let written = false;
  let writeError: string | undefined;
  if (result.added.length > 0) {
    // The document edit the editor uses: the new entries are appended in the file's own style.
    const { text } = addGeneratedWords(loaded.text, groupAddedWords(result));
    try {
      await writeExperimentText(file, text, loaded.text);
      written = true;
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      writeError = e.message; // the file changed meanwhile, or is not writable: the words are printed below
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
  return result.errors.length || writeError ? EXIT.failed : EXIT.ok;
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
