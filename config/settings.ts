import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

/**
 * Runtime settings, from environment variables first, then from what `patchwork up` recorded in
 * <home>/services.json, then defaults for the embedded single-machine setup.
 */
export interface Settings {
  home: string;
  temporal: { address: string; namespace: string };
  s3?: { endpoint: string; accessKey: string; secretKey: string; region: string };
  /** Where runs write outputs: a folder or s3://bucket/prefix. */
  store: string;
  tracker: { url: string; token?: string };
  /** Activities the compute worker runs at once (one per device). */
  gpuConcurrency: number;
}

/** What `patchwork up` writes so later commands find the services it started. */
export const servicesFileSchema = z.object({
  startedAt: z.string(),
  temporal: z.object({ address: z.string(), namespace: z.string(), uiUrl: z.string().optional(), pid: z.number().optional() }),
  s3: z
    .object({
      endpoint: z.string(),
      accessKey: z.string(),
      secretKey: z.string(),
      consoleUrl: z.string().optional(),
      pid: z.number().optional(),
    })
    .optional(),
  tracker: z.object({ url: z.string(), pid: z.number().optional() }),
  tensorboard: z.object({ url: z.string(), pid: z.number() }).optional(),
  workers: z.array(z.object({ queue: z.string(), pid: z.number() })),
  token: z.string(),
  store: z.string(),
});
export type ServicesFile = z.infer<typeof servicesFileSchema>;

export const servicesFilePath = (home: string) => join(home, 'services.json');

export function readServicesFile(home: string): ServicesFile | undefined {
  let text: string;
  try {
    text = readFileSync(servicesFilePath(home), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = servicesFileSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

const envSchema = z.object({
  PATCHWORK_HOME: z.string().min(1).optional(),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d+$/, 'TEMPORAL_ADDRESS must look like host:port, e.g. 127.0.0.1:7233')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  S3_ENDPOINT: z.string().url('S3_ENDPOINT must be a URL such as http://127.0.0.1:9000').optional(),
  S3_ACCESS_KEY: z.string().min(1).optional(),
  S3_SECRET_KEY: z.string().min(1).optional(),
  S3_REGION: z.string().min(1).optional(),
  S3_BUCKET: z.string().min(3).optional(),
  PATCHWORK_STORE: z.string().min(1).optional(),
  PATCHWORK_TRACKER_URL: z.string().url('PATCHWORK_TRACKER_URL must be a URL').optional(),
  PATCHWORK_TOKEN: z.string().min(1).optional(),
  PATCHWORK_GPU_CONCURRENCY: z.coerce.number().int().min(1).optional(),
});

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SettingsError(`environment variable ${issue.path.join('.')}: ${issue.message}`);
  }
  const e = parsed.data;
  const home = resolve(e.PATCHWORK_HOME ?? '.patchwork');
  const recorded = readServicesFile(home);
  const s3Endpoint = e.S3_ENDPOINT ?? recorded?.s3?.endpoint;
  if (e.S3_ENDPOINT && (!e.S3_ACCESS_KEY || !e.S3_SECRET_KEY)) {
    throw new SettingsError('S3_ENDPOINT is set but S3_ACCESS_KEY or S3_SECRET_KEY is missing; set both');
  }
  const s3 = s3Endpoint
    ? {
        endpoint: s3Endpoint,
        accessKey: e.S3_ACCESS_KEY ?? recorded?.s3?.accessKey ?? '',
        secretKey: e.S3_SECRET_KEY ?? recorded?.s3?.secretKey ?? '',
        region: e.S3_REGION ?? 'us-east-1',
      }
    : undefined;
  const store = e.PATCHWORK_STORE ?? (e.S3_BUCKET ? `s3://${e.S3_BUCKET}` : (recorded?.store ?? join(home, 'store')));
  return {
    home,
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? recorded?.temporal.address ?? '127.0.0.1:7233',
      namespace: e.TEMPORAL_NAMESPACE ?? recorded?.temporal.namespace ?? 'default',
    },
    s3,
    store,
    tracker: { url: e.PATCHWORK_TRACKER_URL ?? recorded?.tracker.url ?? 'http://127.0.0.1:8787', token: e.PATCHWORK_TOKEN ?? recorded?.token },
    gpuConcurrency: e.PATCHWORK_GPU_CONCURRENCY ?? 1,
  };
}

/** The variables a child process needs to see the same settings. */
export function settingsToEnv(settings: Settings): Record<string, string> {
  const env: Record<string, string> = {
    PATCHWORK_HOME: settings.home,
    TEMPORAL_ADDRESS: settings.temporal.address,
    TEMPORAL_NAMESPACE: settings.temporal.namespace,
    PATCHWORK_STORE: settings.store,
    PATCHWORK_TRACKER_URL: settings.tracker.url,
    PATCHWORK_GPU_CONCURRENCY: String(settings.gpuConcurrency),
  };
  if (settings.tracker.token) env.PATCHWORK_TOKEN = settings.tracker.token;
  if (settings.s3) {
    env.S3_ENDPOINT = settings.s3.endpoint;
    env.S3_ACCESS_KEY = settings.s3.accessKey;
    env.S3_SECRET_KEY = settings.s3.secretKey;
    env.S3_REGION = settings.s3.region;
  }
  return env;
}
