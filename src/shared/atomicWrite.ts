// Every file the engine writes goes through here: a temp file beside the target, then
// rename, so a crash or cancel never leaves a half-written file behind. The temp name holds the
// host, the pid and random bytes, so several processes (on several machines sharing the folder,
// as the shards of `encode --shard` do) never write the same temp file; rename is atomic, so a
// reader sees the old file or the new one, never a torn one. The temp files in flight are
// remembered and removed when the process exits on any path that runs 'exit' handlers (normal
// end, error, Ctrl-C, SIGTERM); only SIGKILL or a power cut leaves one, and the cache sweeps
// those (EmbeddingCache.sweepStaleTemp).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/** The file-name ending every temp file written here has. */
export const TEMP_SUFFIX = '.tmp';

const inFlight = new Set<string>();
let exitHookInstalled = false;

function track(tmp: string): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const f of inFlight) {
        try {
          fs.rmSync(f, { force: true });
        } catch {
          // nothing more can be done while exiting
        }
      }
    });
  }
  inFlight.add(tmp);
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  const tmp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${os.hostname()}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`,
  );
  track(tmp);
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, target);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  } finally {
    inFlight.delete(tmp);
  }
}

export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n');
}
