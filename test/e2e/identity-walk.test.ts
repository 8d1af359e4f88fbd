import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { loadCatalog, type RouteEntry } from '../../src/catalog/catalog.js';
import type { LabState } from '../../src/lab/lab.js';
import { login } from '../../src/lab/provision.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { authHeader } from '../helpers/token.js';
import { CLI, labAt } from './lab-helper.js';

/**
 * The destructive walk (issue 19, "the gateway's identity is untouchable"):
 * every catalog route, with a `*` key minted with --allow-escalation, through
 * the gateway in both upstream modes (the lab integration key, an
 * Administrator's staff token), plus the requests that aim at the upstream
 * credential itself. No answer may contain the upstream secret, and the
 * upstream identity must be unchanged afterwards. It runs on a lab site of
 * its own (`<site>-walk`): writes get minimal bodies and bulk routes a filter
 * matching nothing, but a gateway that let them through could still break
 * that site, so it is checked, and started over when broken, before the walk.
 */
const NONE = '000000000000000000000000';
const MULTIPART = Symbol('multipart');
const FORM = {
  type: 'multipart/form-data; boundary=walk',
  body: '--walk\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nwalk\r\n--walk--\r\n',
};
const catalog = loadCatalog();

interface Probe {
  readonly method: string;
  readonly path: string;
  /** JSON, or `multipart` for an upload route: a form with one text field and no file. */
  readonly body?: unknown;
  /** The code the gateway must answer with, when it must refuse. */
  readonly refused?: string;
}

function fill(r: RouteEntry, id: string, s: LabState, keyId: string): string {
  const seg = r.segments.map((x) => {
    if (!x.startsWith(':')) return x;
    // Only the key refresh names the real integration (to aim at the upstream key); other writes would delete it.
    if (x === ':id' && r.path.endsWith('/refresh')) return s.integration.id;
    if (x === ':keyid') return keyId;
    if (x === ':id') return id;
    if (x === ':resource') return 'posts';
    if (x === ':type') return 'post';
    if (x === ':email') return 'nobody@example.com';
    if (x === ':name' || x === ':slug' || x === ':namespace' || x === ':key') return 'ghostgate-walk-none';
    return NONE;
  });
  const q = r.flags.has('bulk') ? `?filter=${encodeURIComponent(`id:'${NONE}'`)}` : '';
  return `/${seg.join('/')}/${q}`;
}

/** Every catalog route once (users' by-id routes also with `me` and the upstream user), then the attacks on the credential. */
function probes(s: LabState, mode: 'integration' | 'staff', userId: string, keyId: string): Probe[] {
  const out: Probe[] = [];
  const takeover = { users: [{ email: 'walk-takeover@example.com', name: 'Taken Over' }] };
  for (const r of catalog.routes) {
    const ids = r.path.startsWith('/users/:id') ? ['me', userId, NONE] : [NONE];
    for (const id of ids) {
      // CASE: upload routes get a form without a file: a JSON body to POST /media/upload/ crashes Ghost 6.65
      // (core/server/web/api/middleware/upload.js:210 reads req.files.file when multer skipped the body).
      const body =
        r.method === 'GET' || r.method === 'DELETE'
          ? undefined
          : r.flags.has('upload')
            ? MULTIPART
            : r.path === '/users/:id'
              ? takeover
              : {};
      out.push({ method: r.method, path: fill(r, id, s, keyId), ...(body !== undefined ? { body } : {}) });
    }
  }
  const self = [mode === 'staff' ? userId : 'me', 'me'];
  for (const id of self) {
    out.push({ method: 'GET', path: `/users/${id}/token/`, refused: 'IDENTITY_PROTECTED' });
    out.push({ method: 'PUT', path: `/users/${id}/token/`, body: {}, refused: 'IDENTITY_PROTECTED' });
    out.push({ method: 'PUT', path: `/users/${id}/`, body: takeover, refused: 'IDENTITY_PROTECTED' });
    out.push({ method: 'DELETE', path: `/users/${id}/`, refused: 'IDENTITY_PROTECTED' });
  }
  const newPassword = 'Walk-Taken-0ver-9x';
  out.push({
    method: 'PUT',
    path: '/users/password/',
    body: { password: [{ user_id: userId, oldPassword: 'unknown', newPassword, ne2Password: newPassword }] },
    refused: 'IDENTITY_PROTECTED',
  });
  out.push({
    method: 'POST',
    path: `/integrations/${s.integration.id}/api_key/${keyId}/refresh/`,
    body: { integrations: [{ id: s.integration.id }] },
    refused: 'IDENTITY_PROTECTED',
  });
  for (const include of ['api_keys', 'API_KEYS', 'posts,%20api_keys', 'api_keys,sessions,tokens']) {
    out.push({ method: 'GET', path: `/db/?include=${include}`, refused: 'IDENTITY_PROTECTED' });
    out.push({ method: 'POST', path: `/db/backup/?include=${include}`, body: {}, refused: 'IDENTITY_PROTECTED' });
  }
  out.push({ method: 'GET', path: '/db/?filename=backup.json', refused: 'IDENTITY_PROTECTED' });
  out.push({ method: 'GET', path: '/identities/', refused: 'IDENTITY_PROTECTED' });
  out.push({ method: 'GET', path: '/featurebase/token/', refused: 'IDENTITY_PROTECTED' });
  out.push({ method: 'DELETE', path: '/session/', refused: 'IDENTITY_PROTECTED' });
  out.push({
    method: 'PUT',
    path: '/authentication/setup/',
    body: { setup: [{ name: 'x', email: 'walk-takeover@example.com', password: newPassword }] },
    refused: 'IDENTITY_PROTECTED',
  });
  for (const path of [
    '/users/me/?include=roles,permissions',
    '/integrations/?include=api_keys,webhooks',
    '/settings/',
    '/db/',
    '/exports/download/',
  ])
    out.push({ method: 'GET', path });
  return out;
}

/** The raw answer: status, every header value and every body byte. */
async function send(gw: TestGateway, key: string, p: Probe): Promise<{ status: number; bytes: Buffer }> {
  const form = p.body === MULTIPART;
  const res = await fetch(`${gw.url}/ghost/api/admin${p.path}`, {
    method: p.method,
    headers: {
      authorization: authHeader(key),
      'accept-version': 'v6.0',
      ...(p.body !== undefined ? { 'content-type': form ? FORM.type : 'application/json' } : {}),
    },
    ...(p.body !== undefined ? { body: form ? FORM.body : JSON.stringify(p.body) } : {}),
    signal: AbortSignal.timeout(60_000),
  });
  const head = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
  return { status: res.status, bytes: Buffer.concat([Buffer.from(head), Buffer.from(await res.arrayBuffer())]) };
}

async function ghost(s: LabState, key: string, path: string): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${s.url}/ghost/api/admin${path}`, {
    headers: { authorization: authHeader(key), 'accept-version': 'v6.0' },
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

/** The walk site's upstream identities, as the lab made them: both credentials work, the Administrator's email and password are its own. */
async function healthy(s: LabState): Promise<boolean> {
  try {
    const admin = s.staff.Administrator;
    const me = await ghost(s, admin.staffToken, '/users/me/');
    const integ = await ghost(s, s.integration.adminKey, '/tags/?limit=1');
    if (me.status !== 200 || me.json.users?.[0]?.email !== admin.email || integ.status !== 200) return false;
    await login(`${s.url}/ghost/api/admin`, admin.email, admin.password);
    return true;
  } catch {
    return false;
  }
}

describe('the gateway’s own identity is untouchable: a * key walks every route in both upstream modes', () => {
  let s: LabState;
  before(async () => {
    s = await labAt('walk');
    if (!(await healthy(s))) s = await labAt('walk', true);
    assert.ok(await healthy(s), 'the walk site starts healthy');
  });

  for (const mode of ['integration', 'staff'] as const) {
    describe(`upstream: ${mode === 'staff' ? "an Administrator's staff token" : 'the integration key'}`, () => {
      let gw: TestGateway;
      let key: string;
      const upstream = () => (mode === 'staff' ? s.staff.Administrator.staffToken : s.integration.adminKey);
      before(async () => {
        gw = await startTestGateway({ upstreamUrl: s.url, upstreamKey: upstream(), kind: mode });
        // The walk's key straight in the store, so that the walk does not depend on the CLI test above.
        key = (await gw.createKey(['*'], 'walk')).key;
      });
      after(async () => gw?.close());

      test('token create refuses * without --allow-escalation, and mints it with the flag', () => {
        const cli = (...args: string[]) =>
          spawnSync(process.execPath, [CLI, '--config', gw.configFile, ...args], {
            encoding: 'utf8',
            env: { ...process.env, GHOSTGATE_MASTER_SECRET: '', GHOSTGATE_UPSTREAM_KEY: '' },
          });
        const refused = cli('token', 'create', '--name', 'walk', '--scope', '*', '--json');
        assert.equal(refused.status, 1);
        assert.match(refused.stderr, /equivalent to full access/);
        const made = cli('token', 'create', '--name', 'walk', '--scope', '*', '--allow-escalation', '--json');
        assert.equal(made.status, 0, made.stderr);
        assert.equal(JSON.parse(made.stdout).escalation.full_access, true);
      });

      test('no answer to any route carries the upstream secret, and the credential’s own routes are refused', async () => {
        const [keyId, secret] = upstream().split(':') as [string, string];
        const userId = mode === 'staff' ? s.staff.Administrator.id : 'me';
        const leaks: string[] = [];
        const wrong: string[] = [];
        let n = 0;
        for (const p of probes(s, mode, userId, keyId)) {
          const { status, bytes } = await send(gw, key, p);
          n++;
          if (bytes.includes(secret) || bytes.includes(Buffer.from(secret, 'hex'))) leaks.push(`${p.method} ${p.path} (${status})`);
          if (p.refused) {
            const code =
              status === 403
                ? (JSON.parse(bytes.subarray(bytes.indexOf('{"errors"')).toString()).errors?.[0]?.code as string)
                : `HTTP ${status}`;
            if (code !== p.refused) wrong.push(`${p.method} ${p.path}: ${code}`);
          }
        }
        assert.ok(n > catalog.routes.length, `walked ${n} requests`);
        assert.deepEqual(leaks, [], 'answers carrying the upstream secret');
        assert.deepEqual(wrong, [], 'identity routes not refused IDENTITY_PROTECTED');
      });

      test('afterwards the upstream identity is unchanged: the credential works, the user keeps its email and password', async () => {
        assert.ok(await healthy(s), 'both credentials still work and the Administrator is unchanged');
        const owner = await login(`${s.url}/ghost/api/admin`, s.owner.email, s.owner.password);
        const users = (await owner.call('GET', '/users/?limit=all')).json.users as { email: string }[];
        assert.ok(!users.some((u) => u.email === 'walk-takeover@example.com'), 'no user took the walk’s email');
        const integ = (await owner.call('GET', `/integrations/${s.integration.id}/?include=api_keys`)).json.integrations[0];
        // Ghost's integrations mapper gives an admin key's secret as id:secret (output/mappers/integrations.js).
        assert.ok(
          integ.api_keys.some((k: { secret: string }) => k.secret === s.integration.adminKey),
          'the integration key is not rotated',
        );
      });
    });
  }
});
