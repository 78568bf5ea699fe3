// End to end: files from our EventFileWriter and writeProjector, read back by TensorBoard 2.21 itself:
// EventAccumulator in the venv (exact values, every CRC checked by TensorFlow's record reader) and a live
// `tensorboard` over HTTP with the default (Rust) loader and with --load_fast=false. One logdir holds two runs:
// "roundtrip" (every summary kind, hparams, projector) and "resume" (a crashed session resumed at step 50, legacy
// simple_value scalars as the tracker writes them, plus an hparams session whose metric is that legacy scalar).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  EventFileWriter,
  readEventFile,
  tensorNumbers,
  tileImages,
  writeProjector,
  type Uint8Image,
} from '../../tensorboard-format/index.ts';
import { runPythonJson } from '../helpers/python.ts';
import { pollUntil, startTensorBoard, type LiveTensorBoard } from '../helpers/tensorboard.ts';

const f32 = Math.fround;
const float32Bits = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0];

// Inputs. Expected results below are derived from these (float32 rounding, pixel arrays) or by numpy.
const lossValues = Array.from({ length: 20 }, (_, s) => 1 / (s + 1) + 0.001 * s);
const specialValues = [NaN, Infinity, -Infinity, 1e-45, 3.4e38];
const histogramInputs = [0, 1].map((s) =>
  Array.from({ length: 500 }, (_, i) => Math.sin(i * 0.37 + s) * (i % 7) + s),
);
const markdown = 'Epoch **one** done: `loss` went down.\n\n- a\n- b';
const hparamValues = { lr: 0.01, optimizer: 'adam', sobel: true };

function patternImage(height: number, width: number, channels: 1 | 3, seed: number): Uint8Image {
  const data = new Uint8Array(height * width * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + seed * 101) % 256;
  return { data, height, width, channels };
}
const samples = [patternImage(4, 5, 3, 1), patternImage(4, 5, 3, 2)];
const grid = tileImages(
  [0, 1, 2].map((s) => patternImage(3, 3, 1, s)),
  { padding: 1, background: 255 },
);

const embeddingRows = Array.from({ length: 9 }, (_, i) => [
  Math.cos(i) * 3.3,
  Math.sin(i * 1.7) - 0.25,
  i / 7,
]);
const spriteColours = embeddingRows.map((_, i) => [(i * 40) % 256, (i * 90) % 256, 255 - i * 20]);
const thumb = 8;

let logdir: string;
let roundtripFile: string;
let resumeFiles: string[];
let boards: { name: string; board: LiveTensorBoard }[] = [];

async function writeRoundtrip(dir: string): Promise<string> {
  const w = await EventFileWriter.open(dir);
  w.addHparamsExperiment({
    hparams: [
      { name: 'lr', domain: { min: 0.0001, max: 1 } },
      { name: 'optimizer', domain: ['adam', 'sgd'] },
      { name: 'sobel', domain: [true, false] },
    ],
    metrics: [{ tag: 'loss', displayName: 'training loss' }],
  });
  w.addHparamsSessionStart(hparamValues);
  lossValues.forEach((v, step) => w.addScalar('loss', v, step));
  specialValues.forEach((v, step) => w.addScalar('special', v, step));
  await w.addImages('samples', samples, 0);
  await w.addImages('grid', grid, 1);
  histogramInputs.forEach((values, step) => w.addHistogram('weights', values, step, { buckets: 10 }));
  w.addText('notes', markdown, 0);
  w.addHparamsSessionEnd('success', lossValues.length - 1);
  await w.close();
  const result = await writeProjector(dir, [
    {
      name: 'emb_tsv',
      values: embeddingRows,
      metadata: {
        columns: ['index', 'parity'],
        rows: embeddingRows.map((_, i) => [i, i % 2 ? 'odd' : 'even']),
      },
      sprite: {
        thumbSize: thumb,
        images: spriteColours.map((c) => ({
          data: new Uint8Array(Array.from({ length: 20 * 20 }, () => c).flat()),
          height: 20,
          width: 20,
          channels: 3,
        })),
      },
    },
    {
      name: 'emb_bin',
      values: embeddingRows.flat(),
      shape: [9, 3],
      format: 'binary',
      metadata: embeddingRows.map((_, i) => `p${i}`),
    },
  ]);
  assert.deepEqual(result.formats, { emb_tsv: 'tsv', emb_bin: 'binary' });
  return w.path;
}

const resumeHparams = { lr: 0.5, optimizer: 'sgd', sobel: false };

async function writeResume(dir: string): Promise<string[]> {
  const first = await EventFileWriter.open(dir, { scalarForm: 'simple_value' });
  first.addHparamsSessionStart(resumeHparams);
  for (let step = 0; step < 100; step++) first.addScalar('loss', step, step);
  await first.close(); // the "crash": steps 50..99 are orphaned once the run resumes from a step-49 checkpoint
  const second = await EventFileWriter.open(dir, { startStep: 50, scalarForm: 'simple_value' });
  for (let step = 50; step <= 120; step++) second.addScalar('loss', 1000 + step, step);
  await second.close();
  return [first.path, second.path];
}

const expectedResume = Array.from({ length: 121 }, (_, step) => [step, step < 50 ? step : 1000 + step]);

const pythonCheck = `
import json, sys, os
import numpy as np
args = json.loads(sys.argv[1])
import tensorflow as tf
from google.protobuf import json_format
from tensorboard.backend.event_processing import event_accumulator, plugin_event_accumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.util import tensor_util
out = {}

# Every record of every file, read by TensorFlow's TFRecord reader (raises DataLossError on any bad CRC).
out["records"] = {p: sum(1 for _ in tf.data.TFRecordDataset(p)) for p in args["files"]}

ea = event_accumulator.EventAccumulator(args["roundtrip"], size_guidance={"tensors": 0, "images": 0, "histograms": 0, "scalars": 0}).Reload()
arr = lambda tag: [(t.step, tensor_util.make_ndarray(t.tensor_proto)) for t in ea.Tensors(tag)]
bits = lambda a: int(np.asarray(a, dtype=np.float32).view(np.uint32))
out["loss"] = [[s, bits(a), str(a.dtype)] for s, a in arr("loss")]
out["special"] = [[s, bits(a)] for s, a in arr("special")]
out["plugins"] = {tag: ea.SummaryMetadata(tag).plugin_data.plugin_name for tag in ea.Tags()["tensors"]}
images = {}
for tag in ["samples", "grid"]:
    for s, a in arr(tag):
        w, h = a[0].decode(), a[1].decode()
        decoded = [tf.io.decode_png(png).numpy() for png in a[2:]]
        images[tag] = {"step": s, "width": w, "height": h, "shapes": [list(d.shape) for d in decoded], "pixels": [d.flatten().tolist() for d in decoded]}
out["images"] = images
hist = []
for (s, a), values in zip(arr("weights"), args["histograms"]):
    counts, edges = np.histogram(np.asarray(values), bins=10)
    hist.append({"step": s, "rows": a.tolist(), "numpy_counts": counts.tolist(), "numpy_edges": edges.tolist()})
out["histograms"] = hist
out["text"] = [[s, a.item().decode("utf-8")] for s, a in arr("notes")]
out["hparams"] = {tag: json_format.MessageToDict(plugin_data_pb2.HParamsPluginData.FromString(content), preserving_proto_field_name=True)
                  for tag, content in ea.PluginTagToContent("hparams").items()}

# Resume: the server's Python accumulator (purges on the second START; converts simple_value to tensors) ...
pea = plugin_event_accumulator.EventAccumulator(args["resume"], size_guidance={"tensors": 0}).Reload()
out["resume_plugin"] = [[t.step, float(tensor_util.make_ndarray(t.tensor_proto))] for t in pea.Tensors("loss")]
# ... and the legacy EventAccumulator, which purges Scalars() (where simple_value scalars live) on START.
lea = event_accumulator.EventAccumulator(args["resume"], size_guidance={"tensors": 0, "scalars": 0}).Reload()
out["resume_legacy"] = [[s.step, s.value] for s in lea.Scalars("loss")]
out["resume_legacy_tensor_tags"] = [t for t in lea.Tags()["tensors"] if not t.startswith("_hparams_/")]
print(json.dumps(out))
`;

interface PythonView {
  records: Record<string, number>;
  loss: [number, number, string][];
  special: [number, number][];
  plugins: Record<string, string>;
  images: Record<
    string,
    { step: number; width: string; height: string; shapes: number[][]; pixels: number[][] }
  >;
  histograms: { step: number; rows: number[][]; numpy_counts: number[]; numpy_edges: number[] }[];
  text: [number, string][];
  hparams: Record<string, any>;
  resume_plugin: [number, number][];
  resume_legacy: [number, number][];
  resume_legacy_tensor_tags: string[];
}

describe('event files read by TensorBoard 2.21', () => {
  let python: PythonView;

  before(async () => {
    logdir = await mkdtemp(join(tmpdir(), 'events-tb-'));
    roundtripFile = await writeRoundtrip(join(logdir, 'roundtrip'));
    resumeFiles = await writeResume(join(logdir, 'resume'));
    const started = await Promise.all([
      startTensorBoard(logdir, { loadFast: true }).then((board) => ({ name: 'default loader', board })),
      startTensorBoard(logdir, { loadFast: false }).then((board) => ({ name: '--load_fast=false', board })),
      runPythonJson<PythonView>(pythonCheck, {
        input: {
          files: [roundtripFile, ...resumeFiles],
          roundtrip: join(logdir, 'roundtrip'),
          resume: join(logdir, 'resume'),
          histograms: histogramInputs,
        },
        timeoutMs: 240_000,
      }).then((view) => {
        python = view;
        return undefined;
      }),
    ]);
    boards = started.filter((s): s is { name: string; board: LiveTensorBoard } => s !== undefined);
  });

  after(async () => {
    await Promise.all(boards.map((b) => b.board.stop()));
    if (logdir) await rm(logdir, { recursive: true, force: true });
  });

  test('TensorFlow reads every record of every file with valid CRCs', async () => {
    for (const file of [roundtripFile, ...resumeFiles]) {
      const ours = await readEventFile(file);
      assert.equal(python.records[file], ours.events.length, file);
    }
  });

  test('EventAccumulator: scalars are rank-0 float32 with the exact float32 bits, NaN and infinities included', () => {
    assert.deepEqual(
      python.loss,
      lossValues.map((v, s) => [s, float32Bits(v), 'float32']),
    );
    assert.deepEqual(
      python.special,
      specialValues.map((v, s) => [s, float32Bits(v)]),
    );
    assert.deepEqual(python.plugins, {
      loss: 'scalars',
      special: 'scalars',
      samples: 'images',
      grid: 'images',
      weights: 'histograms',
      notes: 'text',
      '_hparams_/experiment': 'hparams',
      '_hparams_/session_start_info': 'hparams',
      '_hparams_/session_end_info': 'hparams',
    });
  });

  test('EventAccumulator: images decode (by TensorFlow) to the pixels written', () => {
    const s = python.images.samples;
    assert.deepEqual(
      [s.step, s.width, s.height, s.shapes],
      [
        0,
        '5',
        '4',
        [
          [4, 5, 3],
          [4, 5, 3],
        ],
      ],
    );
    assert.deepEqual(
      s.pixels,
      samples.map((im) => [...im.data]),
    );
    const g = python.images.grid;
    assert.deepEqual([g.step, g.width, g.height, g.shapes], [1, '7', '7', [[7, 7, 1]]]);
    assert.deepEqual(g.pixels, [[...grid.data]]);
  });

  test('EventAccumulator: histogram buckets agree with numpy.histogram', () => {
    assert.equal(python.histograms.length, 2);
    python.histograms.forEach((h, step) => {
      assert.equal(h.step, step);
      assert.deepEqual(
        h.rows.map((r) => r[2]),
        h.numpy_counts,
      );
      h.rows.forEach((row, i) => {
        assert.ok(
          Math.abs(row[0] - h.numpy_edges[i]) < 1e-9 && Math.abs(row[1] - h.numpy_edges[i + 1]) < 1e-9,
          `row ${i}: ${row} vs ${h.numpy_edges}`,
        );
      });
    });
  });

  test('EventAccumulator: text and hparams come back as written', () => {
    assert.deepEqual(python.text, [[0, markdown]]);
    const experiment = python.hparams['_hparams_/experiment'].experiment;
    assert.deepEqual(
      experiment.hparam_infos.map((h: any) => [h.name, h.type]),
      [
        ['lr', 'DATA_TYPE_FLOAT64'],
        ['optimizer', 'DATA_TYPE_STRING'],
        ['sobel', 'DATA_TYPE_BOOL'],
      ],
    );
    assert.deepEqual(experiment.hparam_infos[0].domain_interval, { min_value: 0.0001, max_value: 1 });
    assert.deepEqual(experiment.hparam_infos[1].domain_discrete, ['adam', 'sgd']);
    assert.deepEqual(experiment.metric_infos, [{ name: { tag: 'loss' }, display_name: 'training loss' }]);
    assert.deepEqual(python.hparams['_hparams_/session_start_info'].session_start_info.hparams, hparamValues);
    assert.equal(python.hparams['_hparams_/session_end_info'].session_end_info.status, 'STATUS_SUCCESS');
  });

  test('resume: the server-side Python accumulator keeps one value per step, the resumed ones from 50', () => {
    assert.deepEqual(python.resume_plugin, expectedResume);
  });

  test('resume: legacy EventAccumulator shows one value per step too (simple_value scalars are purged on START)', () => {
    assert.deepEqual(python.resume_legacy, expectedResume);
    assert.deepEqual(python.resume_legacy_tensor_tags, [], 'legacy scalars must not land in Tensors()');
  });

  for (const loader of ['default loader', '--load_fast=false']) {
    describe(`live tensorboard, ${loader}`, () => {
      const board = () => boards.find((b) => b.name === loader)!.board;
      const get = async <T>(path: string) => {
        const r = await board().getJson<T>(path);
        if (r.status !== 200) throw new Error(`GET ${path} -> ${r.status}: ${String(r.body).slice(0, 200)}`);
        return r.body;
      };

      test('lists both runs and serves the scalars as float32', async () => {
        const series = await pollUntil('loss scalars', async () => {
          const s = await get<[number, number, number][]>(
            '/data/plugin/scalars/scalars?run=roundtrip&tag=loss',
          );
          return s.length === lossValues.length ? s : undefined;
        });
        assert.deepEqual(
          series.map(([, step, value]) => [step, value]),
          lossValues.map((v, s) => [s, f32(v)]),
        );
        assert.deepEqual((await get<string[]>('/data/runs')).sort(), ['resume', 'roundtrip']);
        const environment = await get<{ debug?: { data_provider?: string } }>('/data/environment');
        // Make sure each server really uses the loader it is named after (Rust data server vs Python multiplexer).
        assert.match(
          environment.debug?.data_provider ?? '',
          loader === 'default loader' ? /GrpcDataProvider/ : /MultiplexerDataProvider/,
        );
      });

      test('resume: exactly one value per step 0..120, the resumed ones from step 50', async () => {
        const series = await pollUntil('resumed scalars', async () => {
          const s = await get<[number, number, number][]>(
            '/data/plugin/scalars/scalars?run=resume&tag=loss',
          );
          return s.length >= 121 && s.at(-1)![1] === 120 ? s : undefined;
        });
        assert.deepEqual(
          series.map(([, step, value]) => [step, value]),
          expectedResume,
        );
      });

      test('serves the stored PNG bytes for each image sample', async () => {
        const stored = (await readEventFile(roundtripFile)).events
          .flatMap((e) => e.summary?.value ?? [])
          .find((v) => v.tag === 'samples')!
          .tensor!.string_val!.slice(2);
        for (const sample of [0, 1]) {
          const entries = await pollUntil(`image sample ${sample}`, async () => {
            const e = await get<{ step: number; query: string }[]>(
              `/data/plugin/images/images?run=roundtrip&tag=samples&sample=${sample}`,
            );
            return e.length === 1 ? e : undefined;
          });
          assert.equal(entries[0].step, 0);
          const png = await board().getBytes(`/data/plugin/images/individualImage?${entries[0].query}`);
          assert.equal(png.status, 200);
          assert.ok(png.body.equals(stored[sample]), `sample ${sample} bytes differ`);
        }
      });

      test('serves histogram rows, rendered text and the hparams session', async () => {
        const histograms = await get<[number, number, number[][]][]>(
          '/data/plugin/histograms/histograms?run=roundtrip&tag=weights',
        );
        assert.deepEqual(
          histograms.map(([, step, rows]) => [step, rows.reduce((n, r) => n + r[2], 0)]),
          [
            [0, 500],
            [1, 500],
          ],
        );
        assert.deepEqual(
          histograms[1][2].map((r) => r[2]),
          python.histograms[1].numpy_counts,
        );

        const text = await get<{ step: number; text: string }[]>(
          '/data/plugin/text/text?run=roundtrip&tag=notes',
        );
        assert.equal(text.length, 1);
        assert.match(text[0].text, /<strong>one<\/strong>/);

        const groups = await pollUntil('hparams session groups', async () => {
          const r = await board().postJson<any>('/data/plugin/hparams/session_groups', {
            experimentName: '',
            allowedStatuses: ['STATUS_UNKNOWN', 'STATUS_SUCCESS', 'STATUS_FAILURE', 'STATUS_RUNNING'],
            colParams: [],
            startIndex: 0,
            sliceSize: 100,
          });
          return r.status === 200 && r.body.sessionGroups?.length === 2 ? r.body.sessionGroups : undefined;
        });
        const group = (name: string) => groups.find((g: any) => g.name === name);
        assert.deepEqual(group('roundtrip').hparams, hparamValues);
        assert.equal(group('roundtrip').sessions[0].status, 'STATUS_SUCCESS');
        assert.deepEqual(
          group('roundtrip').metricValues.map((m: any) => [m.name.tag, m.value]),
          [['loss', f32(lossValues.at(-1)!)]],
        );
        // The metric of a run logged with legacy simple_value scalars is the resumed run's last value.
        assert.deepEqual(group('resume').hparams, resumeHparams);
        assert.deepEqual(
          group('resume').metricValues.map((m: any) => [m.name.tag, m.value]),
          [['loss', 1120]],
        );
      });

      test('serves the projector tensors, metadata and sprite', async () => {
        await pollUntil('projector plugin active', async () => {
          const listing = await get<Record<string, { enabled: boolean }>>('/data/plugins_listing');
          return listing.projector?.enabled ? true : undefined;
        });
        assert.deepEqual(await get<string[]>('/data/plugin/projector/runs'), ['roundtrip']);
        const info = await get<{ embeddings: { tensorName: string; tensorShape: number[] }[] }>(
          '/data/plugin/projector/info?run=roundtrip',
        );
        assert.deepEqual(
          info.embeddings.map((e) => [e.tensorName, e.tensorShape]),
          [
            ['emb_tsv', [9, 3]],
            ['emb_bin', [9, 3]],
          ],
        );
        const expected = Buffer.from(new Float32Array(embeddingRows.flat()).buffer);
        for (const name of ['emb_tsv', 'emb_bin']) {
          const tensor = await board().getBytes(`/data/plugin/projector/tensor?run=roundtrip&name=${name}`);
          assert.equal(tensor.status, 200, tensor.body.toString());
          assert.ok(tensor.body.equals(expected), `${name} tensor bytes differ`);
        }
        const metadata = await board().getBytes('/data/plugin/projector/metadata?run=roundtrip&name=emb_tsv');
        assert.equal(metadata.body.toString().split('\n')[0], 'index\tparity');
        const sprite = await board().getBytes(
          '/data/plugin/projector/sprite_image?run=roundtrip&name=emb_tsv',
        );
        assert.equal(sprite.status, 200);
        const { data, info: png } = await sharp(sprite.body).raw().toBuffer({ resolveWithObject: true });
        assert.deepEqual([png.width, png.height], [3 * thumb, 3 * thumb]);
        spriteColours.forEach((colour, i) => {
          const x = (i % 3) * thumb + thumb / 2;
          const y = Math.floor(i / 3) * thumb + thumb / 2;
          const at = (y * png.width + x) * png.channels;
          assert.deepEqual([...data.subarray(at, at + 3)], colour, `sprite cell ${i}`);
        });
      });
    });
  }
});

test('tensorNumbers reads both float_val and tensor_content scalars', () => {
  assert.deepEqual(tensorNumbers({ dtype: 'DT_FLOAT', float_val: [1.5] }), [1.5]);
  const content = Buffer.alloc(4);
  content.writeFloatLE(2.25);
  assert.deepEqual(tensorNumbers({ dtype: 'DT_FLOAT', tensor_content: content }), [2.25]);
});
