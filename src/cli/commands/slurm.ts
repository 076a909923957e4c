// `tldr-debias slurm EXP --tasks N`: submit the experiment to Slurm as an array of N encode
// shards and a run job that waits for them; --dry-run prints the scripts instead.
import { parseArgs } from 'node:util';
import { slurmDryRun, submitSlurm } from '../../engine/api';
import { EXIT, UsageError, type CliIo } from '../io';

export const SLURM_USAGE = `Usage: tldr-debias slurm EXP --tasks N [--partition P] [--time T] [--cpus-per-task C] [--dry-run] [--json]

Submits the experiment file EXP to Slurm with sbatch: an array job of N tasks, each running
'tldr-debias encode EXP --shard slurm' (one Nth of the images into the shared cache), then a job
running 'tldr-debias run EXP' that starts when every task succeeded (--dependency=afterok) and is
cancelled if one fails. Scripts and logs go to .tldr/slurm/<id>/ beside EXP; the nodes must see
that folder, the cache and the images at the same paths (a shared filesystem). The jobs call this
same Node binary and CLI by absolute path.
  --tasks N            array tasks (shards)
  --partition P        sbatch --partition (default: the cluster's default partition)
  --time T             sbatch --time per job, e.g. 1:00:00
  --cpus-per-task C    sbatch --cpus-per-task per job
  --dry-run            print the two job scripts; submit nothing
  --json               print the submission as JSON
`;

export async function slurmCommand(argv: string[], io: CliIo, cli: { node: string; script: string }): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      tasks: { type: 'string' },
      partition: { type: 'string' },
      time: { type: 'string' },
      'cpus-per-task': { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) return (io.stdout(SLURM_USAGE), EXIT.ok);
  if (positionals.length !== 1) return (io.stderr(SLURM_USAGE), EXIT.usage);
  if (!values.tasks) throw new UsageError(`slurm needs --tasks N (the number of array tasks).\n\n${SLURM_USAGE}`);
  const num = (flag: string, v: string) => {
    if (!/^\d+$/.test(v)) throw new UsageError(`--${flag} "${v}": expected a whole number.`);
    return Number(v);
  };
  const opts = {
    tasks: num('tasks', values.tasks),
    partition: values.partition,
    time: values.time,
    cpusPerTask: values['cpus-per-task'] === undefined ? undefined : num('cpus-per-task', values['cpus-per-task']),
    cli,
  };
  if (values['dry-run']) {
    const s = slurmDryRun(positionals[0], opts);
    if (values.json) io.stdout(JSON.stringify({ type: 'slurm-dry-run', ...s }) + '\n');
    else
      io.stdout(
        `# ${s.encode.path}\n${s.encode.text}\n# ${s.run.path}\n${s.run.text}\n` +
          `# would run: sbatch --parsable ${s.encode.path}\n#            sbatch --parsable --dependency=afterok:<array job id> ${s.run.path}\n`,
      );
    return EXIT.ok;
  }
  const sub = await submitSlurm(positionals[0], opts, io.env);
  if (values.json) io.stdout(JSON.stringify({ type: 'slurm-submitted', ...sub }) + '\n');
  else
    io.stdout(
      `submitted ${sub.experiment}\n` +
        `  encode: array job ${sub.arrayJobId} (${sub.tasks} tasks), logs ${sub.dir}/encode-${sub.arrayJobId}_<task>.out\n` +
        `  run:    job ${sub.runJobId} after the array succeeds, log ${sub.logs.run}\n` +
        `  scripts and submission.json: ${sub.dir}\n` +
        `watch with: squeue -j ${sub.arrayJobId},${sub.runJobId}\n` +
        `the run's folder appears under .tldr/runs/ (its run.json has "job": {"id": "${sub.runJobId}"})\n`,
    );
  return EXIT.ok;
}
