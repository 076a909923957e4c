// `tldr-debias run EXP [--json]`: the whole pipeline; prints the per-group table.
import { parseArgs } from 'node:util';
import { runExperiment } from '../../engine/api';
import { EXIT, eventPrinter, slurmThreads, printRun, type CliIo } from '../io';

export const RUN_USAGE = `Usage: tldr-debias run EXP [--json]

Runs TLDR on the experiment file EXP: encode images, modality gap, projector, score words,
text set, retrain the last layer, evaluate, export. The run folder is .tldr/runs/<id>/ beside EXP.
  --json   one JSON event per line on stdout; the last is {"type":"result",...}
`;

export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) return (io.stdout(RUN_USAGE), EXIT.ok);
  if (positionals.length !== 1) return (io.stderr(RUN_USAGE), EXIT.usage);
  // inside a Slurm job (the run step of `tldr-debias slurm`), run.json records the job id
  const jobId = io.env.SLURM_JOB_ID;
  const summary = await runExperiment(positionals[0], {
    onEvent: eventPrinter(io, !!values.json),
    signal: io.signal,
    ...(jobId ? { job: { scheduler: 'slurm' as const, id: jobId } } : {}),
    ...slurmThreads(io.env),
  });
  if (!values.json) {
    printRun(io, summary);
    io.stdout(`\nrun ${summary.status}: ${summary.runDir}\n`);
  }
  return summary.status === 'succeeded' ? EXIT.ok : summary.status === 'cancelled' ? EXIT.cancelled : EXIT.failed;
}
