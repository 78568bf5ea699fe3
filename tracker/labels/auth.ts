// Write authorisation for the labels router.
//
// Scheme: API clients send `Authorization: Bearer <token>` (parsed as on every tracker route). A person opens the
// labeler once with `/projects/<id>/label?token=<token>&labeler=<name>`; the server checks the token and sets an
// HttpOnly, SameSite=Strict cookie (Path=/, so the run pages accept it too) holding a signed, expiring labeler
// session (session.ts), not the token, then redirects to the same URL without the token, so it leaves the address bar and history. Writes
// authenticated by that cookie must also carry the `HX-Request: true` header that htmx sends: a cross-site form
// cannot set it, so together with SameSite=Strict this blocks cross-site request forgery.
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { bearerToken, sameSecret } from '../api/auth.ts';
import type { LabelerSession, SessionSigner } from './session.ts';

export const SESSION_COOKIE = 'pw_session';
/** Cookies of earlier versions (the first held the token itself), cleared at login. */
const OLD_COOKIES = ['pw_labels_token', 'pw_labeler'];
export const LABELER_NAME = /^[A-Za-z0-9_.@-]{1,40}$/;

export const tokenMatches = (given: string | undefined, token: string) => sameSecret(given, token);

/** Starts a session for `labeler` in this browser, replacing cookies of earlier versions (one held the token). */
export function startSession(c: Context, signer: SessionSigner, labeler: string, ttlMs: number): void {
  for (const name of OLD_COOKIES) deleteCookie(c, name, { path: '/projects' });
  setCookie(c, SESSION_COOKIE, signer.sign({ labeler, expiresAt: Date.now() + ttlMs }), {
    httpOnly: true,
    sameSite: 'Strict',
    path: '/',
    maxAge: Math.floor(ttlMs / 1000),
  });
}

export function session(c: Context, signer: SessionSigner): LabelerSession | undefined {
  return signer.verify(getCookie(c, SESSION_COOKIE));
}

/** The actor of an authorised write, or undefined when the request may not write. */
export function writer(c: Context, token: string, signer: SessionSigner): string | undefined {
  const auth = c.req.header('authorization');
  if (auth) {
    if (!tokenMatches(bearerToken(auth), token)) return undefined;
    const who = c.req.header('x-patchwork-labeler');
    return who && LABELER_NAME.test(who) ? who : 'api';
  }
  if (c.req.header('hx-request') === 'true') return session(c, signer)?.labeler;
  return undefined;
}
