// A run's file list, held as its UTF-8 text plus line offsets rather than one JS string per key: about 45 bytes a
// key of 40 characters instead of about 120 for a string array and a key -> index Map, and two objects instead of
// tens of millions for the garbage collector to walk. Keys are decoded on demand; indexOf uses an open-addressing
// table of line numbers over the same bytes.

const NEWLINE = 0x0a;
const MAX_TEXT_BYTES = 2 ** 32 - 1;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class KeyList {
  /** Line i is text[starts[i], starts[i + 1] - 1). */
  private readonly starts: Uint32Array;
  private table: Int32Array | undefined;

  private constructor(
    private readonly utf8: Uint8Array,
    emptyIsNone = false,
  ) {
    if (utf8.length > MAX_TEXT_BYTES) {
      throw new RangeError(`file list: ${utf8.length} bytes of keys is over the 4 GiB a list can hold; split the source into several runs`);
    }
    if (emptyIsNone && utf8.length === 0) {
      this.starts = new Uint32Array(1);
      return;
    }
    let lines = 1;
    for (let i = 0; i < utf8.length; i++) if (utf8[i] === NEWLINE) lines++;
    this.starts = new Uint32Array(lines + 1);
    let line = 1;
    for (let i = 0; i < utf8.length; i++) if (utf8[i] === NEWLINE) this.starts[line++] = i + 1;
    this.starts[lines] = utf8.length + 1;
  }

  /** Keys separated by "\n", as String.split would see them (an empty text is one empty key). */
  static fromText(text: Uint8Array): KeyList {
    return new KeyList(text);
  }

  /** Keys separated by "\n", an empty text holding none (as KeyListBuilder writes them). */
  static fromLines(text: Uint8Array): KeyList {
    return new KeyList(text, true);
  }

  static of(keys: readonly string[]): KeyList {
    if (keys.some((key) => key.includes('\n'))) throw new Error('file list: a key contains a newline');
    return new KeyList(encoder.encode(keys.join('\n')), keys.length === 0);
  }

  /** The keys as "\n"-separated UTF-8, as stored. */
  text(): Uint8Array {
    return this.utf8;
  }

  get length(): number {
    return this.starts.length - 1;
  }

  at(index: number): string {
    if (!(index >= 0 && index < this.length)) throw new RangeError(`file list: index ${index} is outside 0..${this.length - 1}`);
    return decoder.decode(this.bytesOf(index));
  }

  /** Index of the first line equal to key, or -1. */
  indexOf(key: string): number {
    const table = (this.table ??= this.buildTable());
    const bytes = encoder.encode(key);
    const mask = table.length - 1;
    for (let slot = hashBytes(bytes, 0, bytes.length) & mask; ; slot = (slot + 1) & mask) {
      const entry = table[slot]!;
      if (entry === 0) return -1;
      if (sameBytes(this.bytesOf(entry - 1), bytes)) return entry - 1;
    }
  }

  *[Symbol.iterator](): IterableIterator<string> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }

  private bytesOf(index: number): Uint8Array {
    return this.utf8.subarray(this.starts[index]!, this.starts[index + 1]! - 1);
  }

  /** Slots hold line + 1 (0 = empty), at most half full; a repeated key keeps its first line. */
  private buildTable(): Int32Array {
    const n = this.length;
    let size = 2;
    while (size < 2 * n) size *= 2;
    const table = new Int32Array(size);
    const mask = size - 1;
    for (let line = 0; line < n; line++) {
      const from = this.starts[line]!;
      const to = this.starts[line + 1]! - 1;
      let slot = hashBytes(this.utf8, from, to) & mask;
      for (; table[slot] !== 0; slot = (slot + 1) & mask) {
        if (sameBytes(this.bytesOf(table[slot]! - 1), this.utf8.subarray(from, to))) break;
      }
      if (table[slot] === 0) table[slot] = line + 1;
    }
    return table;
  }
}

/** Appends keys to one growing UTF-8 buffer, so that a list of millions of keys never exists as JS strings. */
export class KeyListBuilder {
  private buffer = new Uint8Array(1 << 16);
  private used = 0;
  count = 0;

  add(key: string): void {
    if (key === '' || key.includes('\n')) throw new Error(`file list: key ${JSON.stringify(key)} is empty or contains a newline`);
    // UTF-8 takes at most 3 bytes per UTF-16 unit, plus the separator.
    this.reserve(key.length * 3 + 1);
    if (this.count > 0) this.buffer[this.used++] = NEWLINE;
    this.used += encoder.encodeInto(key, this.buffer.subarray(this.used)).written;
    this.count++;
  }

  /** The keys as text (empty when there are none), for the store or KeyList.fromLines. */
  text(): Uint8Array {
    return this.buffer.subarray(0, this.used);
  }

  list(): KeyList {
    return KeyList.fromLines(this.text());
  }

  private reserve(bytes: number): void {
    if (this.used + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.used + bytes) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.used));
    this.buffer = grown;
  }
}

/** FNV-1a, 32 bits. */
function hashBytes(bytes: Uint8Array, from: number, to: number): number {
  let hash = 0x811c9dc5;
  for (let i = from; i < to; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
