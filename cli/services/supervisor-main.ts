// The supervisor process `patchwork up` leaves running: `node --import tsx cli/services/supervisor-main.ts <home>`.
// SIGTERM (from `patchwork down`) stops the supervisor only; the services keep running until down stops them.
import { readPlan, planFilePath } from './spec.ts';
import { Supervisor } from './supervisor.ts';

const home = process.argv[2];
if (!home) {
  console.error('usage: supervisor-main.ts <PATCHWORK_HOME>');
  process.exit(2);
}
const plan = readPlan(home);
if (!plan) {
  console.error(`${planFilePath(home)} is missing or unreadable; run \`patchwork up\` to write it`);
  process.exit(2);
}
const supervisor = new Supervisor(home, plan);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    supervisor.stop();
    process.exit(0);
  });
}
// Nothing here holds the event loop open while every service is up and was started by this process (children are
// unref'd), so an interval keeps the supervisor alive until it is told to stop.
setInterval(() => {}, 1 << 30);
await supervisor.boot();
