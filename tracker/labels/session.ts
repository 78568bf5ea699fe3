// Labeler sessions: a cookie that names the labeler and an expiry, signed with a key derived from the tracker's token.
// It lets a browser write labels for a while; it is not the token, so a leaked cookie opens no other API and stops
// working when it expires or when the token changes.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const DEFAULT_SESSION_TTL_MS = 12 * 3600_000;

export interface LabelerSession {
  labeler: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export class SessionSigner {
  private readonly key: Buffer;

  constructor(token: string) {
    this.key = createHmac('sha256', token).update('patchwork labeler session v1').digest();
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload).digest();
  }

  sign(session: LabelerSession): string {
    const payload = `${session.labeler}~${Math.floor(session.expiresAt)}`;
    return `${payload}~${this.mac(payload).toString('base64url')}`;
  }

  /** The session a cookie value holds, or undefined when it is malformed, forged or expired. */
  verify(value: string | undefined, now = Date.now()): LabelerSession | undefined {
    const match = /^([A-Za-z0-9_.@-]{1,40})~(\d{1,15})~([A-Za-z0-9_-]{43})$/.exec(value ?? '');
    if (!match) return undefined;
    const given = Buffer.from(match[3]!, 'base64url');
    const expected = this.mac(`${match[1]}~${match[2]}`);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const expiresAt = Number(match[2]);
    return expiresAt > now ? { labeler: match[1]!, expiresAt } : undefined;
  }
}
