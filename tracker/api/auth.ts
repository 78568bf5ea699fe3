// Bearer-token check for write routes. Written by hand (a few lines) rather than with hono/bearer-auth because that
// answers 400 for a malformed header; here anything but the right token is a 401, before the body is read.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** The credentials of an `Authorization: Bearer <token>` header (the scheme in any case), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}

/** Constant-time comparison of a presented secret with the expected one. */
export function sameSecret(given: string | undefined, expected: string): boolean {
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

export function requireToken(token: string): MiddlewareHandler {
  if (!token) throw new Error('requireToken: the tracker needs a non-empty write token (PATCHWORK_TOKEN)');
  const expected = digest(token);
  return async (c, next) => {
    const given = bearerToken(c.req.header('authorization'));
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      c.header('WWW-Authenticate', 'Bearer realm="patchwork-tracker"');
      return c.json(
        {
          error:
            given !== undefined
              ? 'wrong bearer token; use the PATCHWORK_TOKEN the tracker was started with'
              : 'missing bearer token: send "Authorization: Bearer <PATCHWORK_TOKEN>"',
        },
        401,
      );
    }
    await next();
  };
}
