// Body parsing for API routes: JSON only, schema-checked, errors that name the field.
import type { Context } from 'hono';
import type { z } from 'zod';
import { TrackerError } from '../runs/errors.ts';

export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}

export async function parseJsonBody<T extends z.ZodTypeAny>(c: Context, schema: T): Promise<z.infer<T>> {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch (error) {
    throw new TrackerError(400, `request body is not valid JSON (${(error as Error).message}); send a JSON object`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new TrackerError(400, describeZodError(parsed.error));
  return parsed.data;
}

export function parseParam<T extends z.ZodTypeAny>(schema: T, value: string, name: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new TrackerError(400, `${name} ${JSON.stringify(value)}: ${parsed.error.issues[0]?.message}`);
  }
  return parsed.data;
}
