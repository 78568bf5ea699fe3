// Bearer-token check for write routes. Written by hand (a few lines) rather than with hono/bearer-auth because that
// answers 400 for a malformed header; here anything but the right token is a 401, before the body is read.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function requireToken(token: string): MiddlewareHandler {
  if (!token) throw new Error('requireToken: the tracker needs a non-empty write token (PATCHWORK_TOKEN)');
  const expected = digest(token);
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match || !timingSafeEqual(digest(match[1]), expected)) {
      c.header('WWW-Authenticate', 'Bearer realm="patchwork-tracker"');
      return c.json(
        {
          error: match
            ? 'wrong bearer token; use the PATCHWORK_TOKEN the tracker was started with'
            : 'missing bearer token: send "Authorization: Bearer <PATCHWORK_TOKEN>"',
        },
        401,
      );
    }
    await next();
  };
}
