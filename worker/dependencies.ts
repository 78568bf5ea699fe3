import { openStorage, type Storage } from '../storage/index.ts';
import type { Settings } from '../config/settings.ts';

/** The storage handles activities get: the run store, and a way to open user sources with the same S3 settings. */
export function storageFor(settings: Settings): { store: Storage; openSource(location: string): Storage } {
  return {
    store: openStorage(settings.store, settings.s3),
    openSource: (location: string) => openStorage(location, settings.s3),
  };
}
