// Runs that declare an HParams experiment through the tracker: TensorBoard shows the declared metric as the only metric
// column and every declared hparam, instead of one metric column per scalar tag.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrackerClient } from '../../tracker-client/client.ts';
import { pollUntil, startTensorBoard, type LiveTensorBoard } from '../helpers/tensorboard.ts';
import { startTracker, type LiveTracker } from '../helpers/tracker.ts';

const experiment = {
  hparams: ['method', 'batch_size', 'k', 'pca_dim', 'k_oc', 'h'],
  metrics: ['downstream/linear_classification_accuracy'],
};

describe('HParams experiment declared at run start', () => {
  let home: string;
  let tracker: LiveTracker;
  let board: LiveTensorBoard;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'patchwork-hparams-'));
    tracker = await startTracker(join(home, 'tracker'));
    const runs: { run: string; hparams: Record<string, string | number> }[] = [
      { run: 'dc', hparams: { method: 'deepcluster', batch_size: 64, k: 100, pca_dim: 256 } },
      { run: 'iic', hparams: { method: 'iic', batch_size: 64, k: 10, k_oc: 50, h: 5 } },
    ];
    for (const { run, hparams } of runs) {
      const { client } = await TrackerClient.start({ url: tracker.url, token: tracker.token, run, hparams, experiment, spoolDir: join(home, 'spool', run) });
      for (let step = 0; step < 3; step++) {
        for (const tag of ['train/loss', 'train/learning_rate', 'perf/images_per_second', 'test/loss']) client.scalar(tag, step, step + 1);
      }
      client.scalar('downstream/linear_classification_accuracy', 2, run === 'dc' ? 0.75 : 0.5);
      await client.close({ status: 'completed', timeoutMs: 60_000 });
    }
    board = await startTensorBoard(tracker.logDir, { loadFast: false });
  });
  after(async () => {
    await board?.stop();
    await tracker?.stop();
    await rm(home, { recursive: true, force: true });
  });

  test('the metric columns are the declared metric only, the hparam columns every declared name', async () => {
    const body = await pollUntil('the hparams experiment', async () => {
      const r = await board.postJson<any>('/data/plugin/hparams/experiment', { experimentName: '' });
      return r.status === 200 && r.body.metricInfos?.length ? r.body : undefined;
    });
    assert.deepEqual(
      body.metricInfos.map((m: any) => m.name.tag),
      ['downstream/linear_classification_accuracy'],
    );
    assert.deepEqual(body.hparamInfos.map((h: any) => h.name).sort(), [...experiment.hparams].sort());
    const groups = await pollUntil('both sessions', async () => {
      const r = await board.postJson<any>('/data/plugin/hparams/session_groups', {
        experimentName: '',
        allowedStatuses: ['STATUS_UNKNOWN', 'STATUS_SUCCESS', 'STATUS_FAILURE', 'STATUS_RUNNING'],
        colParams: [],
        startIndex: 0,
        sliceSize: 100,
      });
      return r.status === 200 && r.body.sessionGroups?.length === 2 ? r.body.sessionGroups : undefined;
    });
    const accuracy = (name: string) => groups.find((g: any) => g.name === name).metricValues.map((m: any) => m.value);
    assert.deepEqual(accuracy('dc'), [0.75]);
    assert.deepEqual(accuracy('iic'), [0.5]);
  });

  test('a declared experiment without metrics is refused naming the field', async () => {
    const response = await fetch(`${tracker.url}/api/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tracker.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ run: 'bad', hparams: { a: 1 }, experiment: { hparams: ['a'], metrics: [] } }),
    });
    assert.equal(response.status, 400);
    assert.match(await response.text(), /experiment\.metrics: declare at least one metric tag/);
  });
});
