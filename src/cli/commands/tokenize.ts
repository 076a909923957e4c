// `tldr-debias tokenize --clip DIR TEXT...`: token ids as JSON, for debugging words.
import { parseArgs } from 'node:util';
import { tokenize } from '../../engine/api';
import { EXIT, type CliIo } from '../io';

export const TOKENIZE_USAGE = `Usage: tldr-debias tokenize --clip DIR [--tokenizer FILE] TEXT...

Prints the CLIP token ids of each TEXT as JSON (start and end tokens included, at most 77),
with the tokenizer a run uses: DIR/tokenizer.json, or DIR/vocab.json + DIR/merges.txt (the
OpenAI / open_clip files) when there is no tokenizer.json.

Options:
  --tokenizer FILE   the tokenizer file, relative to DIR, as models.clip.tokenizer (default tokenizer.json)
`;

export async function tokenizeCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { clip: { type: 'string' }, tokenizer: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) return (io.stdout(TOKENIZE_USAGE), EXIT.ok);
  if (!values.clip || positionals.length === 0) return (io.stderr(TOKENIZE_USAGE), EXIT.usage);
  const out = tokenize(values.clip, positionals, values.tokenizer);
  io.stdout(JSON.stringify(out.length === 1 ? out[0] : out) + '\n');
  return EXIT.ok;
}
