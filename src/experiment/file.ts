// Writing experiment files outside the editor's save: a new file is created only where none is
// (the demo, New Experiment), and an edit (the CLI's `words --generate`) replaces the file
// atomically only if it still holds the text the edit was computed from, so an editor's save in
// the meantime is never lost.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
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

/**
 * Creates a new experiment file, atomically and never over an existing one: the text goes to a
 * temp file beside it, which is then hard-linked to the name (link fails when the name exists,
 * and a reader sees either no file or the whole text). False, and nothing written, when the
 * file already exists. Where hard links are not supported, falls back to an exclusive create.
 */
export async function createExperimentFile(file: string, text: string): Promise<boolean> {
  const fail = (err: unknown) =>
    new InputError(`${file}: cannot create the experiment file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  try {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
  } catch (err) {
    throw fail(err);
  }
  if (fs.existsSync(file)) return false;
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.promises.writeFile(tmp, text, { flag: 'wx' });
    try {
      await fs.promises.link(tmp, file);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    }
    // no hard links here (some network and FAT file systems): 'wx' still never replaces a file
    await fs.promises.writeFile(file, text, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw fail(err);
  } finally {
    await fs.promises.rm(tmp, { force: true });
  }
}
