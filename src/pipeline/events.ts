import type { AuditEntry } from '../store/audit.js';

/**
 * One event per request: every exit path of the server emits exactly one
 * (a forwarded write emits its `outcome`; its `intent` is not an event but a
 * precondition, written durably through the audit writer before forwarding).
 * The event carries the route, the key, the decision and its code, Ghost's
 * status, latency and bytes, and never a secret or a body. The audit writer
 * subscribes to it; metrics and the console's live views are next.
 */
export type RequestEvent = AuditEntry;

export type RequestEventListener = (e: RequestEvent) => void;

export class RequestEvents {
  private readonly listeners: RequestEventListener[] = [];

  /** Listeners run in order, synchronously; one that throws does not stop the others (onError hears of it). */
  constructor(private readonly onError: (err: Error) => void = () => {}) {}

  subscribe(listener: RequestEventListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  emit(e: RequestEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.onError(err as Error);
      }
    }
  }
}
