// The `tldr-debias` command line: the same engine as the extension, headless.
import { InputError, isAbortError } from '../shared/errors';
import { PACKAGE_VERSION } from '../engine/api';
import { EXIT, UsageError, signalName, type CliIo } from './io';
import { runCommand } from './commands/run';
import { scoreCommand } from './commands/score';
import { tokenizeCommand } from './commands/tokenize';
import { schemaCommand } from './commands/schema';
import { demoCommand } from './commands/demo';
import { wordsCommand } from './commands/words';
import { runsCommand } from './commands/runs';
import { initCommand } from './commands/init';
import { encodeCommand } from './commands/encode';
import { slurmCommand } from './commands/slurm';
import { discoverCommand } from './commands/discover';

const USAGE = `tldr-debias ${PACKAGE_VERSION}: debias an image classifier's last layer with text (TLDR)

Usage: tldr-debias <command> [options]

Commands:
  demo [--out DIR] [--seeds N] [--no-run] [--json]
                                          the offline demo world, end to end
  init --clip DIR --classifier FILE --data PATH [--out FILE]
                                          a new experiment file from your models and data
  run EXP [--json] [--threads N]          run TLDR on an experiment file (*.tldr.json)
  runs EXP [--json]                       the runs of an experiment and their status
  score EXP [--json] [--threads N]        validation scores of every word
  encode EXP --shard I/N|slurm [--json]   encode one shard of the images into the shared cache
  slurm EXP --tasks N [...]               submit to Slurm: N encode shards, then the run
  words EXP [--generate] [...]            list words, or generate more with an LLM
  discover EXP [--top K] [--json] [...]   rank keywords the classifier leans on (from its val errors)
  tokenize --clip DIR TEXT...             CLIP token ids of TEXT, as JSON (tokenizer.json or vocab.json + merges.txt)
  schema                                  the experiment file's JSON Schema

Run 'tldr-debias <command> --help' for a command's options.
Exit codes: 0 ok, 1 failed run, 2 bad input or usage, 130 cancelled (Ctrl-C or SIGTERM: both
stop the run cleanly, record it as cancelled and keep the cache, so the next run resumes).
`;

const commands: Record<string, (argv: string[], io: CliIo) => Promise<number>> = {
  run: runCommand,
  score: scoreCommand,
  tokenize: tokenizeCommand,
  schema: schemaCommand,
  demo: demoCommand,
  words: wordsCommand,
  runs: runsCommand,
  init: initCommand,
  encode: encodeCommand,
  // the jobs call this Node and this file (dist/cli.js in the bundle) by absolute path
  slurm: (argv, io) => slurmCommand(argv, io, { node: process.execPath, script: __filename }),
  discover: discoverCommand,
};

/** Errors of the file system the user can act on: the message names the path; no stack. */
const FS_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'EMFILE', 'ENOENT', 'EISDIR', 'ENOTDIR', 'EBUSY']);

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') return (io.stdout(USAGE), name ? EXIT.ok : EXIT.usage);
  if (name === '--version') return (io.stdout(PACKAGE_VERSION + '\n'), EXIT.ok);
  const command = commands[name];
  if (!command) return (io.stderr(`unknown command "${name}"\n\n${USAGE}`), EXIT.usage);
  try {
    return await command(rest, io);
  } catch (err) {
    if (isAbortError(err)) return (io.stderr(`Cancelled${signalName(io)}; nothing was left half-written.\n`), EXIT.cancelled);
    if (err instanceof UsageError || err instanceof InputError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`error: ${(err as Error).message}\n`);
      return EXIT.usage;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code && FS_CODES.has(code)) {
      io.stderr(`error: ${(err as Error).message}. Check the permissions and free space of that path.\n`);
      return EXIT.failed;
    }
    io.stderr(`error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failed;
  }
}

/**
 * The process entry: real stdio. Ctrl-C (SIGINT) and SIGTERM both cancel the running command
 * the same way: it stops at the next batch, records the run as cancelled, says so, and exits
 * 130 (not 143 for SIGTERM: one code for "cancelled", whoever asked).
 */
export function cliEntry(): void {
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort(sig));
  const io: CliIo = {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
    signal: controller.signal,
  };
  main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) cliEntry();
