// The label store as clients reach it: over the tracker's HTTP API with the bearer token, through Hono's typed client
// built from the labels routers' types. Only types come from tracker/, so clients never load the tracker's server
// or database code.
import { hc } from 'hono/client';
import type { Settings } from '../config/settings.ts';
import { PROJECT_ID } from '../contracts/project-id.ts';
import type { LabelsApi } from '../tracker/labels/routes.tsx';

export function checkProject(project: string): void {
  if (!PROJECT_ID.test(project))
    throw new Error(
      `project ${JSON.stringify(project)} is not a valid project id: use 1-64 characters of a-z 0-9 - _, starting with a letter or digit`,
    );
}

/** A refused or failed label-store request; the message names the route, the status and the tracker's answer. */
export class LabelStoreRequestError extends Error {
  constructor(
    message: string,
    readonly method: string,
    readonly url: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'LabelStoreRequestError';
  }
}

export interface ImportSummary {
  rows: number;
  newImages: number;
  newClasses: string[];
  changes: number;
}

/** The tracker's {error} message, or the body as it came (a proxy's page, say). */
function trackerMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === 'string') return body.error;
  } catch {
    // not JSON: the text itself says what went wrong
  }
  return text;
}

export class LabelStoreClient {
  private readonly api: ReturnType<typeof hc<LabelsApi>>;
  readonly url: string;

  /** `token` may be omitted for a tracker that lets reads through (PATCHWORK_PUBLIC_READ); writes need it. */
  constructor(tracker: { url: string; token?: string }) {
    this.url = tracker.url.replace(/\/+$/, '');
    const headers: Record<string, string> = tracker.token ? { authorization: `Bearer ${tracker.token}` } : {};
    this.api = hc<LabelsApi>(`${this.url}/projects`, { headers });
  }

  /** A client for the CLI: checks that the tracker answers and that there is a token, naming the fix if not. */
  static async connect(settings: Settings): Promise<LabelStoreClient> {
    const url = settings.tracker.url.replace(/\/+$/, '');
    try {
      const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
      if (!health.ok) throw new Error(`GET /health answered ${health.status}`);
    } catch (error) {
      throw new Error(
        `the tracker at ${url} is not running (${(error as Error).message}). Start it with \`patchwork up\`, or set PATCHWORK_TRACKER_URL to where it runs.`,
      );
    }
    if (!settings.tracker.token)
      throw new Error(
        'no tracker token: writes to the label store need it. Run `patchwork up` (it records one) or set PATCHWORK_TOKEN to the token the tracker was started with.',
      );
    return new LabelStoreClient({ url, token: settings.tracker.token });
  }

  async projects() {
    return (await this.ok('GET', this.api.index.$get())).json();
  }

  async createProject(project: { id: string; name?: string; root?: string }) {
    return (await this.ok('POST', this.api.index.$post({ json: project }))).json();
  }

  /** Registers images (at most 100 000 per call); returns how many were new. */
  async addImages(project: string, images: { key: string; viewKey?: string | null }[]): Promise<number> {
    const response = await this.ok('POST', this.api[':project'].images.$post({ param: { project }, json: { images } }));
    return (await response.json()).added;
  }

  /** Every class of the project, retired ones included, in column order. */
  async classes(project: string): Promise<{ name: string; retired: boolean }[]> {
    return (await (await this.ok('GET', this.api[':project'].classes.$get({ param: { project } }))).json()).classes;
  }

  /** The classes that are not retired, in column order: the ones a round trains and predicts. */
  async activeClasses(project: string): Promise<string[]> {
    return (await this.classes(project)).filter((c) => !c.retired).map((c) => c.name);
  }

  async addClass(project: string, name: string) {
    return (await this.ok('POST', this.api[':project'].classes.$post({ param: { project }, json: { name } }))).json();
  }

  /** The project's labels in the CSV layout of tracker/labels/csv.ts. */
  async exportCsv(project: string): Promise<string> {
    return (await this.ok('GET', this.api[':project']['export.csv'].$get({ param: { project } }))).text();
  }

  async importCsv(project: string, csv: string): Promise<ImportSummary> {
    const response = await this.ok(
      'POST',
      this.api[':project']['import.csv'].$post(
        { param: { project } },
        { headers: { 'content-type': 'text/csv' }, init: { body: csv } },
      ),
    );
    return (await response.json()) as ImportSummary;
  }

  /** Replaces the predictions of the given images: probs[i][j] for keys[i] and classes[j]. */
  async putPredictions(project: string, predictions: { keys: string[]; classes: string[]; probs: number[][] }) {
    await this.ok('PUT', this.api[':project'].predictions.$put({ param: { project }, json: predictions }));
  }

  /** Replaces the project's active-learning queue (the labeler shows it). */
  async putQueue(project: string, queue: { round: number; sort: string; keys: string[] }) {
    return (await this.ok('PUT', this.api[':project'].queue.$put({ param: { project }, json: queue }))).json();
  }

  /** The project's map (model hash, method, points stored), or undefined when it has none yet. */
  async mapInfo(project: string) {
    const response = await this.api[':project'].map.info.$get({ param: { project } });
    if (response.status === 404) return undefined;
    return (await this.ok('GET', Promise.resolve(response))).json();
  }

  /** Stores a slice of the map (at most 100 000 points); the first slice of a new model hash replaces the old map. */
  async putMap(project: string, map: { modelHash: string; method: 'umap' | 'pca'; keys: string[]; xy: number[] }) {
    return (await this.ok('PUT', this.api[':project'].map.$put({ param: { project }, json: map }))).json();
  }

  private async ok<R extends Response>(method: string, request: Promise<R>): Promise<R> {
    const response = await request;
    if (response.ok) return response;
    const message = trackerMessage(await response.text());
    const hint = response.status === 401 ? ' (PATCHWORK_TOKEN is not the token the tracker was started with)' : '';
    throw new LabelStoreRequestError(
      `${method} ${response.url}: ${response.status} ${message.slice(0, 500)}${hint}`,
      method,
      response.url,
      response.status,
    );
  }
}
