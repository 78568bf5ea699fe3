// The label store as the CLI reaches it: over the tracker's HTTP API with the bearer token, so the CLI never loads the
// tracker's database code.
import { PROJECT_ID } from '../contracts/project-id.ts';
import type { Settings } from '../config/settings.ts';

export function checkProject(project: string): void {
  if (!PROJECT_ID.test(project))
    throw new Error(
      `project ${JSON.stringify(project)} is not a valid project id: use 1-64 characters of a-z 0-9 - _, starting with a letter or digit`,
    );
}

export class LabelStoreClient {
  constructor(private readonly tracker: Settings['tracker']) {}

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

  get url(): string {
    return this.tracker.url;
  }

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return JSON.parse(
      await this.text(method, path, body === undefined ? undefined : JSON.stringify(body)),
    ) as T;
  }

  /** The response text of a label-store route; errors name the route, the status and the tracker's message. */
  async text(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
    contentType = 'application/json',
  ): Promise<string> {
    const response = await fetch(`${this.tracker.url}/projects${path}`, {
      method,
      headers: { authorization: `Bearer ${this.tracker.token}`, 'content-type': contentType },
      body,
    });
    const text = await response.text();
    if (!response.ok) {
      const hint =
        response.status === 401 ? ' (PATCHWORK_TOKEN is not the token the tracker was started with)' : '';
      throw new Error(
        `${method} ${this.tracker.url}/projects${path}: ${response.status} ${text.slice(0, 300)}${hint}`,
      );
    }
    return text;
  }
}
