// An embedding projector for TensorBoard, published through the tracker: vectors, a key and folder per point, and a
// sprite of thumbnails.
import { ApplicationFailure } from '@temporalio/activity';
import sharp from 'sharp';
import { StorageError, type Storage } from '../storage/index.ts';
import type { RawImage } from '../tensorboard-format/index.ts';
import { TrackerClient } from '../tracker-client/client.ts';

export interface Projector {
  name: string;
  values: Float32Array;
  shape: [number, number];
  metadata: { columns: string[]; rows: string[][] };
  sprite: { images: RawImage[]; thumbSize: number };
}

/** size x size RGB thumbnails of `keys`; an image gone or unreadable since it was embedded is a black cell. */
export async function thumbnails(source: Storage, keys: string[], size: number): Promise<RawImage[]> {
  const images: RawImage[] = [];
  for (const key of keys) {
    let data: Uint8Array;
    try {
      data = new Uint8Array(
        await sharp(await source.get(key)).removeAlpha().toColourspace('srgb').resize(size, size, { fit: 'fill' }).raw().toBuffer(),
      );
      if (data.length !== size * size * 3) throw new Error('unexpected channels');
    } catch (error) {
      if (error instanceof StorageError && error.code !== 'NOT_FOUND') throw error;
      data = new Uint8Array(size * size * 3);
    }
    images.push({ data, height: size, width: size, channels: 3 });
  }
  return images;
}

/** Each key with its folder ('.' at the root): the projector's metadata. */
export function keyMetadata(keys: string[]): Projector['metadata'] {
  const folder = (k: string) => (k.includes('/') ? k.slice(0, k.lastIndexOf('/')) : '.');
  return { columns: ['key', 'folder'], rows: keys.map((k) => [k, folder(k)]) };
}

/** Sends the projector and its run's two summaries through the tracker; returns the tracker run's page. */
export async function publishProjector(
  tracker: { url: string; token?: string },
  spoolDir: string | undefined,
  runId: string,
  projector: Projector,
  note: string,
): Promise<string> {
  if (!tracker.token)
    throw ApplicationFailure.create({
      type: 'BadConfigError',
      message: `the tracker at ${tracker.url} needs PATCHWORK_TOKEN on this worker`,
      nonRetryable: true,
    });
  const { client } = await TrackerClient.start({
    url: tracker.url,
    token: tracker.token,
    run: runId,
    workflowId: runId,
    skipLogged: true,
    spoolDir,
    startTimeoutMs: 60_000,
  });
  try {
    const v = projector.values;
    await client.projector({
      name: projector.name,
      shape: projector.shape,
      values: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'),
      metadata: projector.metadata,
      sprite: {
        thumbSize: projector.sprite.thumbSize,
        rgb: Buffer.concat(projector.sprite.images.map((im) => Uint8Array.from(im.data as ArrayLike<number>))).toString('base64'),
      },
    });
    client.scalar('embed/projector_points', 0, projector.shape[0]);
    client.text('embed/model', 0, note);
  } finally {
    await client.close({ timeoutMs: 60_000 });
  }
  return `${tracker.url.replace(/\/+$/, '')}/runs/${encodeURIComponent(runId)}`;
}
