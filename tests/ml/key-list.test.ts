import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyList, KeyListBuilder } from '../../ml/data/key-list.ts';
import { Rng } from '../../ml/rng.ts';

test('a packed file list reads back every key and finds it, as split and a Map would', () => {
  const keys = ['a.png', 'dir/b.jpg', '', 'ünïcode/☃.tif', 'with space.png', 'a.png.bak'];
  const list = KeyList.fromText(new TextEncoder().encode(keys.join('\n')));
  assert.equal(list.length, keys.length);
  assert.deepEqual([...list], keys);
  keys.forEach((key, i) => assert.equal(list.indexOf(key), i));
  assert.equal(list.indexOf('a'), -1);
  assert.equal(list.indexOf('a.png\n'), -1);
  assert.equal(list.indexOf('ünïcode/☃.ti'), -1);
  assert.deepEqual([...KeyList.fromText(new Uint8Array(0))], ['']); // as ''.split('\n')
  assert.throws(() => list.at(keys.length), /index 6 is outside 0\.\.5/);
  assert.throws(() => KeyList.of(['a\nb']), /contains a newline/);
});

test('indexOf on 100 000 random keys finds each one at its line, and a repeated key at its first line', () => {
  const rng = Rng.fromSeed(3);
  const keys = Array.from({ length: 100_000 }, (_, i) => `tiles/${rng.integer(0, 1000)}/${i.toString(36)}-${rng.integer(0, 1e9)}.png`);
  keys.push(keys[500]!);
  const list = KeyList.of(keys);
  for (let i = 0; i < 100_000; i++) assert.equal(list.indexOf(keys[i]!), i);
  assert.equal(list.indexOf(keys[100_000]!), 500);
  assert.equal(list.at(100_000), keys[500]);
  assert.equal(list.indexOf('tiles/1/absent.png'), -1);
});

test('a KeyListBuilder writes the keys as stored text and reads back as a list, none when empty', () => {
  const empty = new KeyListBuilder();
  assert.equal(empty.list().length, 0);
  assert.equal(empty.text().length, 0);
  const builder = new KeyListBuilder();
  const keys = Array.from({ length: 5000 }, (_, i) => `dir/${'ü'.repeat(i % 7)}${i}.png`);
  for (const key of keys) builder.add(key);
  assert.equal(builder.count, keys.length);
  assert.equal(new TextDecoder().decode(builder.text()), keys.join('\n'));
  const list = builder.list();
  assert.deepEqual([...list], keys);
  assert.equal(list.indexOf(keys[4321]!), 4321);
  assert.throws(() => builder.add(''), /is empty or contains a newline/);
  assert.throws(() => builder.add('a\nb'), /is empty or contains a newline/);
});
