import { createHmac, randomBytes } from 'node:crypto';
import type { MasterSecret } from '../secrets/keys.js';
import { seal, unseal } from '../secrets/master.js';

/**
 * The relay's secrets. Each relayed webhook has its own secret, the one Ghost
 * signs with, derived from the master secret and the relay id and never
 * stored: HMAC-SHA256(subKey("webhook-relay"), relay id), as 64 hex
 * characters (Ghost keys its HMAC with the string). The client's own secret
 * is stored sealed (AES-256-GCM, its own sub-key), bound to the relay id.
 */
export const RELAY_PATH = '/ghostgate/webhooks/relay/';
export const RELAY_ID = /^[0-9a-f]{32}$/;
const CLIENT_SECRET = { purpose: 'webhook-client-secret' };

export function newRelayId(): string {
  return randomBytes(16).toString('hex');
}

export class RelaySecrets {
  private readonly key: Buffer;

  constructor(private readonly master: MasterSecret) {
    this.key = master.subKey('webhook-relay');
  }

  /** The secret registered in Ghost for this relay. */
  relaySecret(relayId: string): string {
    return createHmac('sha256', this.key).update(relayId).digest('hex');
  }

  sealClientSecret(relayId: string, secret: string): string {
    return seal(this.master, secret, { ...CLIENT_SECRET, aad: relayId });
  }

  openClientSecret(relayId: string, sealed: string): string {
    return unseal(this.master, sealed, { ...CLIENT_SECRET, aad: relayId });
  }

  toJSON(): string {
    return '[relay secrets]';
  }
}
