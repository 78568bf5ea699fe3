// Entry of a decode-pool thread. The task module is TypeScript, and on Node 20 a worker thread does not get the
// loader hooks that `--import tsx` installed in its parent, so it is loaded through tsx's scoped import.
import { tsImport } from 'tsx/esm/api';

const task = await tsImport('./pool-task.ts', import.meta.url);
export default task.default;
