// Request validation for the labels routers with @hono/zod-validator. A refused input is a 400 HTTPException whose
// message names each bad field and what it needs, answered by the tracker's error handler (tracker/api/errors.ts).
import { zValidator } from '@hono/zod-validator';
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import type { ValidationTargets } from 'hono';
import type { z } from 'zod';
import type { LabelsEnv } from './context.ts';

export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

const refuse = (result: { success: boolean; error?: z.ZodError }) => {
  if (!result.success) throw new HTTPException(400, { message: describeIssues(result.error!) });
};

/** Validates one part of the request (query, param, json, form) against the schema. */
export const valid = <T extends z.ZodTypeAny, Target extends keyof ValidationTargets>(target: Target, schema: T) =>
  zValidator(target, schema, refuse);

const isJson = (contentType: string | undefined) => (contentType ?? '').includes('application/json');

/**
 * Validates a write's body, sent as JSON by API clients or as a form by the labeler page; the routes read it with
 * c.req.valid('json') either way.
 */
export function jsonOrForm<T extends z.ZodTypeAny>(schema: T) {
  const json = valid('json', schema);
  const form = valid('form', schema);
  return createMiddleware<LabelsEnv, string, { in: { json: z.input<T> }; out: { json: z.output<T> } }>(async (c, next) => {
    if (!isJson(c.req.header('content-type')))
      return form(c as never, async () => {
        c.req.addValidatedData('json', c.req.valid('form' as never) as object);
        await next();
      });
    try {
      await c.req.json();
    } catch {
      throw new HTTPException(400, { message: 'body is not valid JSON' });
    }
    return json(c as never, next);
  });
}

/** A refusal with its status, for the tracker's error handler to answer. */
export const httpError = (status: 400 | 401 | 403 | 404 | 409 | 413 | 422, message: string) =>
  new HTTPException(status, { message });
