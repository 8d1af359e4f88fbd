import type { KeyStore } from '../store/store.js';

/**
 * Use counts and last-use times of keys without max uses, gathered in memory
 * and written in one transaction every `intervalMs` (and at shutdown), so
 * that a successful request does not cost a database write. Keys with max
 * uses are counted at once and atomically (KeyStore.reserveUse/settleUse).
 */
export class UsageRecorder {
  private pending = new Map<string, { count: number; lastAt: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly keys: KeyStore,
    intervalMs: number,
    private readonly onError: (e: Error) => void = () => {},
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  add(id: string, at: number): void {
    const u = this.pending.get(id);
    if (u) {
      u.count++;
      u.lastAt = at;
    } else this.pending.set(id, { count: 1, lastAt: at });
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending].map(([id, u]) => ({ id, ...u }));
    this.pending = new Map();
    try {
      await this.keys.recordUses(batch);
    } catch (e) {
      this.onError(e as Error);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
