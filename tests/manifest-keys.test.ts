// A finished manifest's images as a list read one part at a time: rows index the good images only, across parts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestIndex } from '../activities/ingest.ts';
import { emptyCounts } from '../contracts/ingest.ts';
import { LocalStorage, type Storage } from '../storage/index.ts';
import { manifestIndexKey, manifestPartKey } from '../storage/layout.ts';
import { encodeManifestPart, manifestImageKeys, type ManifestEntry } from '../storage/manifest.ts';

const good = (key: string): ManifestEntry => ({ ok: true, key, size: 1, format: 'png', width: 1, height: 1, channels: 1, bitDepth: 8 });
const bad = (key: string): ManifestEntry => ({ ok: false, key, size: 0, reason: 'empty', message: 'empty file' });

/** A store that counts reads, to see that parts are read once per pass. */
function countingStore(dir: string): { store: Storage; reads: string[] } {
  const local = new LocalStorage(dir);
  const reads: string[] = [];
  const store: Storage = Object.assign(Object.create(local) as Storage, {
    get: async (key: string) => {
      reads.push(key);
      return local.get(key);
    },
  });
  return { store, reads };
}

test('manifestImageKeys indexes the good images of every part in order and walks the parts once per pass', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'patchwork-manifest-keys-'));
  try {
    const { store, reads } = countingStore(dir);
    const parts: ManifestEntry[][] = [[good('a'), bad('b'), good('c')], [bad('d')], [good('e'), good('f')]];
    for (const [i, entries] of parts.entries()) await store.put(manifestPartKey('run', i), encodeManifestPart(entries));
    const counts = { ...emptyCounts(), files: 6, images: 4, bad: 2 };
    await store.put(manifestIndexKey('run'), JSON.stringify(manifestIndex({ source: '/x', runId: 'run', parts: 3, counts })));

    const keys = await manifestImageKeys(store, 'run');
    assert.equal(keys.size, 4);
    reads.length = 0;
    assert.deepEqual(await keys.keysAt(Int32Array.of(0, 1)), ['a', 'c']);
    assert.deepEqual(await keys.keysAt(Int32Array.of(2, 3)), ['e', 'f']);
    assert.equal(reads.length, 3, 'one read per part for a forward pass');
    assert.deepEqual(await keys.keysAt(Int32Array.of(1, 3)), ['c', 'f'], 'a row before the current part starts a new pass');
    await assert.rejects(keys.keysAt(Int32Array.of(4)), /row 4 is outside 0..3/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
