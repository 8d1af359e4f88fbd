import { advise } from '../../admin/audit.js';
import { anchorChoices, upstreamKey, type AnchorChoice } from '../../admin/context.js';
import { AdminError } from '../../admin/errors.js';
import { createKey, narrowedKeyInput, type CreateKeyInput } from '../../admin/keys.js';
import { CONSOLE_PATH, gatewayBaseUrl } from '../../admin/links.js';
import { loadCatalog } from '../../catalog/catalog.js';
import { describeEscalation, escalationOf } from '../../grants/escalation.js';
import type { Grant } from '../../grants/grant.js';
import { describeGrant } from '../../grants/parts.js';
import { PRESETS, withOverrides } from '../../grants/presets.js';
import { MintError, validGrant } from '../../keys/mint.js';
import type { KeyLimits, KeyRecord } from '../../store/store.js';
import { recordAction, type PageRequest, type SignedInRequest } from '../context.js';
import { fmtTime, h, type Html } from '../html.js';
import { sendHtml } from '../http.js';
import { csrfField, page, sendFailure } from '../layout.js';

/**
 * The create wizard: 1. choose (a preset, or scopes from the catalog grouped
 * as Ghost Admin groups them; constraints from the live site's tags, authors
 * and labels; field rules, redaction and e-mail as toggles; lifetime, uses,
 * IP, rate), 2. review (the grant in words and as JSON, the equivalent CLI
 * command), 3. the key, shown once. Every step is a plain form.
 */
const GROUPS: readonly [string, readonly string[]][] = [
  [
    'Posts and pages',
    [
      'posts',
      'pages',
      'tags',
      'images',
      'media',
      'files',
      'snippets',
      'slugs',
      'oembed',
      'schedules',
      'email_previews',
      'search_index',
      'links',
      'mentions',
    ],
  ],
  [
    'Members',
    [
      'members',
      'labels',
      'tiers',
      'offers',
      'newsletters',
      'members_stripe_connect',
      'member_signin_urls',
      'member_commenting',
      'members_metafields',
      'feedback_members',
      'gifts',
      'gift_links',
      'tiers_checkout_config',
      'stats',
      'emails',
      'comments',
      'comment_likes',
      'comment_dislikes',
      'comment_replies',
      'comment_reports',
    ],
  ],
  ['Staff', ['users', 'roles', 'invites', 'identities', 'session', 'authentication']],
  [
    'Settings and design',
    [
      'settings',
      'site',
      'config',
      'themes',
      'custom_theme_settings',
      'redirects',
      'automated_email_design',
      'automated_emails',
      'automations',
      'automation_action_links',
      'automation_email_previews',
      'recommendations',
      'incoming_recommendations',
      'notifications',
    ],
  ],
  ['Integrations', ['webhooks', 'integrations', 'actions', 'slack', 'tinybird', 'featurebase']],
  ['Data', ['db', 'exports']],
];

const LIFETIMES: readonly [string, string][] = [
  ['', 'no expiry'],
  ['3600000', '1 hour'],
  ['86400000', '24 hours'],
  ['604800000', '7 days'],
  ['2592000000', '30 days'],
  ['7776000000', '90 days'],
  ['31536000000', '1 year'],
];

function scopeGroups(checked: ReadonlySet<string>): Html {
  const byResource = new Map<string, string[]>();
  for (const s of loadCatalog().scopes) {
    const r = s.split(':')[0]!;
    byResource.set(r, [...(byResource.get(r) ?? []), s]);
  }
  const placed = new Set(GROUPS.flatMap(([, rs]) => rs));
  const groups = [...GROUPS, ['Other', [...byResource.keys()].filter((r) => !placed.has(r)).sort()] as const];
  return h`<div class="groups">${groups.map(([name, resources]) => {
    const present = resources.filter((r) => byResource.has(r));
    if (present.length === 0) return '';
    const n = present.reduce((a, r) => a + byResource.get(r)!.filter((s) => checked.has(s)).length, 0);
    return h`<fieldset><legend>${name}${n ? ` (${n} chosen)` : ''}</legend>${present.map(
      (r) =>
        h`<details${byResource.get(r)!.some((s) => checked.has(s)) ? h` open` : ''}><summary>${r}</summary>${byResource
          .get(r)!
          .map(
            (s) =>
              h`<label class="inline"><input type="checkbox" name="scope" value="${s}"${checked.has(s) ? h` checked` : ''}> ${s.split(':')[1]}</label>`,
          )}</details>`,
    )}</fieldset>`;
  })}</div>`;
}

const anchorBoxes = (name: string, list: readonly AnchorChoice[] | Error, what: string) =>
  list instanceof Error
    ? h`<p class="hint">The live site’s ${what} could not be read (${list.message}).</p>`
    : list.length === 0
      ? h`<p class="hint">The site has no ${what}.</p>`
      : h`${list.map((a) => h`<label class="inline"><input type="checkbox" name="${name}" value="${a.slug}"> ${a.name} <span class="hint mono">${a.slug}</span></label>`)}`;

async function liveAnchors(p: PageRequest) {
  let key: string | Error;
  try {
    key = await upstreamKey(p.deps.config, p.deps.store, p.deps.master);
  } catch (e) {
    key = e as Error;
  }
  const get = async (kind: 'tags' | 'users' | 'labels') => {
    if (key instanceof Error) return key;
    return anchorChoices(p.deps.config, key, kind).catch((e: unknown) => e as Error);
  };
  const [tags, users, labels] = await Promise.all([get('tags'), get('users'), get('labels')]);
  return { tags, users, labels };
}

export async function newKeyPage(p: SignedInRequest): Promise<void> {
  const from = p.url.searchParams.get('from');
  if (from) return narrowFrom(p, from);
  const live = await liveAnchors(p);
  const body = h`<h1>Create a key</h1><p class="hint">Step 1 of 3: what the key is for and what it may do. Nothing is created until step 3.</p>
<form method="post" action="${CONSOLE_PATH}/keys/review">${csrfField(p.who)}
<label for="name">Name <span class="hint">(who or what the key is for)</span></label><input id="name" name="name" type="text" required maxlength="191">
<fieldset><legend>Start from</legend>
<label class="inline"><input type="radio" name="start" value="preset" checked> a preset</label>
<label for="preset" class="inline">Preset</label><select id="preset" name="preset">${Object.entries(PRESETS).map(([n, pr]) => h`<option value="${n}">${n}: ${pr.description}</option>`)}</select><br>
<label class="inline"><input type="radio" name="start" value="custom"> only the scopes chosen below</label>
<p class="hint">Scopes chosen below are added to the preset.</p></fieldset>
<h2>Scopes</h2><p class="hint">Grouped as Ghost Admin groups them; open a resource to choose its actions.</p>${scopeGroups(new Set())}
<h2>Only these records</h2><p class="hint">From the live site. The key is held to records with at least one of the chosen tags (posts and pages), authors, or labels (members); pinned to their ids when the key is created.</p>
<fieldset><legend>Tags (posts and pages)</legend>${anchorBoxes('tag', live.tags, 'tags')}</fieldset>
<fieldset><legend>Authors (posts and pages)</legend>${anchorBoxes('author', live.users, 'staff users')}</fieldset>
<fieldset><legend>Labels (members)</legend>${anchorBoxes('label', live.labels, 'labels')}</fieldset>
<fieldset><legend>Rules</legend>
<label class="inline"><input type="checkbox" name="rule" value="drafts"> only drafts (posts and pages it reads or writes)</label><br>
<label class="inline"><input type="checkbox" name="rule" value="own"> only posts this key created</label><br>
<label class="inline"><input type="checkbox" name="rule" value="nopublish"> may not publish or schedule (status stays draft)</label><br>
<label class="inline"><input type="checkbox" name="rule" value="noauthors"> may not change a post’s authors</label><br>
<label class="inline"><input type="checkbox" name="rule" value="noemail"> never makes Ghost send email</label><br>
<label class="inline"><input type="checkbox" name="rule" value="redact-members"> hide members’ emails</label><br>
<label class="inline"><input type="checkbox" name="rule" value="redact-staff"> hide staff emails</label></fieldset>
<fieldset><legend>Lifetime and limits</legend>
<label for="lifetime">Expires</label><select id="lifetime" name="lifetime">${LIFETIMES.map(([v, l]) => h`<option value="${v}"${v === '2592000000' ? h` selected` : ''}>${l}</option>`)}</select>
<label for="maxUses">Max uses <span class="hint">(empty: unlimited; 1: a one-time key)</span></label><input id="maxUses" name="maxUses" type="number" min="1">
<label for="ip">Allowed addresses <span class="hint">(CIDRs, comma-separated; empty: any)</span></label><input id="ip" name="ip" type="text" placeholder="203.0.113.0/24">
<label for="rate">Rate limit <span class="hint">(e.g. 10/s,300/m,burst=20)</span></label><input id="rate" name="rate" type="text">
<label for="dailyQuota">Requests per day</label><input id="dailyQuota" name="dailyQuota" type="number" min="1">
<p><label class="inline"><input type="checkbox" name="allowEscalation" value="1"> I accept scopes equivalent to full access (docs/security.md)</label></p></fieldset>
<p><button type="submit">Review</button></p></form>`;
  sendHtml(p.res, 200, page('Create a key', 'keys/new', p.who, body));
}

function parseRateText(text: string): NonNullable<KeyLimits['rate']> {
  const out: { perSecond?: number; perMinute?: number; burst?: number } = {};
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(\d+)\/(s|m)$|^burst=(\d+)$/.exec(part);
    if (!m) throw new AdminError('INVALID', `"${part}" is not a rate like 10/s, 300/m or burst=20`);
    if (m[3]) out.burst = Number(m[3]);
    else if (m[2] === 's') out.perSecond = Number(m[1]);
    else out.perMinute = Number(m[1]);
  }
  return out;
}

const positive = (v: string | null, what: string): number | undefined => {
  if (v === null || v.trim() === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new AdminError('INVALID', `${what} must be a positive whole number`);
  return n;
};

/** What the wizard's review and create steps carry: the service's input, with the lifetime relative to creation. */
interface Spec {
  readonly name: string;
  readonly preset: string | null;
  readonly grant: Grant;
  readonly lifetimeMs: number | null;
  readonly maxUses: number | null;
  readonly limits: KeyLimits;
  readonly allowEscalation: boolean;
  /** A narrower replacement for this key: its bounds are read again from the key when it is created (narrowedKeyInput). */
  readonly narrows?: string;
  /** The narrowed key's absolute expiry, shown at review (the key's own). */
  readonly expiresAt?: number | null;
}

function specFromForm(f: URLSearchParams): Spec {
  const name = (f.get('name') ?? '').trim();
  if (!name) throw new AdminError('INVALID', 'the key needs a name');
  const preset = f.get('start') === 'preset' ? (f.get('preset') ?? '') : null;
  if (preset !== null && !PRESETS[preset]) throw new AdminError('INVALID', `unknown preset "${preset}"`);
  const rules = new Set(f.getAll('rule'));
  const anchors = { tags: f.getAll('tag'), authors: f.getAll('author'), labels: f.getAll('label') };
  const doc: Record<string, Record<string, unknown>> = {};
  const put = (part: string, resource: string, value: Record<string, unknown>) => {
    const bucket = (doc[part] ??= {});
    bucket[resource] = { ...(bucket[resource] as object | undefined), ...value };
  };
  const base = preset ? PRESETS[preset]!.grant : { version: 1 as const, scopes: [] };
  const chosen = [...base.scopes, ...f.getAll('scope')];
  const holds = (r: string) => chosen.some((x) => x === '*' || x.startsWith(`${r}:`));
  for (const r of ['posts', 'pages'].filter(holds)) {
    if (anchors.tags.length) put('constraints', r, { tags: anchors.tags });
    if (anchors.authors.length) put('constraints', r, { authors: anchors.authors });
    if (rules.has('drafts')) put('constraints', r, { status: ['draft'] });
    if (rules.has('nopublish')) put('fields', r, { status: ['draft'] });
    if (rules.has('noauthors')) put('fields', r, { deny: ['authors'] });
  }
  if (rules.has('own') && holds('posts')) put('constraints', 'posts', { createdByKey: true });
  if (anchors.labels.length) put('constraints', 'members', { labels: anchors.labels });
  if (rules.has('redact-members')) put('redact', 'members', { _: ['email'] });
  if (rules.has('redact-staff')) put('redact', 'users', { _: ['email'] });
  // redact is { resource: [fields] }: the placeholder above keeps put() simple.
  const over: Record<string, unknown> = { ...doc };
  if (doc.redact) over.redact = Object.fromEntries(Object.entries(doc.redact).map(([r, v]) => [r, (v as { _: string[] })._]));
  if (rules.has('noemail')) over.sendEmail = false;
  let grant: Grant;
  try {
    grant = validGrant(withOverrides(base, f.getAll('scope'), over));
  } catch (e) {
    if (e instanceof MintError) throw new AdminError('INVALID', e.message);
    throw e;
  }
  const lifetime = f.get('lifetime') ?? '';
  const ip = (f.get('ip') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const rate = (f.get('rate') ?? '').trim();
  const quota = positive(f.get('dailyQuota'), 'Requests per day');
  return {
    name,
    preset,
    grant,
    lifetimeMs: lifetime === '' ? null : Number(lifetime),
    maxUses: positive(f.get('maxUses'), 'Max uses') ?? null,
    limits: {
      ...(ip.length ? { ipAllow: ip } : {}),
      ...(rate ? { rate: parseRateText(rate) } : {}),
      ...(quota ? { dailyQuota: quota } : {}),
    },
    allowEscalation: f.get('allowEscalation') === '1',
  };
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const duration = (ms: number) =>
  ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${Math.round(ms / 1000)}s`;

/** The `ghostgate token create` that makes the same key. */
export function cliCommand(s: Spec): string {
  const exactPreset = s.preset !== null && JSON.stringify(PRESETS[s.preset]!.grant) === JSON.stringify(s.grant);
  const parts = ['ghostgate token create', `--name ${shellQuote(s.name)}`, exactPreset ? `--preset ${s.preset}` : '--grant grant.json'];
  if (s.lifetimeMs !== null) parts.push(`--expires ${duration(s.lifetimeMs)}`);
  if (s.maxUses !== null) parts.push(`--max-uses ${s.maxUses}`);
  if (s.limits.ipAllow) parts.push(`--ip ${shellQuote(s.limits.ipAllow.join(','))}`);
  if (s.limits.rate) {
    const r = s.limits.rate;
    parts.push(
      `--rate ${[r.perSecond ? `${r.perSecond}/s` : '', r.perMinute ? `${r.perMinute}/m` : '', r.burst ? `burst=${r.burst}` : ''].filter(Boolean).join(',')}`,
    );
  }
  if (s.limits.dailyQuota) parts.push(`--daily-quota ${s.limits.dailyQuota}`);
  if (s.allowEscalation) parts.push('--allow-escalation');
  return parts.join(' ');
}

function reviewBody(p: SignedInRequest, s: Spec): Html {
  const e = escalationOf(s.grant);
  return h`<h1>Review the key</h1><p class="hint">Step 2 of 3. Nothing is created until you press Create.</p>
<dl class="facts"><dt>Name</dt><dd>${s.name}</dd><dt>Expires</dt><dd>${s.narrows !== undefined ? fmtTime(s.expiresAt ?? null) : s.lifetimeMs === null ? 'never' : `${duration(s.lifetimeMs)} after creation`}</dd><dt>Max uses</dt><dd>${s.maxUses ?? 'unlimited'}</dd>
<dt>Limits</dt><dd>${JSON.stringify(s.limits) === '{}' ? 'none' : JSON.stringify(s.limits)}</dd></dl>
${e.fullAccess ? h`<p class="notice bad">This key would be ${describeEscalation(e)}.</p>` : ''}
<h2>What it may do</h2><ul>${describeGrant(s.grant).map((l) => h`<li>${l}</li>`)}</ul>
<h2>Grant</h2><pre id="grant-json">${JSON.stringify(s.grant, null, 2)}</pre>
<h2>The same with the CLI</h2><pre id="cli-command">${cliCommand(s)}</pre>${cliCommand(s).includes('--grant grant.json') ? h`<p class="hint">with the grant above saved as grant.json</p>` : ''}
<form method="post" action="${CONSOLE_PATH}/keys/create">${csrfField(p.who)}<input type="hidden" name="spec" value="${JSON.stringify(s)}">
<div class="row"><button type="submit">Create key</button><a class="btn quiet" href="${CONSOLE_PATH}/keys/new">Start again</a></div></form>`;
}

export function reviewPage(p: SignedInRequest): void {
  let s: Spec;
  try {
    s = specFromForm(p.form!);
  } catch (e) {
    if (!(e instanceof AdminError)) throw e;
    sendFailure(p.res, 400, p.who, 'keys/new', 'Create a key', e.message, `${CONSOLE_PATH}/keys/new`);
    return;
  }
  sendHtml(p.res, 200, page('Review the key', 'keys/new', p.who, reviewBody(p, s)));
}

/**
 * One click to narrow: the review step for a replacement with only the scopes advise saw used. The
 * replacement keeps everything else of the key as it stands (admin/keys.ts narrowedKeyInput): its
 * parent, expiry, the uses it has left, its limits; a revoked, expired or used-up key is not narrowed.
 */
async function narrowFrom(p: SignedInRequest, id: string): Promise<void> {
  const k = await p.deps.store.keys.get(id);
  if (!k || !p.deps.auditStore) {
    sendHtml(p.res, 404, page('No such key', 'keys', p.who, h`<h1>No such key</h1>`));
    return;
  }
  const a = await advise(p.deps.store, p.deps.auditStore, id, p.now - 30 * 86_400_000);
  const name = `${k.name} (narrowed)`;
  let input: CreateKeyInput;
  try {
    input = await narrowedKeyInput(p.deps, id, name, a.proposed_grant, p.now);
  } catch (e) {
    if (!(e instanceof AdminError)) throw e;
    sendFailure(p.res, e.code === 'NOT_FOUND' ? 404 : 409, p.who, 'keys', 'Narrow a key', e.message, `${CONSOLE_PATH}/keys/${id}`);
    return;
  }
  const spec: Spec = {
    name,
    preset: null,
    grant: input.grant as Grant,
    lifetimeMs: input.expiresAt == null ? null : input.expiresAt - p.now,
    maxUses: input.maxUses ?? null,
    limits: input.limits ?? {},
    allowEscalation: false,
    narrows: id,
    expiresAt: input.expiresAt ?? null,
  };
  sendHtml(
    p.res,
    200,
    page(
      'Narrow a key',
      'keys/new',
      p.who,
      h`<p class="notice">A narrower replacement for <a href="${CONSOLE_PATH}/keys/${id}">${k.name}</a>, with only the scopes it used in the last 30 days${k.parentId ? h`, a child of the same parent` : ''}, the same expiry and the uses it has left. After giving the tool the new key, revoke the old one.</p>${reviewBody(p, spec)}`,
    ),
  );
}

export async function createPage(p: SignedInRequest): Promise<void> {
  let s: Spec;
  try {
    s = JSON.parse(p.form!.get('spec') ?? '') as Spec;
  } catch {
    sendFailure(p.res, 400, p.who, 'keys/new', 'Create a key', 'The form was damaged; start again.', `${CONSOLE_PATH}/keys/new`);
    return;
  }
  const name = typeof s.name === 'string' ? s.name : '';
  let input: CreateKeyInput;
  if (typeof s.narrows === 'string') {
    // The bounds come from the key as it is now, never from the form.
    try {
      input = await narrowedKeyInput(p.deps, s.narrows, name, s.grant, p.now);
    } catch (e) {
      if (!(e instanceof AdminError)) throw e;
      sendFailure(p.res, 400, p.who, 'keys/new', 'Not created', e.message, `${CONSOLE_PATH}/keys/${s.narrows}`);
      return;
    }
  } else
    input = {
      name,
      grant: s.grant,
      // A lifetime that is not a positive number makes an expiry in the past: refused by the service (INVALID).
      expiresAt: s.lifetimeMs === null ? null : typeof s.lifetimeMs === 'number' && s.lifetimeMs > 0 ? p.now + s.lifetimeMs : p.now - 1,
      maxUses: typeof s.maxUses === 'number' ? s.maxUses : null,
      limits: s.limits,
      allowEscalation: s.allowEscalation,
    };
  try {
    const { record, key } = await createKey(p.deps, input, p.now);
    await recordAction(p, 'keys.create', record.id);
    sendHtml(p.res, 201, page(`Created ${record.name}`, 'keys/new', p.who, keyShownOnce(p, record, key, 'Created')));
  } catch (e) {
    if (!(e instanceof AdminError)) throw e;
    sendHtml(
      p.res,
      400,
      page(
        'Not created',
        'keys/new',
        p.who,
        h`<h1>The key was not created</h1><p class="notice bad" role="alert">${e.message}</p><p><a href="${CONSOLE_PATH}/keys/new">Start again</a></p>`,
      ),
    );
  }
}

/** The key, once, with a copy button and snippets for the official client and curl. */
export function keyShownOnce(p: PageRequest, record: KeyRecord, key: string, verb: string): Html {
  const base = gatewayBaseUrl(p.deps.config);
  const admin = `/${p.deps.config.ghostPath}/api/admin/`;
  const client = `const GhostAdminAPI = require('@tryghost/admin-api');

const api = new GhostAdminAPI({
  url: '${base}',
  key: '${key}',
  version: 'v6.0',
});
const posts = await api.posts.browse({ limit: 5 });`;
  const curl = `KEY='${key}'
b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
NOW=$(date +%s)
H=$(printf '{"alg":"HS256","typ":"JWT","kid":"%s"}' "\${KEY%%:*}" | b64)
P=$(printf '{"iat":%d,"exp":%d,"aud":"/admin/"}' "$NOW" "$((NOW + 300))" | b64)
S=$(printf '%s.%s' "$H" "$P" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:\${KEY#*:}" -binary | b64)
curl -H "Authorization: Ghost $H.$P.$S" -H 'Accept-Version: v6.0' '${base}${admin}posts/?limit=1'`;
  return h`<h1>${verb} “${record.name}”</h1><p class="hint">Step 3 of 3.</p>
<p class="notice" role="status"><strong>This is the only time the key is shown.</strong> Give it to the tool as its Ghost Admin API key, with <code>${base}</code> as its Ghost URL.</p>
<pre id="new-key" class="mono">${key}</pre><p><button type="button" data-copy="new-key" hidden>Copy key</button></p>
<dl class="facts"><dt>Key id</dt><dd class="mono">${record.id}</dd><dt>Expires</dt><dd>${fmtTime(record.expiresAt)}</dd></dl>
<h2>With @tryghost/admin-api</h2><pre id="snippet-client">${client}</pre><p><button type="button" class="quiet" data-copy="snippet-client" hidden>Copy</button></p>
<h2>With curl</h2><pre id="snippet-curl">${curl}</pre><p><button type="button" class="quiet" data-copy="snippet-curl" hidden>Copy</button></p>
<p><a class="btn quiet" href="${CONSOLE_PATH}/keys/${record.id}">Go to the key’s page</a></p>`;
}
