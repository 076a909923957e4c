// `tldr-debias score EXP [--json] [--threads N]`: each word's CLIP anchor margin and classifier logit margin.
import { parseArgs } from 'node:util';
import { scoreWords } from '../../engine/api';
import type { WordScore } from '../../protocol/events';
import { EXIT, THREADS_HELP, threadsOption, eventPrinter, type CliIo } from '../io';

export const SCORE_USAGE = `Usage: tldr-debias score EXP [--json] [--threads N]

Scores every word of EXP: CLIP anchor margin (all words) and classifier logit margin
(target words); a word passes when its margins are > 0.
  --json   one JSON event per line on stdout, including {"type":"scores",...}
${THREADS_HELP}
`;

const fmt = (v: number | undefined, digits: number) => (v === undefined ? '      –' : v.toFixed(digits).padStart(7));

export function formatScores(scores: WordScore[]): string {
  const lines: string[] = [];
  let group = '';
  for (const s of scores) {
    const g = `${s.list === 'targets' ? 'class' : 'spurious'} ${s.group}`;
    if (g !== group) {
      lines.push(`\n${g}`, `  pass  clip    logit   word`);
      group = g;
    }
    lines.push(
      `  ${s.pass ? ' ok ' : 'FAIL'} ${fmt(s.clipMargin, 4)} ${fmt(s.logitMargin, 3)}   ${s.text}${s.reason ? `  (${s.reason})` : ''}`,
    );
  }
  const failed = scores.filter((s) => !s.pass).length;
  lines.push(`\n${scores.length - failed} of ${scores.length} words pass.`);
  return lines.join('\n') + '\n';
}

export async function scoreCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean' }, threads: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) return (io.stdout(SCORE_USAGE), EXIT.ok);
  if (positionals.length !== 1) return (io.stderr(SCORE_USAGE), EXIT.usage);
  const { lambda, scores } = await scoreWords(positionals[0], {
    ...threadsOption(values.threads),
    onEvent: eventPrinter(io, !!values.json),
    signal: io.signal,
  });
  if (!values.json) io.stdout(`Logit margins with the projector at lambda ${lambda}.\n${formatScores(scores)}`);
  return EXIT.ok;
}
