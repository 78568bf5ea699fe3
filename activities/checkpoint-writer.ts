// Checkpoints stored while training goes on. The training path only waits for the snapshot (the tensors copied to
// host memory); the store writes happen meanwhile, one checkpoint at a time and in step order, so LATEST never moves
// backwards and only ever names a complete checkpoint. An activity calls durable() before it returns, so the workflow
// never records a step whose checkpoint is not yet in the store.
import { writeCheckpoint, type CheckpointSnapshot, type CheckpointStore } from '../ml/checkpoint.ts';

export class CheckpointWriter {
  private writing: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  /**
   * @param durableStep the step of the newest checkpoint already in the store
   * @param onWritten called with each checkpoint's step and store time once LATEST names it
   */
  constructor(
    private readonly store: CheckpointStore,
    private readonly prefix: string,
    public durableStep: number,
    private readonly onWritten: (step: number, seconds: number) => void = () => {},
  ) {}

  /**
   * Starts storing `snapshot` once the previous checkpoint is stored (waits for it, so at most one snapshot is held).
   * `beforePointer` is awaited after the data files and before LATEST (the logs of the steps before this one).
   */
  async start(snapshot: CheckpointSnapshot, beforePointer?: () => Promise<void>): Promise<void> {
    await this.durable();
    const started = performance.now();
    this.writing = writeCheckpoint(this.store, this.prefix, snapshot, { beforePointer }).then(
      () => {
        this.durableStep = snapshot.step;
        this.onWritten(snapshot.step, (performance.now() - started) / 1000);
      },
      (error: Error) => {
        this.failure ??= error;
      },
    );
  }

  /** Resolves once every started checkpoint is in the store; rejects (now and later) if one could not be stored. */
  async durable(): Promise<void> {
    await this.writing;
    if (this.failure) throw this.failure;
  }
}
