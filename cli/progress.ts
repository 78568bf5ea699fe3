/**
 * Follows a running workflow: polls its progress query until the result arrives. Ctrl-C detaches
 * (resolves undefined) without cancelling the workflow, which keeps running on the workers.
 */
export async function followProgress<P, R>(options: {
  result: () => Promise<R>;
  poll: () => Promise<P>;
  onProgress: (progress: P) => void;
  onDetach: () => void;
  /** Called once Ctrl-C detaches instead of killing. */
  onAttached?: () => void;
  intervalMs?: number;
}): Promise<R | undefined> {
  let detach!: () => void;
  const detached = new Promise<undefined>((resolve) => (detach = () => resolve(undefined)));
  const onSignal = () => {
    options.onDetach();
    detach();
  };
  process.once('SIGINT', onSignal);
  options.onAttached?.();
  let polling = true;
  const pollLoop = (async () => {
    while (polling) {
      try {
        options.onProgress(await options.poll());
      } catch {
        // A query can fail while no worker is up or the run just continued as new; the next poll retries.
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
    }
  })();
  try {
    const outcome = await Promise.race([options.result(), detached]);
    if (outcome !== undefined) {
      try {
        options.onProgress(await options.poll());
      } catch {
        // The final progress is cosmetic.
      }
    }
    return outcome;
  } finally {
    polling = false;
    process.off('SIGINT', onSignal);
    await pollLoop;
  }
}
