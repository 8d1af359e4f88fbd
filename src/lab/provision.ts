import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import type { LabPaths } from './paths.js';
import { LabError } from './install.js';

/**
 * Provisions a fresh lab site through Ghost's own API (core/server/web/api/endpoints/admin/routes.js): the
 * owner, one integration (its Admin API key is what the gateway holds), one
 * staff user per assignable role with their staff tokens, and seed content by
 * several authors in every status.
 */
export const LAB_ROLES = ['Administrator', 'Super Editor', 'Editor', 'Author', 'Contributor'] as const;
export type LabRole = (typeof LAB_ROLES)[number] | 'Owner';

export interface LabUser {
  readonly id: string;
  readonly name: string;
  readonly slug: string;
  readonly email: string;
  readonly password: string;
  readonly role: LabRole;
  readonly staffToken: string;
}

export interface LabPost {
  readonly id: string;
  readonly slug: string;
  readonly title: string;
  readonly type: 'post' | 'page';
  readonly status: 'draft' | 'published' | 'scheduled';
  readonly author: LabRole;
  readonly tags: string[];
}

export interface LabState {
  readonly ghostVersion: string;
  readonly url: string;
  readonly adminApiUrl: string;
  readonly port: number;
  readonly pid: number;
  readonly ghostDir: string;
  readonly nodeBin: string;
  readonly siteDir: string;
  readonly db: string;
  readonly log: string;
  readonly integration: { readonly id: string; readonly name: string; readonly adminKey: string; readonly contentKey: string };
  readonly owner: LabUser;
  readonly staff: Readonly<Record<(typeof LAB_ROLES)[number], LabUser>>;
  readonly content: {
    readonly tags: { id: string; slug: string; name: string }[];
    readonly posts: LabPost[];
    readonly members: { id: string; email: string; labels: string[] }[];
    readonly newsletters: { id: string; name: string }[];
  };
  readonly provisionedAt: string;
}

type Json = Record<string, any>;

export class Api {
  constructor(
    private readonly base: string,
    private readonly cookie?: string,
  ) {}

  async call(
    method: string,
    path: string,
    body?: unknown,
    expect: number[] = [200, 201],
  ): Promise<{ status: number; json: Json; headers: Headers }> {
    const send = () =>
      fetch(`${this.base}${path}`, {
        method,
        headers: {
          'content-type': 'application/json',
          'accept-version': 'v6.0',
          ...(this.cookie ? { cookie: this.cookie } : {}),
        },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    let res: Response;
    try {
      res = await send();
    } catch (e) {
      // CASE: a caller that blocked the event loop (tests run the CLI with spawnSync) past Ghost's 5 s
      // keep-alive timeout reuses a pooled socket Ghost closed while idle, before reading this request
      // ("other side closed"): sent again, on a new connection.
      if ((e as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw e;
      res = await send();
    }
    const text = await res.text();
    let json: Json;
    try {
      json = text ? (JSON.parse(text) as Json) : {};
    } catch {
      json = { raw: text.slice(0, 200) };
    }
    if (!expect.includes(res.status)) {
      throw new LabError(
        `provisioning: ${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`,
        '`ghostgate lab reset` starts over from an empty database',
      );
    }
    return { status: res.status, json, headers: res.headers };
  }
}

export async function login(base: string, email: string, password: string): Promise<Api> {
  const r = await new Api(base).call('POST', '/session/', { username: email, password }, [201]);
  const setCookie = r.headers.get('set-cookie') ?? '';
  const m = /ghost-admin-api-session=[^;]+/.exec(setCookie);
  if (!m) throw new LabError(`provisioning: no session cookie for ${email}`, '`ghostgate lab reset`');
  return new Api(base, m[0]);
}

async function staffToken(api: Api): Promise<string> {
  const r = await api.call('GET', '/users/me/token/');
  const k = r.json.apiKey as { id: string; secret: string };
  return `${k.id}:${k.secret}`;
}

function password(): string {
  // Ghost's rules (validate-password.js): 10+ chars, no "password"/"ghost", no dominant character.
  return `Lab-${randomBytes(9).toString('base64url')}-9x`;
}

/** The invite token is only in the database; make it URL-safe as Ghost's invite link does (core/server/models/invite.js). */
function inviteToken(db: string, email: string): string {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const row = conn.prepare('SELECT token FROM invites WHERE email = ?').get(email) as { token?: string } | undefined;
    if (!row?.token) throw new LabError(`provisioning: no invite token for ${email}`, '`ghostgate lab reset`');
    return row.token.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  } finally {
    conn.close();
  }
}

export async function provision(
  p: LabPaths,
  url: string,
  base: Omit<LabState, 'integration' | 'owner' | 'staff' | 'content' | 'provisionedAt'>,
  progress: (s: string) => void,
): Promise<LabState> {
  const A = `${url}/ghost/api/admin`;
  const anon = new Api(A);
  const ownerPassword = password();
  const ownerEmail = 'owner@lab.ghostgate.test';
  progress('lab: provisioning: owner, integration, staff users, content');
  const setup = await anon.call('GET', '/authentication/setup/');
  if (setup.json.setup?.[0]?.status === true)
    throw new LabError('provisioning: this site is already set up but the lab state is missing', '`ghostgate lab reset` starts over');
  await anon.call(
    'POST',
    '/authentication/setup/',
    { setup: [{ name: 'Olive Owner', email: ownerEmail, password: ownerPassword, blogTitle: 'ghostgate lab' }] },
    [201],
  );
  const owner = await login(A, ownerEmail, ownerPassword);
  const me = (await owner.call('GET', '/users/me/')).json.users[0];
  const ownerUser: LabUser = {
    id: me.id,
    name: me.name,
    slug: me.slug,
    email: ownerEmail,
    password: ownerPassword,
    role: 'Owner',
    staffToken: await staffToken(owner),
  };

  const integ = (
    await owner.call('POST', '/integrations/?include=api_keys,webhooks', { integrations: [{ name: 'ghostgate lab upstream' }] })
  ).json.integrations[0];
  const adminKey = integ.api_keys.find((k: Json) => k.type === 'admin').secret as string;
  const contentKey = integ.api_keys.find((k: Json) => k.type === 'content').secret as string;

  const roles = (await owner.call('GET', '/roles/?permissions=assign')).json.roles as { id: string; name: string }[];
  const staff = {} as Record<(typeof LAB_ROLES)[number], LabUser>;
  for (const role of LAB_ROLES) {
    const roleId = roles.find((r) => r.name === role)?.id;
    if (!roleId) throw new LabError(`provisioning: Ghost has no assignable role ${role}`, 'is this Ghost 6.65?');
    const slug = role.toLowerCase().replace(/\s+/g, '-');
    const email = `${slug}@lab.ghostgate.test`;
    const pw = password();
    const name = `${role} User`;
    await owner.call('POST', '/invites/', { invites: [{ email, role_id: roleId }] });
    await anon.call(
      'POST',
      '/authentication/invitation/',
      { invitation: [{ token: inviteToken(p.db, email), email, name, password: pw }] },
      [200],
    );
    const session = await login(A, email, pw);
    const u = (await session.call('GET', '/users/me/')).json.users[0];
    staff[role] = { id: u.id, name, slug: u.slug, email, password: pw, role, staffToken: await staffToken(session) };
  }

  const tags = [];
  for (const name of ['News', 'Partner', 'Internal']) {
    const t = (await owner.call('POST', '/tags/', { tags: [{ name }] })).json.tags[0];
    tags.push({ id: t.id as string, slug: t.slug as string, name });
  }
  const posts: LabPost[] = [];
  const authors: [LabRole, LabUser][] = [
    ['Owner', ownerUser],
    ['Editor', staff.Editor],
    ['Author', staff.Author],
    ['Contributor', staff.Contributor],
  ];
  const future = new Date(Date.now() + 30 * 24 * 3600_000).toISOString();
  for (const type of ['post', 'page'] as const) {
    for (const [role, user] of authors) {
      if (type === 'page' && role !== 'Owner' && role !== 'Editor') continue;
      for (const status of ['draft', 'published', 'scheduled'] as const) {
        const tagNames = status === 'published' ? ['News'] : status === 'draft' && role !== 'Contributor' ? ['Partner'] : [];
        const title = `${role} ${status} ${type}`;
        const body = {
          title,
          status,
          authors: [{ id: user.id }],
          tags: tagNames.map((name) => ({ name })),
          lexical: JSON.stringify({
            root: {
              children: [
                {
                  children: [
                    { detail: 0, format: 0, mode: 'normal', style: '', text: `Body of ${title}.`, type: 'extended-text', version: 1 },
                  ],
                  direction: 'ltr',
                  format: '',
                  indent: 0,
                  type: 'paragraph',
                  version: 1,
                },
              ],
              direction: 'ltr',
              format: '',
              indent: 0,
              type: 'root',
              version: 1,
            },
          }),
          ...(status === 'scheduled' ? { published_at: future } : {}),
        };
        const res = (await owner.call('POST', `/${type}s/`, { [`${type}s`]: [body] })).json[`${type}s`][0];
        posts.push({ id: res.id, slug: res.slug, title, type, status, author: role, tags: tagNames });
      }
    }
  }
  const members = [];
  for (const [name, labels] of [
    ['Ada Member', ['vip']],
    ['Ben Member', ['partner']],
    ['Cy Member', ['vip', 'partner']],
    ['Di Member', []],
  ] as const) {
    const email = `${name.split(' ')[0]!.toLowerCase()}@members.lab.ghostgate.test`;
    const m = (await owner.call('POST', '/members/', { members: [{ name, email, labels: labels.map((l) => ({ name: l })) }] })).json
      .members[0];
    members.push({ id: m.id as string, email, labels: [...labels] });
  }
  const nl = (await owner.call('POST', '/newsletters/', { newsletters: [{ name: 'Partner Weekly' }] })).json.newsletters[0];
  const newsletters = (await owner.call('GET', '/newsletters/')).json.newsletters.map((n: Json) => ({
    id: n.id as string,
    name: n.name as string,
  }));
  if (!newsletters.some((n: { id: string }) => n.id === nl.id))
    throw new LabError('provisioning: the new newsletter is not listed', '`ghostgate lab reset`');

  return {
    ...base,
    integration: { id: integ.id, name: integ.name, adminKey, contentKey },
    owner: ownerUser,
    staff,
    content: { tags, posts, members, newsletters },
    provisionedAt: new Date().toISOString(),
  };
}
