// A bound that only catches a hang: the promise must settle before a generous deadline (30 s),
// far above what any machine needs, so a busy CI machine never fails it.
export const HANG_BOUND_MS = 30_000;

export async function settlesBeforeHang<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${HANG_BOUND_MS / 1000} s: it hangs`)), HANG_BOUND_MS);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}
