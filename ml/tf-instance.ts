// The tfjs namespace and backend that ml/backend.ts chose for this process. Kept apart from the backend loader so that
// kernels the loader installs can reach `tf` without importing the loader back.
export type Tf = typeof import('@tensorflow/tfjs');
export type BackendChoice = 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';

export interface ActiveBackend {
  /** The tfjs backend name as tf.getBackend() reports it: 'tensorflow', 'wasm' or 'cpu'. */
  name: string;
  /** Which of the candidates was loaded. */
  choice: BackendChoice;
  tf: Tf;
  reason: string;
}

let active: ActiveBackend | undefined;

/** The tf namespace of the backend chosen by initBackend. Throws if initBackend has not run. */
export function activeTf(): Tf {
  if (!active) throw new Error('no tfjs backend yet: call `await initBackend({ purpose })` from ml/backend.ts first');
  return active.tf;
}

export function activeBackend(): ActiveBackend | undefined {
  return active;
}

export function setActiveBackend(backend: ActiveBackend): void {
  active = backend;
}
