// Writing experiment files outside the editor's save: a new file is created only where none is
// (the demo, New Experiment), and an edit (the CLI's `words --generate`) replaces the file
// atomically only if it still holds the text the edit was computed from, so an editor's save in
// the meantime is never lost.
import * as fs from 'node:fs';
import * as path from 'node:path';
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

/** Creates a new experiment file; false (and nothing written) when the file already exists. */
export async function createExperimentFile(file: string, text: string): Promise<boolean> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  try {
    // 'wx' fails when the file exists: a user's experiment is never replaced
    await fs.promises.writeFile(file, text, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new InputError(`${file}: cannot create the experiment file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  }
}
