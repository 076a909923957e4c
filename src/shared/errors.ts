// Two kinds of failure the CLI and the extension treat differently: bad input the user
// must fix (exit code 2, shown as-is) and a cancelled run (not an error to report).

export class InputError extends Error {
  override name = 'InputError';
}

export function abortError(): Error {
  const err = new Error('The run was cancelled.');
  err.name = 'AbortError';
  return err;
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError();
}
