/**
 * The delivery log: one row per relay call and per delivery attempt, kept in
 * the audit database beside the audit trail. Status, latency, attempt and
 * outcome; never a body, a target URL or a secret.
 */
export type DeliveryOutcome =
  /** The client answered 2xx. */
  | 'delivered'
  /** The grant filtered the event out: nothing was sent. */
  | 'filtered'
  /** The attempt failed; another follows after a backoff. */
  | 'retrying'
  /** The last attempt failed, or the failure is not worth retrying (a 4xx, a private address). */
  | 'failed'
  /** The client answered 410: the webhook was removed, as Ghost does. */
  | 'gone'
  /** The key was revoked or expired (with `webhooks: stop`) while the delivery waited. */
  | 'cancelled'
  /** The queue was full, or the gateway stopped before the delivery was made. */
  | 'dropped'
  /** Ghost's same signed delivery again, inside the window: delivered once only. */
  | 'duplicate';

export interface DeliveryEntry {
  readonly at: number;
  /** One id per relay call; its attempts share it. */
  readonly deliveryId: string;
  readonly relayId: string;
  readonly ghostId: string | null;
  readonly keyId: string | null;
  readonly event: string;
  /** 0 for the relay call itself (filtered, duplicate, dropped); 1… for attempts. */
  readonly attempt: number;
  readonly outcome: DeliveryOutcome;
  /** The client's HTTP status, when it answered. */
  readonly status: number | null;
  readonly latencyMs: number | null;
  /** A short error code (ETIMEDOUT, TARGET_PRIVATE, HTTP_500…); never a message with data in it. */
  readonly error: string | null;
  /** What the grant let through: full, entered, left. */
  readonly view: string | null;
}

export interface DeliveryQuery {
  readonly relayId?: string;
  readonly keyId?: string;
  readonly since?: number;
  readonly limit?: number;
}

export interface DeliveryLog {
  /** Buffered: a delivery never waits for the log. */
  record(e: DeliveryEntry): void;
  /** Newest first (what is buffered is written first). */
  query(q: DeliveryQuery): Promise<DeliveryEntry[]>;
  flush(): Promise<void>;
  close(): Promise<void>;
}
