// CRC32C, masking and TFRecord framing against published vectors (the standard CRC-32C check value,
// RFC 3720's 32-zero-byte example, and TensorBoard's masked_crc.rs / record examples).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32cOf, maskedCrc32c, maskCrc } from '../../tensorboard-format/crc.ts';
import { frameRecord, parseRecords, RecordCorruptError } from '../../tensorboard-format/record.ts';
import { EventProto } from '../../tensorboard-format/protos.ts';

test('crc32c matches the standard check value and RFC 3720', () => {
  assert.equal(crc32cOf(Buffer.from('123456789', 'ascii')), 0xe3069283);
  assert.equal(maskCrc(0xe3069283), 0xc78ab0e5);
  assert.equal(crc32cOf(new Uint8Array(32)), 0x8a9136aa);
});

test('masked crc of a real TF record payload matches TensorBoard masked_crc.rs', () => {
  const bytes = Buffer.concat([Buffer.from([0x1a, 0x11]), Buffer.from('CRC test, one two', 'ascii')]);
  assert.equal(bytes.length, 19);
  assert.equal(maskedCrc32c(bytes), 0x5794d08a);
});

test('crc is computed on a subarray view, not the whole underlying buffer', () => {
  const big = Buffer.from('xx123456789yy', 'ascii');
  assert.equal(crc32cOf(big.subarray(2, 11)), 0xe3069283);
});

test('a file_version event frames to the reference bytes', () => {
  const payload = EventProto.encode(
    EventProto.fromObject({ wall_time: 1700000000.0, file_version: 'brain.Event:2' }),
  ).finish();
  const record = frameRecord(payload);
  const expected = Buffer.from(
    '1800000000000000' + 'a37f4b22' + '0900000040fc54d9411a0d627261696e2e4576656e743a32' + 'eced8f9d',
    'hex',
  );
  assert.deepEqual(record, expected);
  assert.equal(record.readUInt32LE(8), 0x224b7fa3);
  assert.equal(record.readUInt32LE(record.length - 4), 0x9d8fedec);
});

test('parseRecords returns every payload and reports a cut anywhere inside the last record', () => {
  const payloads = [Buffer.from('first'), Buffer.alloc(0), Buffer.from('third record')];
  const data = Buffer.concat(payloads.map(frameRecord));
  assert.deepEqual(parseRecords(data).payloads, payloads);
  const lastStart = data.length - (payloads[2].length + 16);
  for (let cut = lastStart + 1; cut < data.length; cut++) {
    const parsed = parseRecords(data.subarray(0, cut));
    assert.deepEqual(parsed.payloads, payloads.slice(0, 2), `cut at ${cut}`);
    assert.deepEqual(parsed.truncatedTail, { offset: lastStart, bytes: cut - lastStart });
  }
});

test('parseRecords names the record whose payload or length CRC is wrong', () => {
  const payloads = [Buffer.from('a'), Buffer.from('bb'), Buffer.from('ccc')];
  const data = Buffer.concat(payloads.map(frameRecord));
  const secondStart = 1 + 16;
  const badPayload = Buffer.from(data);
  badPayload[secondStart + 12] ^= 0x01;
  assert.throws(
    () => parseRecords(badPayload, 'test.tfevents'),
    (e: unknown) =>
      e instanceof RecordCorruptError &&
      e.recordIndex === 1 &&
      e.offset === secondStart &&
      e.part === 'payload' &&
      /test\.tfevents: record 1 at byte 17 has a bad payload CRC/.test(e.message),
  );
  const badLength = Buffer.from(data);
  badLength[secondStart + 8] ^= 0x80;
  assert.throws(
    () => parseRecords(badLength),
    (e: unknown) => e instanceof RecordCorruptError && e.recordIndex === 1 && e.part === 'length',
  );
});
