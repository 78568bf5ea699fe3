// Who may read, from where, and the headers every response carries.
//   readAccess: every GET needs the bearer token or a labeler session cookie (PATCHWORK_PUBLIC_READ=1 opens reads);
//               `?token=<token>[&labeler=<name>]` on any page starts a session and redirects without the token.
//   hostCheck:  a Host that is not one of the tracker's names is refused unless the request carries the token, so a
//               DNS-rebinding page cannot use a browser's session.
//   securityHeaders: no sniffing, no framing, and a content security policy for pages that set none.
import type { Context, MiddlewareHandler } from 'hono';
import { LABELER_NAME, session, startSession } from '../labels/auth.ts';
import type { SessionSigner } from '../labels/session.ts';
import { bearerToken, sameSecret } from './auth.ts';

export const DEFAULT_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const hasToken = (c: Context, token: string) => sameSecret(bearerToken(c.req.header('authorization')), token);

export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.res.headers.set('X-Content-Type-Options', 'nosniff');
    c.res.headers.set('X-Frame-Options', 'DENY');
    c.res.headers.set('Referrer-Policy', 'no-referrer');
    if (!c.res.headers.has('Content-Security-Policy'))
      c.res.headers.set('Content-Security-Policy', DEFAULT_CSP);
  };
}

const bareHost = (host: string) => host.toLowerCase().replace(/^\[(.*)\]$/, '$1');

/** `names` undefined: any Host (an in-process app); otherwise the names and addresses the tracker answers to. */
export function hostCheck(names: string[] | undefined, token: string): MiddlewareHandler {
  const allowed = new Set((names ?? []).map(bareHost));
  return async (c, next) => {
    if (!names || allowed.has(bareHost(new URL(c.req.url).hostname)) || hasToken(c, token)) return next();
    return c.json(
      {
        error:
          `Host ${JSON.stringify(new URL(c.req.url).host)} is not a name of this tracker (${[...allowed].join(', ')}); ` +
          'add it to PATCHWORK_TRACKER_HOSTS where the tracker runs, or send the bearer token',
      },
      403,
    );
  };
}

export interface ReadAccessOptions {
  token: string;
  signer: SessionSigner;
  sessionTtlMs: number;
  /** PATCHWORK_PUBLIC_READ=1: reads need no credential. */
  publicRead?: boolean;
}

export function readAccess(options: ReadAccessOptions): MiddlewareHandler {
  const { token, signer } = options;
  return async (c, next) => {
    if ((c.req.method !== 'GET' && c.req.method !== 'HEAD') || c.req.path === '/health') return next();
    const linkToken = c.req.query('token');
    if (linkToken !== undefined) {
      if (!sameSecret(linkToken, token))
        return c.json(
          { error: 'wrong token in the link; use the PATCHWORK_TOKEN the tracker was started with' },
          401,
        );
      const labeler = c.req.query('labeler') ?? 'web';
      if (!LABELER_NAME.test(labeler)) return c.json({ error: 'labeler: 1-40 of A-Z a-z 0-9 _ . @ -' }, 400);
      startSession(c, signer, labeler, options.sessionTtlMs);
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      url.searchParams.delete('labeler');
      return c.redirect(url.pathname + url.search, 303);
    }
    if (options.publicRead || hasToken(c, token) || session(c, signer)) return next();
    c.header('WWW-Authenticate', 'Bearer realm="patchwork-tracker"');
    return c.json(
      {
        error:
          'reads need a credential: send "Authorization: Bearer <PATCHWORK_TOKEN>", or open the page once with ' +
          '?token=<PATCHWORK_TOKEN>; PATCHWORK_PUBLIC_READ=1 where the tracker runs opens reads to anyone',
      },
      401,
    );
  };
}

/** The tracker's names: loopback, the host of PATCHWORK_TRACKER_URL, a specific --host, and PATCHWORK_TRACKER_HOSTS. */
export function trackerHostNames(
  trackerUrl: string,
  bindHost: string | undefined,
  extra: string | undefined,
): string[] {
  const names = ['localhost', '127.0.0.1', '::1', new URL(trackerUrl).hostname];
  if (bindHost && !['0.0.0.0', '::', '[::]'].includes(bindHost)) names.push(bindHost);
  for (const name of (extra ?? '').split(',')) if (name.trim()) names.push(name.trim());
  return [...new Set(names.map(bareHost))];
}
