// The tracker's one error handler (app.onError). Refusals (HTTPException, TrackerError, LabelStoreError) answer with
// their status and message: as {error} JSON, or as plain text to htmx, which shows it in the page's status line.
// Anything else is a 500 whose details go to the log only.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { LabelStoreError } from '../labels/errors.ts';
import { TrackerError } from '../runs/errors.ts';

export function answerError(error: Error, c: Context): Response {
  if (error instanceof HTTPException && error.res) return error.getResponse();
  const refused = error instanceof HTTPException || error instanceof TrackerError || error instanceof LabelStoreError;
  const status = (refused ? error.status : 500) as ContentfulStatusCode;
  if (status === 500) console.error(error);
  const message = status === 500 ? 'internal error; the tracker log has the details' : error.message;
  if (c.req.header('hx-request') === 'true') return c.text(message, status);
  return c.json({ error: message }, status);
}
