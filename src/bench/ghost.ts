import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { adminTokenSigner } from '../secrets/keys.js';
import { labUp } from '../lab/lab.js';

/**
 * The latency ghostgate adds on the lab's real Ghost, for the calls issue 15
 * names (posts browse with tags and authors, post read, post edit, tags and
 * members browse, /site/, image upload), as milliseconds and as a fraction of
 * Ghost's own. Each call is made directly, through the ladder's bare proxy and
 * through ghostgate (the `authz` key, audit on), sequentially, in a rotating
 * order, so all three see the same Ghost and none always follows another;
 * medians are quoted. The bare proxy tells what any hop adds from what
 * ghostgate adds beyond it.
 */
const here = fileURLToPath(new URL('.', import.meta.url));

function signer(key: string): () => string {
  const sign = adminTokenSigner(key);
  return () => `Ghost ${sign('/admin/')}`;
}

/** A 1x1 PNG: the smallest image Ghost's upload accepts (its type is checked by extension and content). */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

interface Target {
  base: string;
  auth: () => string;
}
type Call = (t: Target) => Promise<number>;

export async function ghostLatency(n: number, log: (s: string) => void): Promise<Record<string, unknown>> {
  const lab = await labUp(log);
  const started = (args: string[], env: NodeJS.ProcessEnv) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    const info = new Promise<{ port: number; key?: string }>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', (l) => {
        resolve(JSON.parse(l) as { port: number; key?: string });
      });
      child.once('exit', (c) => {
        reject(new Error(`${args[0]} exited with ${c}`));
      });
    });
    return { child, info };
  };
  const gateway = started([join(here, 'gateway-process.js'), lab.url, 'authz', 'on'], { BENCH_UPSTREAM_KEY: lab.integration.adminKey });
  // The same hop without ghostgate: the bare proxy of the ladder, so what any proxy adds is told apart from what ghostgate adds.
  const bare = started([join(here, 'bare-proxy.js'), lab.url], {});
  try {
    const [gw, bp] = await Promise.all([gateway.info, bare.info]);
    const direct: Target = { base: lab.url, auth: signer(lab.integration.adminKey) };
    const targets: [string, Target][] = [
      ['direct', direct],
      ['bare', { base: `http://127.0.0.1:${bp.port}`, auth: signer(lab.integration.adminKey) }],
      ['gateway', { base: `http://127.0.0.1:${gw.port}`, auth: signer(gw.key!) }],
    ];
    const request = async (t: Target, method: string, path: string, body?: unknown) => {
      const t0 = performance.now();
      const r = await fetch(`${t.base}/ghost/api/admin/${path}`, {
        method,
        headers: { authorization: t.auth(), ...(body && !(body instanceof FormData) ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: body instanceof FormData ? body : JSON.stringify(body) } : {}),
      });
      const json = (await r.json()) as Record<string, { updated_at: string; id: string }[]>;
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status}`);
      return { ms: performance.now() - t0, json };
    };
    const created = (await request(direct, 'POST', 'posts/', { posts: [{ title: 'ghostgate bench post' }] })).json.posts![0]!;
    let updatedAt = created.updated_at;
    const get =
      (path: string): Call =>
      async (t) =>
        (await request(t, 'GET', path)).ms;
    const cases: [string, Call][] = [
      ['browse posts', get('posts/?limit=15&include=tags,authors')],
      ['read a post', get(`posts/${created.id}/`)],
      [
        'edit a post',
        async (t) => {
          const r = await request(t, 'PUT', `posts/${created.id}/`, {
            posts: [{ title: `ghostgate bench post ${Math.random()}`, updated_at: updatedAt }],
          });
          updatedAt = r.json.posts![0]!.updated_at;
          return r.ms;
        },
      ],
      ['browse tags', get('tags/?limit=15')],
      ['browse members', get('members/?limit=15')],
      ['site', get('site/')],
      [
        'upload image',
        async (t) => {
          const form = new FormData();
          form.append('file', new Blob([PNG], { type: 'image/png' }), 'ghostgate-bench.png');
          return (await request(t, 'POST', 'images/upload/', form)).ms;
        },
      ],
    ];
    const calls: Record<string, unknown>[] = [];
    for (const [name, fn] of cases) {
      log(`real Ghost: ${name} x ${n}, directly, through the bare proxy and through ghostgate, interleaved`);
      for (let i = 0; i < 5; i++) for (const [, t] of targets) await fn(t); // warm-up
      const ms = new Map<string, number[]>(targets.map(([k]) => [k, []]));
      // The order rotates: a call right after another is slower on Ghost (its work after the last answer),
      // so a fixed order (direct first) charged that to whichever came next (about 1 ms of a post read).
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < targets.length; j++) {
          const [k, t] = targets[(i + j) % targets.length]!;
          ms.get(k)!.push(await fn(t));
        }
      }
      const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;
      const [dm, bm, gm] = ['direct', 'bare', 'gateway'].map((k) => med(ms.get(k)!)) as [number, number, number];
      calls.push({
        call: name,
        n,
        direct_p50_ms: +dm.toFixed(2),
        bare_p50_ms: +bm.toFixed(2),
        gateway_p50_ms: +gm.toFixed(2),
        direct_p90_ms: +p90(ms.get('direct')!).toFixed(2),
        gateway_p90_ms: +p90(ms.get('gateway')!).toFixed(2),
        added_p50_ms: +(gm - dm).toFixed(2),
        added_fraction_p50: +((gm - dm) / dm).toFixed(4),
        // What the hop alone adds (the bare proxy), and ghostgate beyond it.
        hop_p50_ms: +(bm - dm).toFixed(2),
        beyond_hop_p50_ms: +(gm - bm).toFixed(2),
      });
    }
    await request(direct, 'DELETE', `posts/${created.id}/`).catch(() => undefined);
    return { ghost: lab.ghostVersion, calls };
  } finally {
    gateway.child.kill('SIGTERM');
    bare.child.kill('SIGTERM');
  }
}
