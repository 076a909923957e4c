// `tldr-debias run EXP [--json] [--threads N]`: the whole pipeline; prints the per-group table.
import { parseArgs } from 'node:util';
import { runExperiment } from '../../engine/api';
import { EXIT, THREADS_HELP, threadsOption, eventPrinter, printRun, signalName, slurmThreads, type CliIo } from '../io';

export const RUN_USAGE = `Usage: tldr-debias run EXP [--json] [--threads N]

Runs TLDR on the experiment file EXP: encode images, modality gap, projector, score words,
text set, retrain the last layer, evaluate, export. The run folder is .tldr/runs/<id>/ beside EXP.
  --json   one JSON event per line on stdout; the last is {"type":"result",...}
${THREADS_HELP}
`;

export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean' }, threads: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) return (io.stdout(RUN_USAGE), EXIT.ok);
  if (positionals.length !== 1) return (io.stderr(RUN_USAGE), EXIT.usage);
  // inside a Slurm job (the run step of `tldr-debias slurm`), run.json records the job id
  const jobId = io.env.SLURM_JOB_ID;
  const summary = await runExperiment(positionals[0], {
    ...slurmThreads(io.env),
    ...threadsOption(values.threads),
    onEvent: eventPrinter(io, !!values.json),
    signal: io.signal,
    ...(jobId ? { job: { scheduler: 'slurm' as const, id: jobId } } : {}),
  });
  if (!values.json) {
    printRun(io, summary);
    io.stdout(`\nrun ${summary.status}: ${summary.runDir}\n`);
  }
  if (summary.status === 'cancelled')
    io.stderr(
      `Cancelled${signalName(io)}: the run ${summary.runId} is recorded as cancelled; the cache keeps every finished batch, so the next run resumes from it.\n`,
    );
  return summary.status === 'succeeded' ? EXIT.ok : summary.status === 'cancelled' ? EXIT.cancelled : EXIT.failed;
}
