// Write authorisation for the labels router.
//
// Scheme: API clients send `Authorization: Bearer <token>`. A person opens the labeler once with
// `/projects/<id>/label?token=<token>&labeler=<name>`; the server checks the token, stores it in an HttpOnly,
// SameSite=Strict cookie (Path=/projects) together with the labeler name, and redirects to the same URL without the
// token, so it leaves the address bar and history. Writes authenticated by that cookie must also carry the
// `HX-Request: true` header that htmx sends: a cross-site form cannot set it, so together with SameSite=Strict this
// blocks cross-site request forgery. Reads (pages, thumbnails, export) need no token, like the tracker's other pages.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';

export const TOKEN_COOKIE = 'pw_labels_token';
export const LABELER_COOKIE = 'pw_labeler';
export const LABELER_NAME = /^[A-Za-z0-9_.@-]{1,40}$/;

export function tokenMatches(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

/** The actor of an authorised write, or undefined when the request may not write. */
export function writer(c: Context, token: string): string | undefined {
  const auth = c.req.header('authorization');
  if (auth?.startsWith('Bearer ')) {
    if (!tokenMatches(auth.slice(7), token)) return undefined;
    const who = c.req.header('x-patchwork-labeler');
    return who && LABELER_NAME.test(who) ? who : 'api';
  }
  if (c.req.header('hx-request') === 'true' && tokenMatches(getCookie(c, TOKEN_COOKIE), token)) {
    const who = getCookie(c, LABELER_COOKIE);
    return who && LABELER_NAME.test(who) ? who : 'web';
  }
  return undefined;
}
