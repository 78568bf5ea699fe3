// What every labels router shares: the store, where images are read from, the session signer, and the request
// variables the access middleware sets (the writer of a write, the project of a /:project/... route).
import type { Storage } from '../../../storage/storage.ts';
import { GridPicker } from '../grid.ts';
import { ImageSources, type ImageSourcesOptions } from '../image-sources.ts';
import type { ProjectInfo } from '../projects.ts';
import { DEFAULT_SESSION_TTL_MS, SessionSigner } from '../session.ts';
import type { LabelingLoop } from '../round-trigger.ts';
import type { LabelStore } from '../store.ts';

export interface LabelsDeps {
  store: LabelStore;
  /** Where project images live; a project's keys are relative to its `root` prefix inside this storage. */
  storage: Storage;
  /** Projects whose root is an absolute folder or s3:// location: which locations are allowed, and S3 access. */
  imageRoots?: Omit<ImageSourcesOptions, 'base'>;
  /** Bearer token that every write requires. */
  token: string;
  /** Folder for cached thumbnails. */
  cacheDir: string;
  /** Largest JSON or form body a write accepts, in bytes; default 32 MiB. */
  maxBodyBytes?: number;
  /** Largest CSV import, in bytes; default 64 MiB. */
  maxCsvBytes?: number;
  /** How long a labeler's session cookie is valid; default 12 hours. */
  sessionTtlMs?: number;
  /** Where runs write (rounds' inputs and outputs): the round pages read it. */
  runsStore?: Storage;
  /** The projects' active-learning loops (through Temporal): the Train page reads their status and starts rounds. */
  loop?: LabelingLoop;
}

export interface LabelsContext {
  deps: LabelsDeps;
  store: LabelStore;
  sources: ImageSources;
  signer: SessionSigner;
  picker: GridPicker;
  sessionTtlMs: number;
}

export function labelsContext(deps: LabelsDeps): LabelsContext {
  return {
    deps,
    store: deps.store,
    sources: new ImageSources({ base: deps.storage, ...deps.imageRoots }),
    signer: new SessionSigner(deps.token),
    picker: new GridPicker(deps.store),
    sessionTtlMs: deps.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS,
  };
}

export type LabelsEnv = {
  Variables: {
    /** The actor of an authorised write (POST and PUT routes only). */
    writer: string;
    /** The write carries the bearer token (the CLI or an API client), not a labeler session. */
    writerHasToken: boolean;
    /** The project named by the route's :project (routes under /:project/ only). */
    project: ProjectInfo;
  };
};

/** Whether the request comes from htmx: such requests get HTML fragments, and errors as plain text. */
export const fromHtmx = (c: { req: { header(name: string): string | undefined } }) => c.req.header('hx-request') === 'true';
