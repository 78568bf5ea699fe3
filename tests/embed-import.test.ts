// .npy import: arrays numpy writes (rank 2 and 4, float32 and float64) go through `patchwork embed import` into the
// store and come back from readEmbeddings unchanged; files it cannot import are refused with the fix named.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage } from '../storage/index.ts';
import { readEmbeddings, writePart, type PartKeys } from '../storage/embeddings.ts';
import { importNpyEmbeddings, parseKeyLines } from '../storage/embedding-import.ts';
import { parseNpy } from '../storage/npy.ts';
import { runCli } from './helpers/cli.ts';
import { runPythonJson } from './helpers/python.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'patchwork-npy-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes arrays with numpy: each entry is [file name, Python expression of the array]; returns their values as float32. */
async function saveWithNumpy(arrays: [string, string][]): Promise<Record<string, number[]>> {
  return runPythonJson<Record<string, number[]>>(
    `
import json, sys
import numpy as np
spec = json.loads(sys.argv[1])
out = {}
rng = np.random.default_rng(3)
for name, expr in spec['arrays']:
    a = eval(expr)
    np.save(spec['dir'] + '/' + name, a, allow_pickle=False)
    if a.dtype.kind == 'f':
        out[name] = np.ascontiguousarray(a, dtype='<f4').ravel().astype(float).tolist()
print(json.dumps(out))
`,
    { input: { dir, arrays } },
  );
}

const keysFor = (n: number) => Array.from({ length: n }, (_, i) => `images/${String(i).padStart(3, '0')}.png`);

test('rank 2 and rank 4 arrays, float32 and float64, round-trip through the CLI and readEmbeddings', async () => {
  const expected = await saveWithNumpy([
    ['vectors.npy', "rng.normal(size=(7, 5)).astype('<f4')"],
    ['maps.npy', "rng.normal(size=(1100, 2, 3, 4)).astype('<f8')"],
  ]);
  const store = join(dir, 'store');
  const env = { ...process.env, PATCHWORK_HOME: join(dir, 'home'), PATCHWORK_STORE: store };
  await writeFile(join(dir, 'vectors.txt'), keysFor(7).join('\n') + '\n');
  await writeFile(join(dir, 'maps.txt'), keysFor(1100).join('\n'));

  const vectors = await runCli(['embed', 'import', join(dir, 'vectors.npy'), '--keys', join(dir, 'vectors.txt'), '--name', 'vec'], { env, cwd: dir });
  assert.equal(vectors.code, 0, vectors.err);
  assert.match(vectors.out, /imported 7 rows \(vectors of 5, <f4\) into embeddings\/vec\//);
  const maps = await runCli(['embed', 'import', join(dir, 'maps.npy'), '--keys', join(dir, 'maps.txt')], { env, cwd: dir });
  assert.equal(maps.code, 0, maps.err);
  const name = /model hash for a labeling loop: (\S+)/.exec(maps.out)?.[1];
  assert.match(name ?? '', /^npy-[0-9a-f]{12}$/);
  assert.match(maps.out, /feature maps 2 x 3 x 4, <f8\) into .* in 3 parts/);

  const storage = openStorage(store);
  const vecTable = await readEmbeddings(storage, 'vec');
  assert.equal(vecTable.dim, 5);
  assert.equal(vecTable.mapShape, undefined);
  assert.deepEqual(vecTable.keys, keysFor(7));
  assert.deepEqual(Array.from(vecTable.data), expected['vectors.npy']);
  const mapTable = await readEmbeddings(storage, name!);
  assert.deepEqual(mapTable.mapShape, [2, 3, 4]);
  assert.equal(mapTable.dim, 24);
  assert.deepEqual(mapTable.keys, keysFor(1100));
  assert.deepEqual(Array.from(mapTable.data), expected['maps.npy']);

  const again = await runCli(['embed', 'import', join(dir, 'maps.npy'), '--keys', join(dir, 'maps.txt')], { env, cwd: dir });
  assert.notEqual(again.code, 0);
  assert.match(again.err, /already has 3 parts; import under another --name/);
});

test('files it cannot import are refused with the reason and the fix', async () => {
  await saveWithNumpy([
    ['ints.npy', "np.arange(12, dtype='<i4').reshape(3, 4)"],
    ['big-endian.npy', "np.ones((3, 4), dtype='>f4')"],
    ['fortran.npy', "np.asfortranarray(np.ones((3, 4), dtype='<f4'))"],
    ['rank3.npy', "np.ones((3, 4, 5), dtype='<f4')"],
    ['good.npy', "np.ones((3, 4), dtype='<f4')"],
  ]);
  await mkdir(join(dir, 'bad-store'));
  const store = openStorage(join(dir, 'bad-store'));
  const attempt = async (file: string, keys = keysFor(3)) =>
    importNpyEmbeddings(store, { npy: await readFile(join(dir, file)), file, keys, source: dir, name: file.replace('.npy', '') });
  await assert.rejects(attempt('ints.npy'), /ints\.npy holds dtype <i4; only little-endian float32 \(<f4\) or float64 \(<f8\).*np\.save/);
  await assert.rejects(attempt('big-endian.npy'), /big-endian floats/);
  await assert.rejects(attempt('fortran.npy'), /Fortran order; only C order.*ascontiguousarray/);
  await assert.rejects(attempt('rank3.npy'), /shape \(3, 4, 5\); import needs rank 2 .* or rank 4/);
  await assert.rejects(attempt('good.npy', keysFor(4)), /3 rows but the keys file lists 4 keys/);
  assert.throws(() => parseNpy(new TextEncoder().encode('not numpy at all'), 'x.npy'), /x\.npy is not a \.npy file/);
  const good = await readFile(join(dir, 'good.npy'));
  assert.throws(() => parseNpy(good.subarray(0, good.length - 4), 'short.npy'), /short\.npy: 44 bytes of data.*needs 48/);
  assert.throws(() => parseKeyLines('a\n\nb\n', 'k.txt'), /k\.txt: line 2 is empty/);
  assert.throws(() => parseKeyLines('a\nb\na', 'k.txt'), /key "a" is on lines 1 and 3/);
  const written: string[] = [];
  for await (const object of store.list('embeddings/')) written.push(object.key);
  assert.deepEqual(written, [], 'nothing written for refused files');
});

test('readEmbeddings refuses parts that disagree on the map shape, or a shape that is not the dimension', async () => {
  const root = join(dir, 'mixed-store');
  await mkdir(root);
  const store = openStorage(root);
  const part = (keys: string[], dim: number, mapShape?: [number, number, number]): PartKeys => ({
    version: 1,
    dim,
    ...(mapShape ? { mapShape } : {}),
    keys,
    skipped: [],
    source: root,
    runId: 'test',
  });
  await writePart(store, 'mixed', 0, new Float32Array(12), part(['a'], 12, [2, 2, 3]));
  await writePart(store, 'mixed', 1, new Float32Array(12), part(['b'], 12));
  await assert.rejects(readEmbeddings(store, 'mixed'), /part-00001\.keys\.json: map shape none \(vectors\), .*part-00000\.keys\.json \[2, 2, 3\]; .*all be vectors or all maps of one shape/);
  await writePart(store, 'wrong', 0, new Float32Array(12), part(['a'], 12, [2, 3, 3]));
  await assert.rejects(readEmbeddings(store, 'wrong'), /mapShape \[2, 3, 3\] has 18 values, but dim is 12/);
  await writePart(store, 'same', 0, new Float32Array(12), part(['a'], 12, [2, 2, 3]));
  await writePart(store, 'same', 1, new Float32Array(12).fill(1), part(['b'], 12, [2, 2, 3]));
  const table = await readEmbeddings(store, 'same');
  assert.deepEqual(table.mapShape, [2, 2, 3]);
  assert.deepEqual(table.keys, ['a', 'b']);
});
