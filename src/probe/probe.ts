import { loadCatalog, type Catalog, type RouteEntry } from '../catalog/catalog.js';
import { adminTokenSigner, parseKey } from '../secrets/keys.js';

/**
 * What can this Ghost key really do on this site? Measured with real
 * requests, route by route. Safe on a production site:
 * - by default only GET routes are tried; bodies of bulk exports are not read
 *   (the status line is enough);
 * - `writes` also tries add/edit/destroy on objects the probe creates itself
 *   (a draft post, a tag, a webhook to an unroutable TEST-NET address) and
 *   removes them; "edit others' posts" is tried with a stale `updated_at`,
 *   which Ghost answers with 409 after its permission check and saves nothing.
 */
export type Verdict = 'allowed' | 'refused' | 'unauthenticated' | 'inconclusive' | 'error' | 'skipped';

export interface ProbeResult {
  readonly scope: string;
  readonly method: string;
  readonly route: string;
  readonly probed: string;
  readonly status: number | null;
  readonly verdict: Verdict;
  readonly detail: string;
  /** Set for write checks that are not one route (e.g. publish, edit others' posts). */
  readonly check?: string;
}

export interface ProbeReport {
  readonly url: string;
  readonly keyId: string;
  readonly credential: { kind: 'staff' | 'integration-or-gateway'; role: string | null; user: string | null };
  readonly writes: boolean;
  readonly results: ProbeResult[];
  readonly findings: string[];
  readonly cleanup: string[];
}

export interface ProbeOptions {
  readonly url: string;
  readonly key: string;
  readonly writes?: boolean;
  readonly ghostPath?: string;
  readonly progress?: (s: string) => void;
  readonly catalog?: Catalog;
}

const DUMMY_ID = '000000000000000000000000';
// GET routes whose only effect is outside the site's data: calls Ghost makes to the internet.
const SKIP_GET = new Set(['/oembed', '/members/stripe_connect']);
const EXPORTS = new Set([
  '/db',
  '/members/upload',
  '/posts/export',
  '/exports/download',
  '/redirects/download',
  '/themes/:name/download',
  '/settings/routes/yaml',
]);

interface Answer {
  status: number;
  json: any;
  message: string;
}

export function verdictFor(status: number, isWrite: boolean): Verdict {
  if (status === 401) return 'unauthenticated';
  if (status === 403 || status === 501) return 'refused';
  if (status >= 200 && status < 400) return 'allowed';
  // Ghost checks permissions before it looks records up (api-framework pipeline), so a
  // 404 on a read means the permission passed; writes may fail validation first.
  if (status === 404 || status === 400) return isWrite ? 'inconclusive' : 'allowed';
  if (status === 409) return 'allowed';
  if (status === 422) return 'inconclusive';
  return 'error';
}

export async function probe(opts: ProbeOptions): Promise<ProbeReport> {
  const parsed = parseKey(opts.key);
  if (!parsed) throw new Error('the key must be <24 hex id>:<64 hex secret>');
  const catalog = opts.catalog ?? loadCatalog();
  const base = `${opts.url.replace(/\/+$/, '')}/${opts.ghostPath ?? 'ghost'}/api/admin`;
  const sign = adminTokenSigner(parsed);
  const progress = opts.progress ?? (() => {});

  async function call(method: string, path: string, body?: unknown, readBody = true): Promise<Answer> {
    const res = await fetch(base + path, {
      method,
      headers: {
        authorization: `Ghost ${sign('/admin/')}`,
        'accept-version': 'v6.0',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? null : JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
    });
    if (!readBody || !(res.headers.get('content-type') ?? '').includes('json')) {
      await res.body?.cancel();
      return { status: res.status, json: null, message: '' };
    }
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, json, message: json?.errors?.[0]?.message ?? '' };
  }

  // Who is this? A staff token reads /users/me/; an integration key gets 404 there.
  const me = await call('GET', '/users/me/?include=roles');
  if (me.status === 401) throw new Error(`the site refused the key: ${me.message || 'HTTP 401'}`);
  const meUser = me.status === 200 ? me.json?.users?.[0] : undefined;
  const credential: ProbeReport['credential'] = meUser
    ? { kind: 'staff', role: meUser.roles?.[0]?.name ?? null, user: meUser.email ?? meUser.slug ?? null }
    : { kind: 'integration-or-gateway', role: null, user: null };

  // Sample ids for :params, from the browse answers the key gets.
  const samples = new Map<string, any>();
  const results: ProbeResult[] = [];
  const gets = catalog.routes.filter((r) => r.method === 'GET' && !r.flags.has('dangling'));
  const ordered = [...gets.filter((r) => r.segments.length === 1), ...gets.filter((r) => r.segments.length > 1)];
  progress(`probe: ${ordered.length} read routes`);
  for (const route of ordered) {
    if (SKIP_GET.has(route.path)) {
      results.push(row(route, route.path, null, 'skipped', 'makes Ghost call out to the internet'));
      continue;
    }
    const path = fill(route, samples, meUser);
    const a = await call('GET', path, undefined, !EXPORTS.has(route.path));
    const res = a.json?.[route.segments[0]!];
    if (a.status === 200 && route.segments.length === 1 && Array.isArray(res)) samples.set(route.segments[0]!, res);
    results.push(row(route, path, a.status, verdictFor(a.status, false), a.message));
  }

  // Ghost's read gap (core/server/models/post.js and relations/authors.js permissible() check a Contributor's authorship on edit, add and destroy, not on read): read one draft written by someone else, when browse revealed one.
  const foreignDraft = meUser
    ? (samples.get('posts') ?? []).find((p: any) => p.status === 'draft' && !(p.authors ?? []).some((a: any) => a.id === meUser.id))
    : undefined;
  if (foreignDraft) {
    const readRoute = catalog.routes.find((r) => r.method === 'GET' && r.path === '/posts/:id')!;
    const a = await call('GET', `/posts/${foreignDraft.id}/?formats=lexical,html`);
    results.push(
      row(
        readRoute,
        `/posts/${foreignDraft.id}/`,
        a.status,
        verdictFor(a.status, false),
        a.message,
        "read another author's draft, with its content",
      ),
    );
  }

  const cleanup: string[] = [];
  if (opts.writes) {
    progress('probe: write checks on objects the probe creates');
    await writeChecks(call, results, cleanup, catalog, samples, meUser);
  }
  return {
    url: opts.url,
    keyId: parsed.id,
    credential,
    writes: Boolean(opts.writes),
    results,
    findings: findings(results, samples, credential, meUser),
    cleanup,
  };
}

function row(route: RouteEntry, probed: string, status: number | null, verdict: Verdict, detail: string, check?: string): ProbeResult {
  const r: ProbeResult = { scope: route.scope, method: route.method, route: route.path, probed, status, verdict, detail };
  return check ? { ...r, check } : r;
}

function fill(route: RouteEntry, samples: Map<string, any>, me: any): string {
  const first = samples.get(route.segments[0]!)?.[0];
  const parts = route.segments.map((s) => {
    switch (s) {
      case ':id':
        return route.segments[0] === 'users' && me ? 'me' : (first?.id ?? DUMMY_ID);
      case ':slug':
        return first?.slug ?? 'ghostgate-probe-none';
      case ':email':
        return encodeURIComponent(first?.email ?? 'none@ghostgate.invalid');
      case ':name':
        return route.segments[0] === 'slugs' ? 'ghostgate-probe' : 'casper';
      case ':type':
        return 'post';
      default:
        return s.startsWith(':') ? (s === ':post_id' ? (samples.get('posts')?.[0]?.id ?? DUMMY_ID) : DUMMY_ID) : s;
    }
  });
  return `/${parts.join('/')}/`;
}

type Call = (method: string, path: string, body?: unknown) => Promise<Answer>;

async function writeChecks(
  call: Call,
  results: ProbeResult[],
  cleanup: string[],
  catalog: Catalog,
  samples: Map<string, any>,
  me: any,
): Promise<void> {
  const route = (m: string, p: string) => catalog.routes.find((r) => r.method === m && r.path === p)!;
  const record = (m: string, p: string, probed: string, a: Answer, check?: string) =>
    results.push(row(route(m, p), probed, a.status, verdictFor(a.status, true), a.message, check));
  const tag = `ghostgate-probe-${Date.now().toString(36)}`;
  const marker = 'ghostgate probe (created by the probe, removed afterwards)';

  // A draft post of its own.
  const authors = me ? { authors: [{ id: me.id }] } : {};
  const add = await call('POST', '/posts/', { posts: [{ title: marker, status: 'draft', ...authors }] });
  record('POST', '/posts', '/posts/', add, 'create a draft post');
  const post = add.json?.posts?.[0];
  if (post) {
    const edit = await call('PUT', `/posts/${post.id}/`, { posts: [{ title: `${marker} (edited)`, updated_at: post.updated_at }] });
    record('PUT', '/posts/:id', `/posts/${post.id}/`, edit, 'edit its own draft');
    const updatedAt = edit.json?.posts?.[0]?.updated_at ?? post.updated_at;
    // Scheduling a year ahead needs Ghost's post.publish permission without making anything public.
    const sched = await call('PUT', `/posts/${post.id}/`, {
      posts: [{ status: 'scheduled', published_at: new Date(Date.now() + 365 * 86400_000).toISOString(), updated_at: updatedAt }],
    });
    record('PUT', '/posts/:id', `/posts/${post.id}/`, sched, 'publish (schedule its own draft a year ahead)');
    const del = await call('DELETE', `/posts/${post.id}/`);
    record('DELETE', '/posts/:id', `/posts/${post.id}/`, del, 'delete its own post');
    if (del.status !== 204) cleanup.push(`post ${post.id} could not be removed (HTTP ${del.status}); delete "${marker}" by hand`);
  }
  // Edit another author's post with a stale updated_at: 409 = allowed (nothing saved), 403 = refused.
  const others = (samples.get('posts') ?? []).find((p: any) => !me || !(p.authors ?? []).some((a: any) => a.id === me.id));
  if (others) {
    const a = await call('PUT', `/posts/${others.id}/`, { posts: [{ title: others.title, updated_at: '1970-01-01T00:00:00.000Z' }] });
    record('PUT', '/posts/:id', `/posts/${others.id}/`, a, "edit another author's post (stale updated_at: nothing is saved)");
  }

  const tagAdd = await call('POST', '/tags/', { tags: [{ name: tag }] });
  record('POST', '/tags', '/tags/', tagAdd, 'create a tag');
  const t = tagAdd.json?.tags?.[0];
  if (t) {
    record(
      'PUT',
      '/tags/:id',
      `/tags/${t.id}/`,
      await call('PUT', `/tags/${t.id}/`, { tags: [{ description: marker }] }),
      'edit its own tag',
    );
    const del = await call('DELETE', `/tags/${t.id}/`);
    record('DELETE', '/tags/:id', `/tags/${t.id}/`, del, 'delete its own tag');
    if (del.status !== 204) cleanup.push(`tag ${t.slug} could not be removed (HTTP ${del.status})`);
  }

  // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never routed, nothing is delivered.
  const wh = await call('POST', '/webhooks/', { webhooks: [{ event: 'post.added', target_url: `http://192.0.2.1/${tag}`, name: marker }] });
  record('POST', '/webhooks', '/webhooks/', wh, 'create a webhook (to an unroutable address)');
  const w = wh.json?.webhooks?.[0];
  if (w) {
    record(
      'PUT',
      '/webhooks/:id',
      `/webhooks/${w.id}/`,
      await call('PUT', `/webhooks/${w.id}/`, { webhooks: [{ name: `${marker} (edited)` }] }),
      'edit its own webhook',
    );
    const del = await call('DELETE', `/webhooks/${w.id}/`);
    record('DELETE', '/webhooks/:id', `/webhooks/${w.id}/`, del, 'delete its own webhook');
    if (del.status !== 204) cleanup.push(`webhook ${w.id} could not be removed (HTTP ${del.status})`);
  }
}

function findings(results: ProbeResult[], samples: Map<string, any>, cred: ProbeReport['credential'], me: any): string[] {
  const out: string[] = [];
  const allowed = (scope: string, method = 'GET') =>
    results.some((r) => r.scope === scope && r.method === method && r.verdict === 'allowed' && !r.check);
  const posts = samples.get('posts') ?? [];
  const foreignDrafts = posts.filter((p: any) => p.status === 'draft' && me && !(p.authors ?? []).some((a: any) => a.id === me.id));
  if (foreignDrafts.length > 0 && cred.role && ['Contributor', 'Author'].includes(cred.role)) {
    out.push(
      `As ${cred.role} this key lists other authors' drafts (${foreignDrafts.length} on the first page) with their content; Ghost's admin UI hides them, its API does not.`,
    );
  }
  const users = samples.get('users') ?? [];
  if (users.some((u: any) => typeof u.email === 'string'))
    out.push(`This key reads every staff user's email address (GET /users/: ${users.length} users).`);
  if (allowed('members:browse')) out.push('This key reads members and their email addresses (GET /members/).');
  if (allowed('members:exportCSV')) out.push('This key can export every member as CSV (GET /members/upload/).');
  if (allowed('db:exportContent')) out.push('This key can export the whole site database (GET /db/).');
  if (allowed('integrations:browse')) out.push('This key lists integrations, with their API keys.');
  else if (cred.kind !== 'staff' && results.some((r) => r.scope === 'integrations:browse' && r.verdict === 'refused'))
    out.push('Ghost refuses this key on /integrations (as it does every integration key).');
  for (const r of results.filter((x) => x.check && x.verdict === 'allowed')) out.push(`Check passed: ${r.check}.`);
  return out;
}
