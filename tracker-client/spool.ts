// Bounded on-disk FIFO of batches the tracker client could not keep in memory. One JSON file per batch, written
// to a temporary name and renamed, so a crash never leaves half a batch; files left by an earlier process of the
// same run are picked up and sent first.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Item } from '../contracts/tracker-runs.ts';

export interface SpooledBatch {
  batchId: string;
  items: Item[];
  /** Sequence number of the newest item (this process only; 0 for files from an earlier process). */
  lastSeq: number;
  file?: string;
}

export class BatchSpool {
  private files: string[] = [];
  private bytes = 0;
  private counter = 0;

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
  ) {
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (name.endsWith('.tmp')) rmSync(path, { force: true });
      else if (name.endsWith('.json')) {
        this.files.push(path);
        this.bytes += statSync(path).size;
        this.counter = Math.max(this.counter, Number.parseInt(name, 10) + 1 || 0);
      }
    }
  }

  get size(): number {
    return this.files.length;
  }

  /** Writes the batch as the newest file and returns its path. */
  push(batch: SpooledBatch): string {
    const text = JSON.stringify({ batchId: batch.batchId, items: batch.items });
    if (this.bytes + text.length > this.maxBytes) {
      throw new Error(
        `tracker client: the spool ${this.dir} is full (${this.bytes} bytes, limit ${this.maxBytes}) while the tracker ` +
          'is unreachable; start the tracker (patchwork up) or raise maxSpoolBytes',
      );
    }
    const path = join(this.dir, `${String(this.counter++).padStart(12, '0')}.json`);
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
    this.files.push(path);
    this.bytes += text.length;
    return path;
  }

  /** The oldest batch, still on disk until `remove` is called with it. */
  peek(): SpooledBatch | undefined {
    const file = this.files[0];
    if (!file) return undefined;
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { batchId: string; items: Item[] };
    return { ...parsed, lastSeq: 0, file };
  }

  remove(file: string): void {
    const i = this.files.indexOf(file);
    if (i < 0) return;
    this.bytes -= statSync(file).size;
    rmSync(file, { force: true });
    this.files.splice(i, 1);
  }
}
