// `tldr-debias tokenize --clip DIR TEXT...`: token ids as JSON, for debugging words.
import { parseArgs } from 'node:util';
import { tokenize } from '../../engine/api';
import { EXIT, type CliIo } from '../io';

export const TOKENIZE_USAGE = `Usage: tldr-debias tokenize --clip DIR TEXT...

Prints the CLIP token ids of each TEXT as JSON (start and end tokens included, at most 77),
using DIR/tokenizer.json.
`;

export async function tokenizeCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { clip: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) return (io.stdout(TOKENIZE_USAGE), EXIT.ok);
  if (!values.clip || positionals.length === 0) return (io.stderr(TOKENIZE_USAGE), EXIT.usage);
  const out = tokenize(values.clip, positionals);
  io.stdout(JSON.stringify(out.length === 1 ? out[0] : out) + '\n');
  return EXIT.ok;
}
