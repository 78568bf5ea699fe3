// A worker stand-in for the tracker-client tests, run as its own process so a test can SIGKILL it: logs the first
// half of `steps` scalars of `run` and flushes them ("acked"), waits for a line on stdin, logs the second half
// (the tracker is down by then), spools everything unacknowledged to disk ("persisted") and idles until killed.
// Usage: node --import tsx tests/helpers/tracker-logger.ts <url> <token> <run> <spoolDir> <steps>
import { createInterface } from 'node:readline';
import { TrackerClient } from '../../tracker-client/client.ts';

const [url, token, run, spoolDir, stepsText] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const steps = Number(stepsText);
const { client } = await TrackerClient.start({
  url,
  token,
  run,
  spoolDir,
  skipLogged: true,
  batchSize: 25,
  flushIntervalMs: 20,
  retryMinMs: 20,
  retryMaxMs: 200,
});
const half = Math.floor(steps / 2);
for (let step = 0; step < half; step++) client.scalar('loss', step, step / 10);
await client.flush();
console.log('acked');
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once('line', () => resolve()));
for (let step = half; step < steps; step++) client.scalar('loss', step, step / 10);
await new Promise((r) => setTimeout(r, 100)); // let the client take a batch in flight against the dead tracker
client.persist();
console.log(`persisted ${client.pending.spoolFiles}`);
setInterval(() => undefined, 60_000);
