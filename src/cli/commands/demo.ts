// `tldr-debias demo [--out DIR] [--seeds N] [--no-run] [--json]`: the offline demo world end to
// end: writes the images, models, words and experiment into DIR, runs TLDR once per seed and
// prints per-group accuracy of the ERM head, the TLDR head and the DFR reference.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createDemo, runExperiment } from '../../engine/api';
import type { RunSummary } from '../../protocol/events';
import { EXIT, eventPrinter, printRun, type CliIo } from '../io';

export const DEMO_USAGE = `Usage: tldr-debias demo [--out DIR] [--seeds N] [--no-run] [--json]

Writes the demo world (generated birds on land and water scenes, a tiny CLIP and a tiny
classifier that leans on the background) into DIR (default ./tldr-demo) and runs TLDR on it.
An existing demo in DIR is kept as it is (it may hold your edits).
  --seeds N   run N times with seeds 0..N-1 and report the mean worst-group accuracy
  --no-run    write the demo and stop (open DIR/demo.tldr.json in VS Code, or tldr-debias run it)
  --json      one JSON event per line on stdout; the last is {"type":"demo-result",...}
`;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

const HEADS = ['erm', 'tldr', 'dfr', 'clipZeroShot'] as const;
type Head = (typeof HEADS)[number];

export function worstGroupSummary(runs: RunSummary[]): Record<Head, { mean: number; sd: number; values: number[] } | undefined> {
  const pick = (h: Head) => {
    const values = runs.map((r) => r.metrics.test?.[h]?.worstGroup).filter((v): v is number => v !== undefined);
    return values.length ? { mean: mean(values), sd: sd(values), values } : undefined;
  };
  return Object.fromEntries(HEADS.map((h) => [h, pick(h)])) as Record<Head, ReturnType<typeof pick>>;
}

export async function demoCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      seeds: { type: 'string' },
      'no-run': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return (io.stdout(DEMO_USAGE), EXIT.ok);
  const seeds = values.seeds === undefined ? 1 : Number(values.seeds);
  if (!Number.isInteger(seeds) || seeds < 1) return (io.stderr(`--seeds must be a whole number >= 1\n\n${DEMO_USAGE}`), EXIT.usage);
  const json = !!values.json;
  const print = eventPrinter(io, json);
  const t0 = performance.now();
  const file = await createDemo(path.resolve(values.out ?? 'tldr-demo'), { onEvent: print, signal: io.signal });
  if (values['no-run']) {
    if (json) io.stdout(JSON.stringify({ type: 'demo-written', experiment: file }) + '\n');
    else io.stdout(`Experiment: ${file}\nRun it with: tldr-debias run ${file}\n`);
    return EXIT.ok;
  }
  const runs: RunSummary[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    if (!json) io.stderr(`\n— run ${seed + 1} of ${seeds} (seed ${seed})\n`);
    const summary = await runExperiment(file, { onEvent: print, signal: io.signal, seed });
    runs.push(summary);
    if (summary.status !== 'succeeded') return summary.status === 'cancelled' ? EXIT.cancelled : EXIT.failed;
  }
  const seconds = (performance.now() - t0) / 1000;
  const worst = worstGroupSummary(runs);
  if (json) {
    io.stdout(
      JSON.stringify({
        type: 'demo-result',
        experiment: file,
        seconds,
        worstGroup: worst,
        runs: runs.map((r) => ({ runId: r.runId, runDir: r.runDir, metrics: r.metrics, selection: r.selection, warnings: r.warnings })),
      }) + '\n',
    );
    return EXIT.ok;
  }
  printRun(io, runs[runs.length - 1]);
  const fmt = (w?: { mean: number; sd: number }) =>
    w ? `${(w.mean * 100).toFixed(1)}%${seeds > 1 ? ` ± ${(w.sd * 100).toFixed(1)}` : ''}` : '–';
  const dfrGroups = runs.at(-1)?.metrics.test?.dfrGroups;
  io.stdout(
    `\nTest worst-group accuracy${seeds > 1 ? ` (mean of ${seeds} seeds)` : ''}: ERM ${fmt(worst.erm)}, TLDR ${fmt(worst.tldr)}, DFR${dfrGroups === 'pseudo-groups' ? ' (pseudo-groups)' : ''} ${fmt(worst.dfr)}, CLIP zero-shot ${fmt(worst.clipZeroShot)}\n`,
  );
  const chosen = runs.map((r) => r.selection?.chosen).filter((c) => !!c);
  if (chosen.length)
    io.stdout(`Chosen per seed (lambda, weight decay): ${chosen.map((c) => `(${c.lambda}, ${c.weightDecay})`).join(', ')}\n`);
  io.stdout(`Experiment: ${file}\nLast run: ${runs[runs.length - 1].runDir}\nTotal time: ${seconds.toFixed(1)} s\n`);
  return EXIT.ok;
}
