// `tldr-debias runs EXP [--json]`: the runs of an experiment, newest first, with their status as
// readers see it (a run whose process is gone from this host is `interrupted`).
import { parseArgs } from 'node:util';
import { listRuns } from '../../engine/api';
import { EXIT, UsageError, type CliIo } from '../io';

export const RUNS_USAGE = `Usage: tldr-debias runs EXP [--json]

Lists the runs of the experiment file EXP (.tldr/runs/ beside it), newest first: id, status,
start time and worst-group accuracy (original -> TLDR). A run whose process ended without
recording how (killed, crashed) is shown as interrupted; runs in progress are not listed.
  --json   the list as JSON on stdout
`;

export async function runsCommand(argv: string[], io: CliIo): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${RUNS_USAGE}`);
  }
  if (args.values.help) return (io.stdout(RUNS_USAGE), EXIT.ok);
  if (args.positionals.length !== 1) return (io.stderr(RUNS_USAGE), EXIT.usage);
  const runs = await listRuns(args.positionals[0]!);
  if (args.values.json) {
    io.stdout(JSON.stringify(runs, null, 2) + '\n');
    return EXIT.ok;
  }
  if (runs.length === 0) io.stdout('No finished runs.\n');
  const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : 'n/a');
  for (const r of runs) {
    const wg = r.worstGroup ? `  worst-group ${r.worstGroup.split} ${pct(r.worstGroup.erm)} -> ${pct(r.worstGroup.tldr)}` : '';
    io.stdout(`${r.runId}  ${r.status.padEnd(11)}  ${r.startedAt}${wg}\n`);
  }
  return EXIT.ok;
}
