// How the supervisor tells that one start of a service answers.
import { readFileSync } from 'node:fs';
import { httpOk } from './process.ts';
import type { ServiceSpec } from './spec.ts';
import { temporalIsServing } from './temporal.ts';

function logSince(path: string, offset: number): string {
  try {
    return readFileSync(path).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

/**
 * A probe for one start of the service: a log-line readiness only counts lines written after `logOffset`, so an
 * earlier run's "polling" line does not make a restarted worker look ready.
 */
export function readinessProbe(spec: ServiceSpec, pid: number, logOffset: number): () => Promise<boolean> {
  const ready = spec.ready;
  switch (ready.kind) {
    case 'http':
      return () => httpOk(ready.url);
    case 'temporal':
      return () => temporalIsServing(ready.address);
    case 'log': {
      const text = ready.text.replace('{pid}', String(pid));
      return async () => logSince(spec.logFile, logOffset).includes(text);
    }
  }
}
