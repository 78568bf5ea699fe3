// NumPy's .npy format (https://numpy.org/devdocs/reference/generated/numpy.lib.format.html): the magic "\x93NUMPY",
// a version (1.0, 2.0 or 3.0), the header's length (2 bytes little-endian in 1.0, 4 in later versions), a Python dict
// literal with 'descr', 'fortran_order' and 'shape', then the array's bytes. Float32 and float64 arrays, little-endian
// and in C order, are read as Float32Array; anything else is an error that says how to convert the file.

export interface NpyArray {
  shape: number[];
  /** The values in C order, converted to float32. */
  data: Float32Array;
  /** The stored dtype: '<f4' or '<f8'. */
  descr: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
const CONVERT = 'save it with np.save(path, np.ascontiguousarray(a, dtype="<f4"))';

function header(bytes: Uint8Array, name: string): { text: string; dataOffset: number } {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    throw new Error(`${name} is not a .npy file (it does not start with \\x93NUMPY); write it with numpy.save`);
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major === 1) return { text: Buffer.from(bytes.subarray(10, 10 + view.getUint16(8, true))).toString('latin1'), dataOffset: 10 + view.getUint16(8, true) };
  if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new Error(`${name}: the .npy header is cut short`);
    const length = view.getUint32(8, true);
    return { text: Buffer.from(bytes.subarray(12, 12 + length)).toString(major === 3 ? 'utf8' : 'latin1'), dataOffset: 12 + length };
  }
  throw new Error(`${name}: .npy format version ${major}.${bytes[7]} is not supported (1.0, 2.0 and 3.0 are)`);
}

function field(text: string, key: string, pattern: string, name: string): string {
  const match = new RegExp(`['"]${key}['"]\\s*:\\s*(${pattern})`).exec(text);
  if (!match) throw new Error(`${name}: the .npy header has no readable '${key}' (header: ${text.trim()})`);
  return match[1]!;
}

/** Parses a .npy file's bytes; `name` (the file) is used in errors. */
export function parseNpy(bytes: Uint8Array, name = 'the .npy file'): NpyArray {
  const { text, dataOffset } = header(bytes, name);
  const descr = field(text, 'descr', `'[^']*'|"[^"]*"`, name).slice(1, -1);
  const fortran = field(text, 'fortran_order', 'True|False', name) === 'True';
  const shapeText = field(text, 'shape', '\\([^)]*\\)', name);
  const shape = shapeText
    .slice(1, -1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((v) => !Number.isInteger(v) || v < 0)) throw new Error(`${name}: .npy shape ${shapeText} is not a shape`);
  const native = descr === '<f4' || descr === '<f8';
  if (!native) {
    const what = /^[<>|=]?f[48]$/.test(descr) && descr.startsWith('>') ? 'big-endian floats' : `dtype ${descr}`;
    throw new Error(`${name} holds ${what}; only little-endian float32 (<f4) or float64 (<f8) can be imported: ${CONVERT}`);
  }
  if (fortran && shape.filter((v) => v > 1).length > 1)
    throw new Error(`${name} is stored in Fortran order; only C order can be imported: ${CONVERT}`);
  const count = shape.reduce((a, b) => a * b, 1);
  const width = descr === '<f4' ? 4 : 8;
  if (bytes.length - dataOffset !== count * width)
    throw new Error(`${name}: ${bytes.length - dataOffset} bytes of data, but shape (${shape.join(', ')}) of ${descr} needs ${count * width}; the file is cut short or not a plain array`);
  // Copy into an aligned buffer: the data may start at any offset of a Buffer from a shared pool.
  const raw = new Uint8Array(count * width);
  raw.set(bytes.subarray(dataOffset));
  const data = width === 4 ? new Float32Array(raw.buffer) : Float32Array.from(new Float64Array(raw.buffer));
  return { shape, data, descr };
}
