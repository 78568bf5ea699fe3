import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { runCli } from './helpers/cli.ts';

let dir: string;
const env = () => ({ ...process.env, PATCHWORK_HOME: join(dir, 'home') });

async function png(width: number, height: number, shade: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: shade, g: 255 - shade, b: 90 } } }).png().toBuffer();
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'patchwork-augplot-'));
  await mkdir(join(dir, 'images', 'sub'), { recursive: true });
  for (let i = 0; i < 7; i++) await writeFile(join(dir, 'images', i < 4 ? '' : 'sub', `im${i}.png`), await png(20, 12, i * 30));
  await mkdir(join(dir, 'empty'));
  await writeFile(join(dir, 'flip.json'), JSON.stringify({ augment: { left_right_flip: true, rot90: true }, input: { imshape: [16, 16] } }));
  await writeFile(join(dir, 'plain.json'), JSON.stringify({ left_right_flip: true }));
});
after(async () => rm(dir, { recursive: true, force: true }));

test('one image: a 4 x 4 grid of the original and 15 augmentations at the image size', async () => {
  const out = join(dir, 'one.png');
  const r = await runCli(['augplot', '--config', join(dir, 'plain.json'), '--images', join(dir, 'images', 'im0.png'), '--out', out], { env: env(), cwd: dir });
  assert.equal(r.code, 0, r.err);
  const meta = await sharp(out).metadata();
  assert.deepEqual([meta.width, meta.height], [4 * 20 + 3 * 2, 4 * 12 + 3 * 2]);
  assert.match(r.out, /the original and 15 augmentations/);
});

test('a folder: 5 random images of 7, one row each, the original and 5 augmentations at the config imshape', async () => {
  const out = join(dir, 'folder.png');
  const r = await runCli(['augplot', '--config', join(dir, 'flip.json'), '--images', join(dir, 'images'), '--out', out, '--seed', '3'], { env: env(), cwd: dir });
  assert.equal(r.code, 0, r.err);
  const meta = await sharp(out).metadata();
  assert.deepEqual([meta.width, meta.height], [6 * 16 + 5 * 2, 5 * 16 + 4 * 2]);
  assert.match(r.out, /5 of 7 images/);
});

test('bad input names the flag and the fix', async () => {
  const bad = join(dir, 'bad.json');
  await writeFile(bad, '{"augment": {"no_such_step": 1}}');
  const r1 = await runCli(['augplot', '--config', bad, '--images', join(dir, 'images')], { env: env(), cwd: dir });
  assert.notEqual(r1.code, 0);
  assert.match(r1.err, /no_such_step/);
  const r2 = await runCli(['augplot', '--config', join(dir, 'plain.json'), '--images', join(dir, 'empty')], { env: env(), cwd: dir });
  assert.notEqual(r2.code, 0);
  assert.match(r2.err, /--images .*empty: no image files/);
  const r3 = await runCli(['augplot', '--config', join(dir, 'missing.json'), '--images', join(dir, 'images')], { env: env(), cwd: dir });
  assert.match(r3.err, /--config .*missing\.json: cannot read it/);
});
