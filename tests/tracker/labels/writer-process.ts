// Child process for the concurrent-writer test: opens its own connection and cycles labels on shared cells.
import { LabelStore } from '../../../tracker/labels/store.ts';

const [path, actor, countText] = process.argv.slice(2);
const store = LabelStore.open(path!);
const count = Number(countText);
const cycle = [1, 0, null] as const;
process.send?.('ready');
process.once('message', () => {
  for (let i = 0; i < count; i++) {
    const key = `img/${i % 3}.png`;
    const cls = i % 2 === 0 ? 'cat' : 'dog';
    store.setLabel('p', key, cls, cycle[i % 3]!, actor!);
  }
  store.close();
  process.exit(0);
});
