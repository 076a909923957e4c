// The `tldr-debias` command line: the same engine as the extension, headless.
import { InputError, isAbortError } from '../shared/errors';
import { PACKAGE_VERSION } from '../engine/api';
import { EXIT, UsageError, type CliIo } from './io';
import { runCommand } from './commands/run';
import { scoreCommand } from './commands/score';
import { tokenizeCommand } from './commands/tokenize';
import { schemaCommand } from './commands/schema';
import { demoCommand } from './commands/demo';
import { wordsCommand } from './commands/words';
import { discoverCommand } from './commands/discover';

const USAGE = `tldr-debias ${PACKAGE_VERSION}: debias an image classifier's last layer with text (TLDR)

Usage: tldr-debias <command> [options]

Commands:
  demo [--out DIR] [--seeds N] [--json]   the offline demo world, end to end
  run EXP [--json]                        run TLDR on an experiment file (*.tldr.json)
  score EXP [--json]                      validation scores of every word
  words EXP [--generate] [...]            list words, or generate more with an LLM
  discover EXP [--top K] [--json] [...]   rank keywords the classifier leans on (from its val errors)
  tokenize --clip DIR TEXT...             CLIP token ids of TEXT, as JSON
  schema                                  the experiment file's JSON Schema

Run 'tldr-debias <command> --help' for a command's options.
Exit codes: 0 ok, 1 failed run, 2 bad input or usage, 130 cancelled (Ctrl-C or SIGTERM).
`;

const commands: Record<string, (argv: string[], io: CliIo) => Promise<number>> = {
  run: runCommand,
  score: scoreCommand,
  tokenize: tokenizeCommand,
  schema: schemaCommand,
  demo: demoCommand,
  words: wordsCommand,
  discover: discoverCommand,
};

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') return (io.stdout(USAGE), name ? EXIT.ok : EXIT.usage);
  if (name === '--version') return (io.stdout(PACKAGE_VERSION + '\n'), EXIT.ok);
  const command = commands[name];
  if (!command) return (io.stderr(`unknown command "${name}"\n\n${USAGE}`), EXIT.usage);
  try {
    return await command(rest, io);
  } catch (err) {
    if (isAbortError(err)) return (io.stderr('Cancelled; nothing was left half-written.\n'), EXIT.cancelled);
    if (err instanceof UsageError || err instanceof InputError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`error: ${(err as Error).message}\n`);
      return EXIT.usage;
    }
    io.stderr(`error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failed;
  }
}

/** The process entry: real stdio; Ctrl-C (SIGINT) and SIGTERM cancel the running command. */
export function cliEntry(): void {
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort());
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
