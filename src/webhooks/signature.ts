import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Ghost's webhook signature (ghost/core/core/server/services/webhooks/webhook-trigger.js):
 *   X-Ghost-Signature: sha256=<hex>, t=<ms>
 *   hex = HMAC-SHA256(key = the webhook secret as a UTF-8 string, data = body + t)
 * where body is the JSON string sent and t is Date.now() when it was signed.
 * The gateway checks it on what Ghost sends to the relay, and signs what it
 * delivers to a client the same way, so receivers that check Ghost's
 * signatures work unchanged.
 */
export const SIGNATURE_HEADER = 'x-ghost-signature';
export const SIGNATURE_FORMAT = /^sha256=([0-9a-f]{64}), t=(\d{1,16})$/;

export function signature(secret: string, body: string, t: number): string {
  return createHmac('sha256', secret).update(`${body}${t}`).digest('hex');
}

/** The header value Ghost sends. */
export function signatureHeader(secret: string, body: string, t: number): string {
  return `sha256=${signature(secret, body, t)}, t=${t}`;
}

export type SignatureVerdict =
  { ok: true; t: number; digest: string } | { ok: false; code: 'WEBHOOK_SIGNATURE_INVALID' | 'WEBHOOK_SIGNATURE_STALE'; why: string };

/**
 * Checks a delivery: the header's form, the HMAC (constant-time), then the
 * time: `t` must be within `windowMs` of now, so a captured delivery cannot be
 * replayed later. (Replays inside the window are caught by the relay's memory
 * of signatures it has accepted.) The HMAC is checked first, so an unsigned
 * caller learns nothing from the answer about the window.
 */
export function verifySignature(
  header: string | string[] | undefined,
  body: Buffer,
  secret: string,
  nowMs: number,
  windowMs: number,
): SignatureVerdict {
  if (typeof header !== 'string')
    return {
      ok: false,
      code: 'WEBHOOK_SIGNATURE_INVALID',
      why: header === undefined ? 'no X-Ghost-Signature header' : 'more than one X-Ghost-Signature header',
    };
  const m = SIGNATURE_FORMAT.exec(header);
  if (!m) return { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID', why: 'the X-Ghost-Signature header is not "sha256=<hex>, t=<ms>"' };
  const t = Number(m[2]);
  const expected = createHmac('sha256', secret).update(body).update(m[2]!).digest();
  if (!timingSafeEqual(expected, Buffer.from(m[1]!, 'hex')))
    return { ok: false, code: 'WEBHOOK_SIGNATURE_INVALID', why: 'the signature does not match this webhook' };
  if (Math.abs(nowMs - t) > windowMs)
    return { ok: false, code: 'WEBHOOK_SIGNATURE_STALE', why: `signed at ${t}, more than ${Math.round(windowMs / 1000)} s from now` };
  return { ok: true, t, digest: m[1]! };
}
