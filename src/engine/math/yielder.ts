// Long numeric loops run in the engine's worker, whose cancel request arrives as an IPC message
// that a synchronous loop would never let through: they await this helper between units of work.

import { throwIfAborted } from '../../shared/errors';

/** Milliseconds of work between yields to the event loop. */
const YIELD_MS = 20;

/** A helper that checks the signal on every call and yields to the event loop once at least YIELD_MS passed since the last yield. */
export function yielder(signal?: AbortSignal): () => Promise<void> {
  let last = performance.now();
  return async () => {
    throwIfAborted(signal);
    if (performance.now() - last < YIELD_MS) return;
    await new Promise<void>((r) => setImmediate(r));
    last = performance.now();
    throwIfAborted(signal);
  };
}
