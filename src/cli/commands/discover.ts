// `tldr-debias discover EXP`: which concepts the classifier leans on, ranked per class by the
// B2T score on val (misclassified vs correctly classified images), with bootstrap intervals.
// `--apply` writes a grouping of keywords into the experiment as the spurious attribute.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { discoverBiases, lastDiscovery } from '../../engine/api';
import { applySpuriousGrouping, loadExperiment, writeExperimentText } from '../../experiment';
import type { Discovery } from '../../protocol/discover';
import { generateConcepts, LlmError, proposeGrouping } from '../../llm/generate';
import { EXIT, UsageError, cliLlmSettings, eventPrinter, type CliIo } from '../io';

export const DISCOVER_USAGE = `Usage: tldr-debias discover EXP [options]
       tldr-debias discover EXP --propose [--top K]
       tldr-debias discover EXP --apply --attribute NAME --value V1=w1,w2 --value V2=w3,w4

Ranks candidate keywords per class by how much more CLIP matches them to the val images the
classifier gets wrong than to those it gets right (the B2T score), with a 95% bootstrap
interval. Needs class labels on val only. The result is kept in .tldr/discover/<id>.json.
Candidates: your --words, an LLM's proposals (when OPENAI_API_KEY is set), and a built-in list
of common visual concepts.

  --words W1,W2,...   your own candidate keywords (repeatable)
  --no-llm            do not ask the LLM for candidates
  --no-builtin        do not score the built-in list
  --top K             keywords shown per class (default 10)
  --seed N            bootstrap seed (default settings.seed)
  --json              one JSON event per line on stdout, then {"type":"discovery",...}
  --base-url URL, --model M, --timeout S   the LLM endpoint (as for 'words --generate')

--propose asks the LLM to group the last discovery's top K keywords per class (those whose
interval is above 0) into values of one attribute, and prints the grouping as an --apply
command line to edit and run; nothing is written.

--apply writes the grouping into EXP as a minimal edit: task.spurious (NAME and the values),
one anchor prompt per value, and each value's keywords as its spurious words; nothing else in
the file changes. Then run 'tldr-debias run EXP' as usual.
  --attribute NAME    the spurious attribute, e.g. background
  --value V=W1,W2     a value and its keywords (at least two --value)
`;

const options = {
  words: { type: 'string', multiple: true },
  'no-llm': { type: 'boolean' },
  'no-builtin': { type: 'boolean' },
  top: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  apply: { type: 'boolean' },
  propose: { type: 'boolean' },
  attribute: { type: 'string' },
  value: { type: 'string', multiple: true },
  'base-url': { type: 'string' },
  model: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const splitWords = (lists: string[] | undefined) =>
  (lists ?? [])
    .flatMap((l) => l.split(','))
    .map((w) => w.trim())
    .filter(Boolean);

const f = (v: number) => (v >= 0 ? ' ' : '') + v.toFixed(4);

/** The ranked table: per class, the counts, then rank, score, interval, keyword and its sources. */
export function formatDiscovery(d: Discovery, top: number): string {
  const lines: string[] = [];
  const pct = Math.round(d.bootstrap.level * 100);
  for (const c of d.classes) {
    lines.push(`\nclass ${c.class}: ${c.misclassified} misclassified / ${c.correct} correct val images`);
    if (c.note) {
      lines.push(`  (${c.note})`);
      continue;
    }
    lines.push(`  rank  score    ${pct}% interval       keyword (sources)`);
    c.keywords.slice(0, top).forEach((k, i) => {
      const ci = `[${f(k.ci[0])}, ${f(k.ci[1])}]`;
      lines.push(`  ${String(i + 1).padStart(4)}  ${f(k.score)}  ${ci.padEnd(19)}  ${k.keyword} (${k.sources.join(', ')})`);
    });
  }
  for (const w of d.warnings) lines.push(`\nwarning: ${w}`);
  const scored = d.classes[0]?.keywords.length ?? 0;
  lines.push(
    `\n${scored} keywords scored${d.skipped.length ? `, ${d.skipped.length} skipped (unknown to the CLIP tokenizer)` : ''}; ` +
      `score = mean CLIP similarity to misclassified - to correct images; an interval above 0 is a signal, one across 0 may be noise.`,
  );
  return lines.join('\n') + '\n';
}

function parseValues(raw: string[] | undefined): { name: string; words: string[] }[] {
  return (raw ?? []).map((v) => {
    const m = /^([^=]+)=(.*)$/.exec(v);
    if (!m) throw new UsageError(`--value ${JSON.stringify(v)}: write VALUE=word1,word2.`);
    return { name: m[1]!.trim(), words: splitWords([m[2]!]) };
  });
}

export async function discoverCommand(argv: string[], io: CliIo): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${DISCOVER_USAGE}`);
  }
  const v = args.values;
  if (v.help) return (io.stdout(DISCOVER_USAGE), EXIT.ok);
  if (args.positionals.length !== 1)
    throw new UsageError(`Expected one experiment file, got ${args.positionals.length}.\n\n${DISCOVER_USAGE}`);
  const file = path.resolve(args.positionals[0]!);

  if (v.apply) {
    if (!v.attribute) throw new UsageError('--apply needs --attribute NAME.');
    const loaded = loadExperiment(file);
    let text: string;
    try {
      text = applySpuriousGrouping(loaded.text, { name: v.attribute, values: parseValues(v.value) });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    await writeExperimentText(file, text, loaded.text);
    loadExperiment(file); // the written file must still read as an experiment
    if (v.json) io.stdout(JSON.stringify({ type: 'applied', file }) + '\n');
    else io.stdout(`Wrote the spurious attribute "${v.attribute}" into ${file}. Next: tldr-debias score ${args.positionals[0]} and run.\n`);
    return EXIT.ok;
  }

  const top = v.top === undefined ? 10 : Number(v.top);
  if (!Number.isInteger(top) || top < 1) throw new UsageError(`--top must be a positive integer, got ${JSON.stringify(v.top)}.`);

  if (v.propose) {
    const last = lastDiscovery(file);
    if (!last) throw new UsageError(`No discovery of ${file} yet: run 'tldr-debias discover ${args.positionals[0]}' first.`);
    const settings = cliLlmSettings({ baseUrl: v['base-url'], model: v.model, timeout: v.timeout }, io.env);
    const ranked = Object.fromEntries(
      last.discovery.classes.map((c) => [
        c.class,
        c.keywords
          .filter((k) => k.ci[0] > 0)
          .slice(0, top)
          .map((k) => k.keyword),
      ]),
    );
    let grouping;
    try {
      grouping = await proposeGrouping(
        last.discovery.classes.map((c) => c.class),
        ranked,
        { ...settings, signal: io.signal, retryBaseDelayMs: io.retryBaseDelayMs },
      );
    } catch (e) {
      if (!(e instanceof LlmError)) throw e;
      io.stderr(`error: ${e.message}\n`);
      return e.code === 'missing-key' ? EXIT.usage : EXIT.failed;
    }
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const cmd = [
      'tldr-debias discover',
      q(args.positionals[0]!),
      '--apply --attribute',
      q(grouping.name),
      ...grouping.values.map((g) => `--value ${q(`${g.name}=${g.words.join(',')}`)}`),
    ].join(' ');
    if (v.json) io.stdout(JSON.stringify({ type: 'grouping', grouping, apply: cmd }) + '\n');
    else
      io.stdout(
        `Proposed attribute "${grouping.name}":\n${grouping.values.map((g) => `  ${g.name}: ${g.words.join(', ')}`).join('\n')}\n\nEdit and run:\n  ${cmd}\n`,
      );
    return EXIT.ok;
  }
  const seed = v.seed === undefined ? undefined : Number(v.seed);
  if (seed !== undefined && !Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got ${JSON.stringify(v.seed)}.`);
  const note = (m: string) =>
    v.json ? io.stdout(JSON.stringify({ type: 'log', level: 'info', message: m }) + '\n') : io.stderr(`  ${m}\n`);

  let llmWords: string[] = [];
  if (!v['no-llm']) {
    const exp = loadExperiment(file).experiment;
    const settings = cliLlmSettings({ baseUrl: v['base-url'], model: v.model, timeout: v.timeout }, io.env);
    if (!settings.apiKey)
      note('LLM candidates skipped: no OPENAI_API_KEY (local servers accept any key). The built-in list and --words are scored.');
    else {
      try {
        const r = await generateConcepts(exp.task.classes, {
          ...settings,
          signal: io.signal,
          onLog: (m) => note(`llm: ${m}`),
          retryBaseDelayMs: io.retryBaseDelayMs,
        });
        llmWords = Object.values(r.concepts).flat();
        for (const e of r.errors) note(`LLM candidates incomplete: ${e}`);
      } catch (e) {
        if (!(e instanceof LlmError)) throw e;
        note(`LLM candidates skipped: ${e.message}`);
      }
    }
  }
  const { path: out, discovery } = await discoverBiases(file, {
    words: splitWords(v.words),
    llmWords,
    builtin: !v['no-builtin'],
    seed,
    onEvent: eventPrinter(io, !!v.json),
    signal: io.signal,
  });
  if (v.json) io.stdout(JSON.stringify({ type: 'discovery', path: out, discovery }) + '\n');
  else io.stdout(formatDiscovery(discovery, top) + `\nKept in ${out}\n`);
  return EXIT.ok;
}
