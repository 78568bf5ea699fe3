import sharp from 'sharp';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A small image with distinct pixel data per seed, encoded in the given format. */
export async function makeImage(
  format: 'png' | 'jpeg' | 'tiff' | 'webp',
  width = 16,
  height = 12,
  channels: 1 | 3 | 4 = 3,
  seed = 0,
): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * channels);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 31 + seed * 17) % 256;
  const image = sharp(pixels, { raw: { width, height, channels } });
  return (channels === 1 ? image.toColourspace('b-w') : image).toFormat(format).toBuffer();
}

export interface FixtureFile {
  key: string;
  bytes: Buffer;
}

/**
 * Good images of several formats and one bad file per reason, with the reason each should get.
 * The expectations come from how the files are built, not from running the code under test.
 */
export async function goodAndBadFiles(): Promise<{ files: FixtureFile[]; expectedBad: Record<string, string> }> {
  const png = await makeImage('png', 20, 10, 3, 1);
  const files: FixtureFile[] = [
    { key: 'a/one.png', bytes: png },
    { key: 'a/two.jpg', bytes: await makeImage('jpeg', 32, 24, 3, 2) },
    { key: 'b/three.tif', bytes: await makeImage('tiff', 8, 8, 1, 3) },
    { key: 'b/four.webp', bytes: await makeImage('webp', 10, 10, 4, 4) },
    { key: 'c/rgba.png', bytes: await makeImage('png', 5, 7, 4, 5) },
    { key: 'bad/empty.png', bytes: Buffer.alloc(0) },
    { key: 'bad/notes.txt', bytes: Buffer.from('these are not pixels\n') },
    { key: 'bad/truncated.png', bytes: (await makeImage('png', 64, 64, 3, 6)).subarray(0, 200) },
    { key: 'bad/huge.png', bytes: await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#336699' } }).png().toBuffer() },
    { key: 'bad/vector.svg', bytes: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>') },
  ];
  const expectedBad = {
    'bad/empty.png': 'empty',
    'bad/notes.txt': 'not-an-image',
    'bad/truncated.png': 'truncated',
    'bad/huge.png': 'too-many-pixels',
    'bad/vector.svg': 'unsupported-format',
  };
  return { files, expectedBad };
}

export async function writeFiles(root: string, files: FixtureFile[]): Promise<void> {
  for (const file of files) {
    const path = join(root, ...file.key.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, file.bytes);
  }
}
