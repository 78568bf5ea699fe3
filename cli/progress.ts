import cliProgress from 'cli-progress';

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

/**
 * followProgress with a progress bar on stderr: prints how to detach, and on Ctrl-C how to reattach, and sets exit
 * code 130. Resolves undefined when detached.
 */
export async function followWithBar<P, R>(options: {
  format: string;
  result: () => Promise<R>;
  poll: () => Promise<P>;
  /** Where the run stands, for the bar. */
  position: (progress: P) => { value: number; total: number; payload: Record<string, unknown> };
  runId: string;
  attachedMessage: string;
  reattachCommand: string;
}): Promise<R | undefined> {
  const bar = new cliProgress.SingleBar({ format: options.format, stream: process.stderr }, cliProgress.Presets.shades_classic);
  const result = await followProgress({
    result: options.result,
    poll: options.poll,
    onAttached: () => console.error(`${options.attachedMessage} (Ctrl-C detaches; the run goes on)`),
    onProgress: (p) => {
      const { value, total, payload } = options.position(p);
      if (!bar.isActive) bar.start(Math.max(total, 1), value, payload);
      bar.setTotal(Math.max(total, 1));
      bar.update(value, payload);
    },
    onDetach: () => {
      bar.stop();
      console.error(`\ndetached; ${options.runId} keeps running. Reattach with: ${options.reattachCommand}`);
    },
  });
  bar.stop();
  if (result === undefined) process.exitCode = 130;
  return result;
}
