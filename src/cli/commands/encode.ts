// `tldr-debias encode EXP --shard I/N`: encode one shard of the experiment's images into the
// shared cache, so that N processes (a Slurm array, Kubernetes Jobs, Ray tasks) split the work
// and a later `run` encodes nothing.
import { parseArgs } from 'node:util';
import { encodeShard } from '../../engine/api';
import { EXIT, eventPrinter, slurmThreads, UsageError, type CliIo } from '../io';

export const ENCODE_USAGE = `Usage: tldr-debias encode EXP --shard I/N [--json]

Encodes shard I of N (I from 0) of the images of the experiment file EXP (train, val, test and
caption images, each once, sorted by path and cut into N contiguous slices) into the embedding
cache (.tldr/cache/ beside EXP). Run the N shards in any order, on any machines that share the
folder, or at once: writers never clash, and 'tldr-debias run EXP' then reads every vector from
the cache. A shard that was already encoded costs only the cache look-ups.
  --shard I/N    this process's shard, e.g. 0/4 .. 3/4
  --shard slurm  the shard of this Slurm array task (SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT)
  --json         one JSON event per line on stdout; the last is {"type":"shard",...}
Each shard writes its record (which images, how many encoded) to .tldr/shards/.
`;

export async function encodeCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { shard: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) return (io.stdout(ENCODE_USAGE), EXIT.ok);
  if (positionals.length !== 1) return (io.stderr(ENCODE_USAGE), EXIT.usage);
  if (!values.shard) throw new UsageError(`encode needs --shard I/N (or --shard slurm).\n\n${ENCODE_USAGE}`);
  const r = await encodeShard(positionals[0], values.shard, {
    onEvent: eventPrinter(io, !!values.json),
    signal: io.signal,
    env: io.env,
    ...slurmThreads(io.env),
  });
  const { paths: _paths, ...summary } = r;
  if (values.json) io.stdout(JSON.stringify({ type: 'shard', ...summary }) + '\n');
  else
    io.stdout(
      `shard ${r.index}/${r.count}: ${r.images} of ${r.total} images (${r.start}..${r.end - 1}), ${r.encoded} encoded, ${r.cached} from cache` +
        `${r.unreadable ? `, ${r.unreadable} unreadable left out` : ''}\nrecord: ${r.recordPath}\n`,
    );
  return EXIT.ok;
}
