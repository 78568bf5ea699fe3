// Memory of a pretraining run's file list as the training session holds it: the packed KeyList (text + line offsets
// + lookup table) against the string array and key -> index Map it replaced, for --keys synthetic keys of about 40
// characters. Heap and array-buffer bytes after a full GC, and the time to build and to look up every key.
//   npm run bench:keylist [-- --keys 1000000]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { KeyList } from '../../ml/data/key-list.ts';

const { values } = parseArgs({ options: { keys: { type: 'string', default: '1000000' } } });
const count = Number(values.keys);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('bench: run with node --expose-gc');

function used(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function text(): Uint8Array {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`tiles/zone-${i % 60}/2024-${(i % 12) + 1}/tile_${String(i).padStart(9, '0')}.png`);
  return new TextEncoder().encode(lines.join('\n'));
}

function measure(name: string, build: (bytes: Uint8Array) => { lookup: (key: string) => number; at: (i: number) => string }) {
  let bytes: Uint8Array | undefined = text();
  const before = used() - bytes.length;
  const t0 = performance.now();
  const list = build(bytes);
  list.lookup(list.at(0));
  const buildMs = performance.now() - t0;
  bytes = undefined;
  const bytesPerKey = (used() - before) / count;
  const t1 = performance.now();
  for (let i = 0; i < count; i += 97) if (list.lookup(list.at(i)) !== i) throw new Error(`${name}: lookup of key ${i} failed`);
  const lookupUs = ((performance.now() - t1) * 1000) / Math.ceil(count / 97);
  console.log(`${name.padEnd(26)} ${bytesPerKey.toFixed(0).padStart(5)} bytes/key   build ${(buildMs / 1000).toFixed(2)} s   at + lookup ${lookupUs.toFixed(2)} us`);
  return list;
}

console.log(`${count} keys of about 40 characters; load ${loadavg()[0]!.toFixed(1)}`);
measure('string[] + Map (before)', (bytes) => {
  const keys = new TextDecoder().decode(bytes).split('\n');
  const index = new Map(keys.map((key, i) => [key, i]));
  return { lookup: (key) => index.get(key) ?? -1, at: (i) => keys[i]! };
});
measure('KeyList (packed)', (bytes) => {
  const list = KeyList.fromText(bytes.slice());
  return { lookup: (key) => list.indexOf(key), at: (i) => list.at(i) };
});
