import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { adminTokenSigner } from '../secrets/keys.js';
import { labUp } from '../lab/lab.js';

/**
 * The latency ghostgate adds on the lab's real Ghost, for typical calls
 * (browse posts, read a post, edit a post), as a fraction of Ghost's own.
 * Calls are sequential and interleaved, in alternating order (direct then
 * gateway, then gateway then direct), so both see the same Ghost and neither
 * always follows the other; medians are quoted.
 */
const here = fileURLToPath(new URL('.', import.meta.url));

function signer(key: string): () => string {
  const sign = adminTokenSigner(key);
  return () => `Ghost ${sign('/admin/')}`;
}

export async function ghostLatency(n: number, log: (s: string) => void): Promise<Record<string, unknown>> {
  const lab = await labUp(log);
  const child = spawn(process.execPath, [join(here, 'gateway-process.js'), lab.url, 'authz', 'on'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_UPSTREAM_KEY: lab.integration.adminKey },
  });
  const info = await new Promise<{ port: number; key: string }>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (l) => {
      resolve(JSON.parse(l) as { port: number; key: string });
    });
    child.once('exit', (c) => {
      reject(new Error(`gateway exited with ${c}`));
    });
  });
  const gw = `http://127.0.0.1:${info.port}`;
  const direct = { base: lab.url, auth: signer(lab.integration.adminKey) };
  const through = { base: gw, auth: signer(info.key) };
  const call = async (t: typeof direct, method: string, path: string, body?: unknown) => {
    const t0 = performance.now();
    const r = await fetch(`${t.base}/ghost/api/admin/${path}`, {
      method,
      headers: { authorization: t.auth(), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await r.json()) as Record<string, { updated_at: string; id: string }[]>;
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status}`);
    return { ms: performance.now() - t0, json };
  };
  try {
    const created = (await call(direct, 'POST', 'posts/', { posts: [{ title: 'ghostgate bench post' }] })).json.posts![0]!;
    let updatedAt = created.updated_at;
    const calls: Record<string, unknown>[] = [];
    const cases: [string, (t: typeof direct) => Promise<{ ms: number; json: Record<string, { updated_at: string; id: string }[]> }>][] = [
      ['browse posts', (t) => call(t, 'GET', 'posts/?limit=15&include=tags,authors')],
      ['read a post', (t) => call(t, 'GET', `posts/${created.id}/`)],
      [
        'edit a post',
        async (t) => {
          const r = await call(t, 'PUT', `posts/${created.id}/`, {
            posts: [{ title: `ghostgate bench post ${Math.random()}`, updated_at: updatedAt }],
          });
          updatedAt = r.json.posts![0]!.updated_at;
          return r;
        },
      ],
    ];
    for (const [name, fn] of cases) {
      log(`real Ghost: ${name} x ${n}, direct and through ghostgate, interleaved`);
      // warm-up
      for (let i = 0; i < 5; i++) {
        await fn(direct);
        await fn(through);
      }
      const d: number[] = [];
      const g: number[] = [];
      // The order alternates: a call right after another is slower on Ghost (its work after the last answer),
      // so a fixed order (direct, then gateway) charged that to the gateway (about 1 ms of a post read).
      for (let i = 0; i < n; i++) {
        if (i % 2 === 0) {
          d.push((await fn(direct)).ms);
          g.push((await fn(through)).ms);
        } else {
          g.push((await fn(through)).ms);
          d.push((await fn(direct)).ms);
        }
      }
      const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;
      const dm = med(d);
      const gm = med(g);
      calls.push({
        call: name,
        n,
        direct_p50_ms: +dm.toFixed(2),
        gateway_p50_ms: +gm.toFixed(2),
        direct_p90_ms: +p90(d).toFixed(2),
        gateway_p90_ms: +p90(g).toFixed(2),
        added_p50_ms: +(gm - dm).toFixed(2),
        added_fraction_p50: +((gm - dm) / dm).toFixed(4),
      });
    }
    await call(direct, 'DELETE', `posts/${created.id}/`).catch(() => undefined);
    return { ghost: lab.ghostVersion, calls };
  } finally {
    child.kill('SIGTERM');
  }
}
