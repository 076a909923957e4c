// Writing an experiment file from outside the editor (the CLI's `words --generate`, the
// discover step's task): the new text replaces the file atomically, and only if the file still
// holds the text the edit was computed from, so an editor's save in the meantime is never lost.
import * as fs from 'node:fs';
import { writeFileAtomic } from '../shared/atomicWrite';
import { InputError } from '../shared/errors';

export class ExperimentChangedError extends InputError {
  override name = 'ExperimentChangedError';
}

export async function writeExperimentText(file: string, text: string, expected: string): Promise<void> {
  let now: string | undefined;
  try {
    now = fs.readFileSync(file, 'utf8');
  } catch {
    now = undefined;
  }
  if (now !== expected)
    throw new ExperimentChangedError(`${file} changed while this command ran; it was not written. Run the command again.`);
  try {
    await writeFileAtomic(file, text);
  } catch (err) {
    throw new InputError(
      `${file}: cannot write the experiment file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Check that the file and its folder are writable.`,
    );
  }
}
