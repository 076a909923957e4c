// `tldr-debias init --clip DIR --classifier FILE --data PATH [--out FILE]`: writes a new
// experiment file from what the three paths hold (the New Experiment wizard's engine call),
// never over an existing file, and prints what was found and what is left to fill.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { proposeExperiment } from '../../engine/api';
import { createExperimentFile } from '../../experiment';
import { InputError } from '../../shared/errors';
import { EXIT, UsageError, type CliIo } from '../io';

export const INIT_USAGE = `Usage: tldr-debias init --clip DIR --classifier FILE --data PATH [options]

Writes a new experiment file from a CLIP export folder, a classifier (.onnx) and a data folder or
file. It detects the CLIP layout and variants, the classifier's classes and image size, the data
layout (class folders with or without train/val/test folders, CelebA, a Waterbirds metadata.csv,
CSV/JSONL manifests, COCO captions), the class names and the spurious attribute when the data has
one, and prints what you must still fill in. An existing file is never replaced.

Options:
  --out FILE               the experiment file (default ./experiment.tldr.json)
  --name NAME              the experiment's name (default: from the file name)
  --target ATTR            CelebA: the attribute that is the class (default Blond_Hair)
  --spurious ATTR          CelebA: the spurious attribute (default Male); other data: its name
  --spurious-values A,B    the spurious attribute's values, when the data does not name them
  --classes A,B,...        class names in the classifier's output order (default: from the data)
  --json                   print {"file", "found", "notes", "experiment"} as JSON
`;

const list = (s: string | undefined) =>
  s === undefined
    ? undefined
    : s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);

export async function initCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      clip: { type: 'string' },
      classifier: { type: 'string' },
      data: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      target: { type: 'string' },
      spurious: { type: 'string' },
      'spurious-values': { type: 'string' },
      classes: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) return (io.stdout(INIT_USAGE), EXIT.ok);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"\n\n${INIT_USAGE}`);
  const missingOpt = (['clip', 'classifier', 'data'] as const).filter((k) => !values[k]);
  if (missingOpt.length) throw new UsageError(`${missingOpt.map((k) => `--${k}`).join(', ')} required\n\n${INIT_USAGE}`);
  for (const [opt, p] of [
    ['--clip', values.clip!],
    ['--classifier', values.classifier!],
    ['--data', values.data!],
  ] as const)
    if (!fs.existsSync(p)) throw new InputError(`${path.resolve(p)} does not exist (${opt}).`);
  const out = path.resolve(values.out ?? 'experiment.tldr.json');
  if (fs.existsSync(out)) throw new InputError(`${out} already exists; init never replaces an experiment. Choose another file with --out.`);

  const proposal = await proposeExperiment({
    clipDir: values.clip!,
    classifierPath: values.classifier!,
    dataPath: values.data!,
    file: out,
    ...(values.name ? { name: values.name } : {}),
    ...(values.target ? { target: values.target } : {}),
    ...(values.spurious ? { spurious: values.spurious } : {}),
    ...(values['spurious-values'] ? { spuriousValues: list(values['spurious-values']) } : {}),
    ...(values.classes ? { classes: list(values.classes) } : {}),
  });
  const notes = [...proposal.notes];
  if (!/\.tldr\.json$/i.test(out))
    notes.push(`${path.basename(out)} does not end in .tldr.json, so VS Code will not open it in the TLDR editor.`);
  if (!(await createExperimentFile(out, proposal.text)))
    throw new InputError(`${out} already exists; init never replaces an experiment. Choose another file with --out.`);

  if (values.json) {
    io.stdout(JSON.stringify({ file: out, found: proposal.found, notes, experiment: proposal.experiment }) + '\n');
    return EXIT.ok;
  }
  const rel = path.relative(process.cwd(), out) || out;
  io.stdout(`Wrote ${rel}\n`);
  if (proposal.found.length) io.stdout(`\nFound:\n${proposal.found.map((f) => `  - ${f}\n`).join('')}`);
  if (notes.length) io.stdout(`\nTo check or fill in:\n${notes.map((n) => `  - ${n}\n`).join('')}`);
  io.stdout(
    `\nNext: add words (tldr-debias words ${rel} --generate, or in VS Code), then tldr-debias score ${rel} and tldr-debias run ${rel}.\n`,
  );
  return EXIT.ok;
}
