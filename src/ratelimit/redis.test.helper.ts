import { randomBytes } from 'node:crypto';
import { createClient } from '@redis/client';

/**
 * Redis for tests: GHOSTGATE_TEST_REDIS_URL (default: the development and CI
 * machines' 127.0.0.1:6379). Each test file works under a key prefix of its
 * own and deletes it at the end.
 */
export const REDIS_TEST_URL = process.env.GHOSTGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** undefined when Redis answers; otherwise why the Redis tests are skipped. */
export async function redisUnavailable(): Promise<string | undefined> {
  const c = createClient({ url: REDIS_TEST_URL, socket: { connectTimeout: 1000, reconnectStrategy: false } });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.ping();
    await c.close();
    return undefined;
  } catch (e) {
    return `Redis is not reachable (${(e as Error).message}): shared rate limit tests skipped (.ci/run starts it)`;
  }
}

export function testPrefix(): { prefix: string; drop: () => Promise<void> } {
  const prefix = `ghostgate:test:${randomBytes(6).toString('hex')}:`;
  return {
    prefix,
    drop: async () => {
      const c = createClient({ url: REDIS_TEST_URL });
      c.on('error', () => {});
      await c.connect();
      for await (const keys of c.scanIterator({ MATCH: `${prefix}*` })) if (keys.length > 0) await c.del(keys);
      await c.close();
    },
  };
}
