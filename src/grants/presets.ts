import type { Grant } from './grant.js';

/**
 * Ready-made grants (docs/grants.md). `token create --preset NAME` starts
 * from one; `--scope` adds scopes and `--grant FILE` merges a document over it.
 * A preset holding escalation scopes (src/grants/escalation.ts) names them in
 * `escalation` and in its description; presets.test.ts keeps the two in step.
 */
const NO_STAFF_EMAILS = { users: ['email'] };
const NO_SENDING = ['newsletter', 'email_segment', 'email_recipient_filter'];
/** Script an agent could put on every reader's page (Ghost serves a post's code injection as is). */
const NO_CODE = ['codeinjection_head', 'codeinjection_foot'];
const POST_READ = ['posts:browse', 'posts:read'];
const TAG_READ = ['tags:browse', 'tags:read'];
const POST_WRITE = ['posts:add', 'posts:edit', 'posts:destroy'];

export interface Preset {
  readonly description: string;
  readonly grant: Grant;
  /** The escalation scopes the grant holds: creating a key from it needs --allow-escalation. */
  readonly escalation?: readonly string[];
}

export const PRESETS: Readonly<Record<string, Preset>> = {
  'content-reader': {
    description: 'read all posts, pages and tags; no emails',
    grant: {
      version: 1,
      scopes: [...POST_READ, 'pages:browse', 'pages:read', ...TAG_READ],
      redact: { ...NO_STAFF_EMAILS, members: ['email'] },
    },
  },
  'drafts-writer': {
    description: 'create and edit its own drafts, upload images; never publish, schedule or send email',
    grant: {
      version: 1,
      scopes: [...POST_READ, 'posts:add', 'posts:edit', ...TAG_READ, 'images:upload'],
      constraints: { posts: { status: ['draft'], createdByKey: true } },
      fields: { posts: { status: ['draft'], deny: ['authors', 'visibility', 'published_at', ...NO_SENDING, ...NO_CODE] } },
      sendEmail: false,
      redact: NO_STAFF_EMAILS,
    },
  },
  publisher: {
    description: 'posts, pages, tags and images; may publish (sending email stays refused)',
    grant: {
      version: 1,
      scopes: [
        ...POST_READ,
        ...POST_WRITE,
        'posts:copy',
        'pages:browse',
        'pages:read',
        'pages:add',
        'pages:edit',
        'pages:destroy',
        'pages:copy',
        ...TAG_READ,
        'tags:add',
        'tags:edit',
        'images:upload',
      ],
      fields: { posts: { deny: NO_SENDING }, pages: { deny: NO_SENDING } },
      sendEmail: false,
      redact: NO_STAFF_EMAILS,
    },
  },
  // For AI agents over MCP (docs/mcp.md): a prompt-injected agent can do no more than its preset.
  'agent-writer': {
    description:
      'an AI agent that drafts: browse, read, create and edit its own drafts, read tags; never publish, schedule, delete, change authors or send email',
    grant: {
      version: 1,
      scopes: [...POST_READ, 'posts:add', 'posts:edit', ...TAG_READ],
      constraints: { posts: { status: ['draft'], createdByKey: true } },
      fields: { posts: { status: ['draft'], deny: ['authors', 'visibility', 'published_at', ...NO_SENDING, ...NO_CODE] } },
      sendEmail: false,
      redact: NO_STAFF_EMAILS,
    },
  },
  'agent-editor': {
    description:
      'an AI agent that edits posts and pages: it may publish, edit what is live or scheduled, or delete a post, each time only after a person approves that call (ghostgate approvals approve); never changes authors, code injection or sends email',
    grant: {
      version: 1,
      scopes: [...POST_READ, ...POST_WRITE, 'pages:browse', 'pages:read', 'pages:add', 'pages:edit', ...TAG_READ],
      fields: { posts: { deny: ['authors', ...NO_SENDING, ...NO_CODE] }, pages: { deny: ['authors', ...NO_SENDING, ...NO_CODE] } },
      sendEmail: false,
      redact: NO_STAFF_EMAILS,
      confirm: ['posts:publish', 'pages:publish', 'posts:destroy'],
    },
  },
  'agent-analyst': {
    description: 'an AI agent that reads: browse and read posts, pages and tags; no members, staff emails redacted, nothing written',
    grant: {
      version: 1,
      scopes: [...POST_READ, 'pages:browse', 'pages:read', ...TAG_READ],
      redact: NO_STAFF_EMAILS,
    },
  },
  'webhook-setup': {
    description: 'add, edit and delete its own webhooks',
    grant: { version: 1, scopes: ['webhooks:add', 'webhooks:edit', 'webhooks:destroy'], constraints: { webhooks: { createdByKey: true } } },
  },
  'members-reader': {
    description: 'read members and labels without email or other personal data',
    grant: {
      version: 1,
      scopes: ['members:browse', 'members:read', 'labels:browse', 'labels:read'],
      // Every personal field of a member (src/grants/personal-data.ts lists where Ghost puts each and its copies):
      // transient_id is the member's session id, unsubscribe_url a credential, metafields the site's custom fields.
      redact: {
        members: [
          'email',
          'name',
          'note',
          'geolocation',
          'avatar_image',
          'subscriptions',
          'email_suppression',
          'transient_id',
          'unsubscribe_url',
          'metafields',
          'email_recipients',
          'current_subscription',
        ],
      },
    },
  },
  'contributor-strict': {
    description: "Ghost's Contributor as its admin UI behaves: only its own posts, drafts only, no tags, never publish",
    grant: {
      version: 1,
      scopes: [...POST_READ, 'posts:add', 'posts:edit', 'posts:destroy', ...TAG_READ, 'images:upload'],
      constraints: { posts: { createdByKey: true, status: ['draft'] } },
      fields: { posts: { status: ['draft'], deny: ['authors', 'visibility', 'tags', 'published_at', ...NO_SENDING] } },
      sendEmail: false,
      redact: NO_STAFF_EMAILS,
    },
  },
  'author-strict': {
    description: "Ghost's Author as its admin UI behaves: only its own posts, may publish them, no other authors",
    grant: {
      version: 1,
      scopes: [...POST_READ, 'posts:add', 'posts:edit', 'posts:destroy', ...TAG_READ, 'tags:add', 'images:upload'],
      constraints: { posts: { createdByKey: true } },
      fields: { posts: { deny: ['authors', 'visibility', ...NO_SENDING] } },
      sendEmail: false,
      redact: NO_STAFF_EMAILS,
    },
  },
  'editor-strict': {
    description:
      "Ghost's Editor: all posts, pages and tags, staff read-only; no members, settings or integrations. Escalation (bulk loss): bulk edit and bulk delete of every post and page, as Ghost's Editor may",
    grant: {
      version: 1,
      scopes: [
        'posts:*',
        'pages:*',
        'tags:*',
        'images:upload',
        'media:upload',
        'files:upload',
        'users:browse',
        'users:read',
        'roles:browse',
      ],
      fields: { posts: { deny: NO_SENDING } },
      sendEmail: false,
    },
    escalation: ['posts:bulkDestroy', 'posts:bulkEdit', 'pages:bulkDestroy', 'pages:bulkEdit'],
  },
};

/** Deep-merges `over` onto a preset: arrays are replaced, scopes are added. */
export function withOverrides(base: Grant, extraScopes: readonly string[], over: Record<string, unknown> | undefined): unknown {
  const merged = merge(structuredClone(base), over ?? {});
  const scopes = new Set([...((merged.scopes as string[] | undefined) ?? []), ...extraScopes]);
  merged.scopes = [...scopes];
  return merged;
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(b)) {
    if (k === 'scopes' && Array.isArray(v)) a.scopes = [...new Set([...((a.scopes as string[] | undefined) ?? []), ...(v as string[])])];
    else if (v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object' && !Array.isArray(a[k]))
      a[k] = merge(a[k] as Record<string, unknown>, v as Record<string, unknown>);
    else a[k] = v;
  }
  return a;
}
