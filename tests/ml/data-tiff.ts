// A minimal uncompressed TIFF writer for test fixtures. sharp 0.34 cannot *write* TIFFs with more than 4 bands (its
// output step always routes through an sRGB conversion), but libvips reads them, so tests build them here.
type Sample = Uint8Array | Uint16Array;

/** Encodes interleaved HWC samples (8- or 16-bit unsigned) as a single-strip, little-endian, min-is-black TIFF. */
export function encodeTiff(pixels: Sample, width: number, height: number, bands: number): Uint8Array {
  const bits = pixels instanceof Uint16Array ? 16 : 8;
  if (pixels.length !== width * height * bands)
    throw new Error('encodeTiff: pixels.length must be width*height*bands');
  const dataBytes = pixels.byteLength;
  const entries: Array<[tag: number, type: number, values: number[]]> = [
    [256, 4, [width]],
    [257, 4, [height]],
    [258, 3, new Array(bands).fill(bits)],
    [259, 3, [1]],
    [262, 3, [1]],
    [273, 4, [0]], // patched below once the layout is known
    [277, 3, [bands]],
    [278, 4, [height]],
    [279, 4, [dataBytes]],
    [284, 3, [1]],
  ];
  if (bands > 1) entries.push([338, 3, new Array(bands - 1).fill(0)]);
  entries.push([339, 3, new Array(bands).fill(1)]);

  const ifdOffset = 8;
  const ifdSize = 2 + entries.length * 12 + 4;
  let extraOffset = ifdOffset + ifdSize;
  const extras: Array<{ offset: number; type: number; values: number[] }> = [];
  for (const [, type, values] of entries) {
    const size = values.length * (type === 3 ? 2 : 4);
    if (size > 4) {
      extras.push({ offset: extraOffset, type, values });
      extraOffset += size + (size % 2);
    }
  }
  const dataOffset = extraOffset;
  entries.find((e) => e[0] === 273)![2][0] = dataOffset;

  const out = new Uint8Array(dataOffset + dataBytes);
  const view = new DataView(out.buffer);
  out.set([0x49, 0x49, 42, 0]);
  view.setUint32(4, ifdOffset, true);
  view.setUint16(ifdOffset, entries.length, true);
  let extraIndex = 0;
  entries.forEach(([tag, type, values], i) => {
    const at = ifdOffset + 2 + i * 12;
    view.setUint16(at, tag, true);
    view.setUint16(at + 2, type, true);
    view.setUint32(at + 4, values.length, true);
    const size = values.length * (type === 3 ? 2 : 4);
    const target = size > 4 ? extras[extraIndex++].offset : at + 8;
    if (size > 4) view.setUint32(at + 8, target, true);
    values.forEach((v, j) =>
      type === 3 ? view.setUint16(target + j * 2, v, true) : view.setUint32(target + j * 4, v, true),
    );
  });
  view.setUint32(ifdOffset + 2 + entries.length * 12, 0, true);
  const bytes = new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  out.set(bytes, dataOffset); // host is little-endian, matching the "II" header
  return out;
}
