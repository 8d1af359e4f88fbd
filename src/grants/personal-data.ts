import type { RouteEntry } from '../catalog/catalog.js';
import type { Grant, GrantPart } from './grant.js';
import { filterKeys, FilterError } from './nql.js';

/**
 * Personal data as data: one table, read from Ghost 6.65's serializers, mappers and schema
 * (paths relative to ghost/core), that redaction, the oracle checks and docs/grants.md share.
 *
 * A grant's `redact: {members: ["email"]}` removes a member's email wherever Ghost puts it:
 * - in every object of that type, found by the key Ghost nests it under (CONTAINERS);
 * - in every copy of the field Ghost keeps elsewhere under another name (COPIES), such as
 *   `email_recipients[].member_email` or an activity event's `to_email`;
 * - in fields derived from it (a member's Gravatar `avatar_image` is a hash of the email);
 * and it may not be tested either: not by `filter` (any spelling Ghost accepts: column names are
 * case-insensitive, relation paths reach the related table), `order`, `search`, or a by-value route.
 */
type Json = Record<string, unknown>;
export type RedactType = 'users' | 'members' | 'posts' | 'pages' | 'tags' | 'newsletters' | 'settings';

/**
 * Where objects of a type sit in Ghost's answers, by the key they are nested under.
 * members: serializers/output/members.js, mappers/comments.js:19-28 (`member`, also in replies and
 *   parent), mappers/activity-feed-events.js:5 (`data.member`), mappers/email-failures.js:3
 *   (`failures[].member`), output/default.js (likes, dislikes, reports, feedback: whole member rows).
 * users: mappers/users.js; posts' `authors` and `primary_author` (mappers/posts.js:156-158),
 *   `post_revisions[].author` (models/post-revision.js:7-9, the raw user row), actions' `actor`
 *   (utils/clean.js:149-160), events' `userAttribution` (event-repository.js:391-512).
 */
const CONTAINERS: Readonly<Record<string, RedactType>> = {
  members: 'members',
  member: 'members',
  users: 'users',
  user: 'users',
  authors: 'users',
  primary_author: 'users',
  author: 'users',
  actor: 'users',
  userAttribution: 'users',
  posts: 'posts',
  post: 'posts',
  postAttribution: 'posts',
  pages: 'pages',
  page: 'pages',
  tags: 'tags',
  tag: 'tags',
  primary_tag: 'tags',
  newsletters: 'newsletters',
  newsletter: 'newsletters',
  settings: 'settings',
};

/** A post's or page's body, in any of its formats: redacting one hides everything made from it. */
function POST_BODY(type: 'posts' | 'pages'): string[] {
  return ['html', 'plaintext', 'lexical', 'mobiledoc'].map((f) => `${type}.${f}`);
}

/**
 * Copies of a person's field kept under other names, by the key of the object that holds them
 * (with the parent key where the key alone is too generic). `type.field` is the field it copies.
 */
const COPIES: readonly { at: string; parent?: string; fields: Readonly<Record<string, readonly string[]>>; source: string }[] = [
  // include=email_recipients on members; include=email_recipient on recipient failures (schema.js:1689-1691).
  {
    at: 'email_recipients',
    fields: { member_email: ['members.email'], member_name: ['members.name'], member_uuid: ['members.uuid'] },
    source: 'models/member.js:415-417; mappers/email-failures.js:15-25',
  },
  {
    at: 'email_recipient',
    fields: { member_email: ['members.email'], member_name: ['members.name'], member_uuid: ['members.uuid'] },
    source: 'mappers/email-failures.js:15-25',
  },
  // Activity feed: email changes, spam complaints, donations pass event rows through (event-repository.js:455-1018).
  {
    at: 'data',
    parent: 'events',
    fields: {
      to_email: ['members.email'],
      from_email: ['members.email'],
      email_address: ['members.email'],
      email: ['members.email'],
      name: ['members.name'],
      donation_message: ['members.note'],
    },
    source: 'members-api/repositories/event-repository.js:455-512,911-1018; mappers/activity-feed-events.js:134-150',
  },
  // Stripe customers: real ones, and the synthetic ones of comped and gift members (member-bread-service.js:173-180).
  { at: 'customer', fields: { email: ['members.email'], name: ['members.name'] }, source: 'models/stripe-customer-subscription.js:20-72' },
  // Actions: the name, title or email of the record acted on (models/base/plugins/actions.js:112-121).
  {
    at: 'context',
    parent: 'actions',
    fields: { primary_name: ['members.name', 'members.email', 'users.name', 'users.email', 'posts.title', 'pages.title'] },
    source: 'models/base/plugins/actions.js:101-133',
  },
  {
    at: 'resource',
    parent: 'actions',
    fields: { name: ['members.name', 'users.name'], title: ['posts.title', 'pages.title'] },
    source: 'utils/clean.js:162-167',
  },
  // Author attribution titles are staff names (member-attribution/attribution-builder.js:120).
  { at: 'attribution', fields: { title: ['users.name'] }, source: 'member-attribution/attribution-builder.js:120' },
  // Sender identities are usually a staff member's address (schema.js:25-27, 1641-1642).
  {
    at: 'newsletters',
    fields: { sender_email: ['users.email'], sender_reply_to: ['users.email'], sender_name: ['users.name'] },
    source: 'mappers/newsletters.js:24-33',
  },
  {
    at: 'newsletter',
    fields: { sender_email: ['users.email'], sender_reply_to: ['users.email'], sender_name: ['users.name'] },
    source: 'mappers/posts.js:168-170',
  },
  { at: 'emails', fields: { from: ['users.email'], reply_to: ['users.email'] }, source: 'mappers/emails.js' },
  { at: 'email', fields: { from: ['users.email'], reply_to: ['users.email'] }, source: 'mappers/posts.js:160-166' },
  {
    at: 'automated_emails',
    fields: { sender_email: ['users.email'], sender_reply_to: ['users.email'], sender_name: ['users.name'] },
    source: 'api/endpoints/automated-emails.js:31-50',
  },
  { at: 'invites', fields: { email: ['users.email'] }, source: 'models/invite.js' },
  { at: 'stats', fields: { authors: ['users.name'] }, source: 'services/stats/posts-stats-service.js:1304-1365' },
  // Derived from a post's body: the excerpt Ghost cuts from its plaintext (serializers/output/utils/extra-attrs.js), and
  // the newsletter email made from it (a post's `email`: html, plaintext, its lexical source).
  { at: 'posts', fields: { excerpt: POST_BODY('posts') }, source: 'serializers/output/utils/extra-attrs.js' },
  { at: 'post', fields: { excerpt: POST_BODY('posts') }, source: 'serializers/output/utils/extra-attrs.js' },
  { at: 'pages', fields: { excerpt: POST_BODY('pages') }, source: 'serializers/output/utils/extra-attrs.js' },
  { at: 'page', fields: { excerpt: POST_BODY('pages') }, source: 'serializers/output/utils/extra-attrs.js' },
  {
    at: 'email',
    parent: 'posts',
    fields: { html: POST_BODY('posts'), plaintext: POST_BODY('posts'), source: POST_BODY('posts') },
    source: 'serializers/output/mappers/emails.js',
  },
  // Derived from a member's email: the Gravatar URL and the unsubscribe link (member.js:639, settings-helpers.js:184-193).
  {
    at: 'members',
    fields: { avatar_image: ['members.email'], unsubscribe_url: ['members.email', 'members.uuid'] },
    source: 'models/member.js:639',
  },
  {
    at: 'member',
    fields: { avatar_image: ['members.email'], unsubscribe_url: ['members.email', 'members.uuid'] },
    source: 'services/members/member-avatar.js:10-17',
  },
];

/** COPIES by the key of the object that holds them: redact() asks for each object of an answer. */
const COPIES_AT = new Map<string, (typeof COPIES)[number][]>();
for (const c of COPIES) COPIES_AT.set(c.at, [...(COPIES_AT.get(c.at) ?? []), c]);

/** Settings whose value is an address of a person (default-settings.json:338; settings-service.js:246-262). */
const SETTING_COPIES: Readonly<Record<string, readonly string[]>> = {
  members_support_address: ['users.email'],
  support_email_address: ['users.email'],
  default_email_address: ['users.email'],
  slack_username: ['users.name'],
};

/**
 * Settings that are secrets, blanked for every key unless its grant has `revealSettingSecrets: true`:
 * Ghost masks only keys matching /secret|api_key/ (services/settings), and answers the private site's
 * password, its public hash and the Slack webhook URL in clear. Any other token-shaped value is
 * blanked too (SECRET_VALUE).
 */
const SECRET_SETTING = /password|secret|private_key|api_key|_token|token_|public_hash|slack_url|webhook/i;
const SECRET_VALUE =
  /^(?:[0-9a-f]{32,}|(?:sk|rk|pk|whsec)_[A-Za-z0-9_]{16,}|[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{10,}|https:\/\/hooks\.slack\.com\/\S+)$/;

export interface Redactions {
  /** Fields removed per type (the grant's `redact`). */
  readonly fields: ReadonlyMap<RedactType, ReadonlySet<string>>;
  /** Blank settings that are secrets. */
  readonly settingSecrets: boolean;
}

export function redactionsOf(grant: Grant, route?: RouteEntry): Redactions | undefined {
  const r = grant.redact;
  const fields = new Map<RedactType, ReadonlySet<string>>(Object.entries(r ?? {}).map(([type, f]) => [type as RedactType, new Set(f)]));
  const settingSecrets = grant.revealSettingSecrets !== true && (route === undefined || route.resource === 'settings');
  if (fields.size === 0 && !settingSecrets) return undefined;
  return { fields, settingSecrets };
}

/**
 * A table's own entry. The tables are plain objects and the keys come from answers and filters, where
 * `constructor` or `toString` would otherwise find what every object inherits (review finding).
 */
const ownEntry = <T>(table: Readonly<Record<string, T>> | undefined, key: string): T | undefined =>
  table !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;

const redacted = (rules: Redactions, typeField: string): boolean => {
  const dot = typeField.indexOf('.');
  return rules.fields.get(typeField.slice(0, dot) as RedactType)?.has(typeField.slice(dot + 1)) ?? false;
};

/** Removes redacted data in place; returns how many values were removed. */
export function redact(value: unknown, rules: Redactions, at = '', parent = ''): number {
  let removed = 0;
  if (Array.isArray(value)) {
    for (const v of value) removed += redact(v, rules, at, parent);
    return removed;
  }
  if (!value || typeof value !== 'object') return 0;
  const obj = value as Json;
  // A revision is the post or page it belongs to, as it was (models/post-revision.js): its record's type.
  const type = CONTAINERS[at] ?? (at === 'post_revisions' ? CONTAINERS[parent] : undefined);
  if (type === 'settings') {
    // Settings are {key, value} rows: redact by key.
    // An empty value hides nothing: it is left as Ghost answered it.
    if (typeof obj.key === 'string' && obj.value !== null && obj.value !== undefined && obj.value !== '') {
      const own = rules.fields.get('settings')?.has(obj.key) ?? false;
      const copy = (ownEntry(SETTING_COPIES, obj.key) ?? []).some((tf) => redacted(rules, tf));
      const secret =
        rules.settingSecrets && (SECRET_SETTING.test(obj.key) || (typeof obj.value === 'string' && SECRET_VALUE.test(obj.value)));
      if (own || copy || secret) {
        obj.value = null;
        removed++;
      }
    }
    return removed;
  }
  const fields = type ? rules.fields.get(type) : undefined;
  if (fields) {
    for (const f of fields) {
      if (f in obj) {
        // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- redaction removes the grant's named fields
        delete obj[f];
        removed++;
      }
    }
  }
  for (const c of COPIES_AT.get(at) ?? []) {
    if (c.parent !== undefined && c.parent !== parent) continue;
    for (const [f, sources] of Object.entries(c.fields)) {
      // Attribution titles are staff names only for author attribution.
      if (c.at === 'attribution' && obj.type !== 'author') continue;
      if (f in obj && typeof obj[f] !== 'object' && sources.some((tf) => redacted(rules, tf))) {
        // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- redaction removes the grant's named fields
        delete obj[f];
        removed++;
      }
    }
  }
  // Into every object or array under it (a JSON answer's object has its own keys only).
  for (const k in obj) {
    const v = obj[k];
    // Stryker disable next-line ConditionalExpression,LogicalOperator: redact() answers 0 for what is not an object; the test only saves the call
    if (typeof v === 'object' && v !== null) removed += redact(v, rules, k, at);
  }
  return removed;
}

/**
 * Filter, order and search reach into these tables (models/*.js filterRelations, filterExpansions,
 * mongo-knex's `relation.column` reading; research in docs/grants.md): per resource, the table a
 * bare or `table.`-prefixed column belongs to, the relations whose columns carry a redactable type's
 * fields, and the join tables that hold copies.
 */
type Relation = { readonly type?: RedactType; readonly table?: string; readonly copies?: Readonly<Record<string, string>> };
const POST_RELATIONS = (own: 'posts' | 'pages'): Readonly<Record<string, Relation>> => ({
  authors: { type: 'users', table: 'users' },
  tags: { type: 'tags', table: 'tags' },
  posts_meta: { type: own },
  // A revision's columns (title, lexical, custom_excerpt, feature_image...) are the post's own fields.
  post_revisions: { type: own },
});
const QUERY_TABLES: Readonly<Record<string, { own: RedactType | 'other'; table: string; relations: Readonly<Record<string, Relation>> }>> =
  {
    members: {
      own: 'members',
      table: 'members',
      relations: {
        email_recipients: { copies: { member_email: 'members.email', member_name: 'members.name', member_uuid: 'members.uuid' } },
        emails: { table: 'emails' },
        newsletters: { type: 'newsletters', table: 'newsletters' },
        // Its columns (key, value) are the member's metafields: redacting them refuses the whole relation (columnRedacted).
        metafields: {},
        // The rest of models/member.js filterRelations: tables that hold no copy of a person's field.
        labels: {},
        products: {},
        subscriptions: {},
        signups: {},
        conversions: {},
        clicked_links: {},
        feedback: {},
        offer_redemptions: {},
      },
    },
    users: { own: 'users', table: 'users', relations: { roles: {} } },
    posts: { own: 'posts', table: 'posts', relations: POST_RELATIONS('posts') },
    pages: { own: 'pages', table: 'posts', relations: POST_RELATIONS('pages') },
    tags: { own: 'tags', table: 'tags', relations: {} },
    invites: { own: 'other', table: 'invites', relations: {} },
    actions: { own: 'other', table: 'actions', relations: {} },
    newsletters: { own: 'newsletters', table: 'newsletters', relations: {} },
    emails: { own: 'other', table: 'emails', relations: {} },
  };
/** Columns of "other" tables that carry a person's field (invites.email, actions.context, senders). */
const COLUMN_COPIES: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  invites: { email: ['users.email'] },
  actions: { context: ['members.name', 'members.email', 'users.name', 'users.email'] },
  newsletters: { sender_email: ['users.email'], sender_reply_to: ['users.email'], sender_name: ['users.name'] },
  emails: { from: ['users.email'], reply_to: ['users.email'] },
};
/** Ghost's `search` matches members' name OR email (models/member.js:617-625); only member routes take it. */
const SEARCH_COLUMNS: Readonly<Record<string, readonly string[]>> = { members: ['members.email', 'members.name'] };
/** Routes that look a record up by a person's field. */
const BY_VALUE_ROUTES: Readonly<Record<string, string>> = { 'GET /users/email/:email': 'users.email' };

/** Does reading `column` of `resource` (as a filter or order key) test a redacted field? Returns the field. */
function columnRedacted(rules: Redactions, resource: string, key: string): string | undefined {
  const q = QUERY_TABLES[resource];
  if (!q) return undefined;
  const parts = key.split('.');
  // mongo-knex: `table.column` where table is a relation or the resource's own table; column names case-insensitive.
  const [name, second] = [parts[0]!, parts[1]];
  const first = name.toLowerCase();
  let column = first;
  if (second !== undefined) {
    if (first === q.table) column = second.toLowerCase();
    // A relation named like a redacted field (a member's `subscriptions`, `metafields`, `labels`): all of it is redacted.
    else if (q.own !== 'other' && rules.fields.get(q.own)?.has(first)) return `${q.own}.${first}`;
    else {
      const rel = ownEntry(q.relations, name);
      // A relation the table above does not know (a newer Ghost's) may hold copies: refused, not guessed.
      if (rel === undefined) return `${name}, a relation the gateway does not judge,`;
      const col = second.toLowerCase();
      if (rel.type && rules.fields.get(rel.type)?.has(col)) return `${rel.type}.${col}`;
      const copy = ownEntry(rel.copies, col);
      if (copy && redacted(rules, copy)) return copy;
      return (rel.table ? ownEntry(COLUMN_COPIES[rel.table], col) : undefined)?.find((tf) => redacted(rules, tf));
    }
  }
  if (q.own !== 'other' && rules.fields.get(q.own)?.has(column)) return `${q.own}.${column}`;
  return ownEntry(COLUMN_COPIES[q.table], column)?.find((tf) => redacted(rules, tf));
}

/**
 * Whether a request tests a field its key may not see, and how. Returns a reason, or undefined.
 * Filter keys come from Ghost's own parser; order fields as bookshelf-order reads them
 * (`field dir`, lower-cased); search by the member routes' search columns.
 */
export function checkOracles(rules: Redactions, route: RouteEntry, query: ReadonlyMap<string, string>): string | undefined {
  const byValue = BY_VALUE_ROUTES[`${route.method} ${route.path}`];
  if (byValue && redacted(rules, byValue)) return `${route.path} looks records up by ${byValue}, which this key may not see`;
  const resource = route.resource;
  const filter = query.get('filter');
  if (filter !== undefined) {
    let keys: string[];
    try {
      keys = filterKeys(filter);
    } catch (e) {
      // Refused as FILTER_INVALID by the filter step. (filterKeys throws nothing else: the rethrow is for a bug.)
      // Stryker disable next-line ConditionalExpression: no test can make Ghost's parser throw another error
      if (e instanceof FilterError) return undefined;
      throw e;
    }
    for (const k of keys) {
      const hit = columnRedacted(rules, resource, k);
      if (hit) return `the filter tests ${hit} (${k}), which this key may not see`;
    }
  }
  const order = query.get('order');
  if (order !== undefined) {
    for (const clause of order.split(',')) {
      // split gives at least one element.
      const field = clause.trim().split(/\s/)[0]!;
      const hit = columnRedacted(rules, resource, field);
      if (hit) return `the order sorts by ${hit}, which this key may not see`;
    }
  }
  if (query.has('search')) {
    const tf = SEARCH_COLUMNS[resource]?.find((c) => redacted(rules, c));
    if (tf !== undefined) return `search matches ${tf}, which this key may not see`;
  }
  return undefined;
}

/** The table, for docs and tests: every copy of a person's field and where Ghost keeps it. */
export const PERSONAL_DATA = { CONTAINERS, COPIES, SETTING_COPIES, QUERY_TABLES, COLUMN_COPIES, SEARCH_COLUMNS, BY_VALUE_ROUTES } as const;

/** Redaction: a child keeps every redaction of its parent. */
export const redactPart: GrantPart<'redact'> = {
  part: 'redact',
  subset: (child, parent) =>
    Object.entries(parent.redact ?? {}).flatMap(([type, fields]) => {
      const cf = child.redact?.[type as keyof NonNullable<Grant['redact']>] ?? [];
      return fields.every((f) => cf.includes(f)) ? [] : [`redact.${type} must keep the parent's redactions`];
    }),
  inherit: (child, parent) => (!child.redact && parent.redact ? structuredClone(parent.redact) : undefined),
  describe: (g) =>
    Object.entries(g.redact ?? {}).map(
      ([type, fields]) => `${type}: ${fields.join(', ')} removed from every answer, and never filtered, ordered or searched by`,
    ),
};

/** Settings secrets are blanked unless the grant reveals them; a child may reveal them only if its parent does. */
export const revealSettingSecretsPart: GrantPart<'revealSettingSecrets'> = {
  part: 'revealSettingSecrets',
  subset: (child, parent) =>
    child.revealSettingSecrets === true && parent.revealSettingSecrets !== true
      ? ['revealSettingSecrets: the parent sees settings secrets blanked, so must the child']
      : [],
  describe: (g) => (g.revealSettingSecrets === true ? ['settings secrets shown (the private site password, webhook URLs, keys)'] : []),
};
