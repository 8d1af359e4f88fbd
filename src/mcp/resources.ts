import type { Resource } from '@modelcontextprotocol/sdk/types.js';
import { describeGrant } from '../grants/parts.js';
import type { KeyRecord } from '../store/store.js';
import type { GatewayAnswer } from './dispatch.js';

/**
 * Context for the agent, as MCP resources: its key's grant in words (the rule
 * registry's own descriptions, src/grants/parts.ts, as `token show` prints
 * them) and the site's summary, read through the pipeline like any request.
 */
export const GRANT_URI = 'ghostgate://key/grant';
export const SITE_URI = 'ghostgate://site';

export const RESOURCES: Resource[] = [
  {
    uri: GRANT_URI,
    name: 'grant',
    title: "This key's grant",
    description: 'What this ghostgate key may do, in words: its scopes, the records it reaches, the fields it may set, what is hidden',
    mimeType: 'text/markdown',
  },
  {
    uri: SITE_URI,
    name: 'site',
    title: 'The Ghost site',
    description: "The site's title, URL, language and Ghost version (GET /site/ through the gateway)",
    mimeType: 'application/json',
  },
];

/** Lists of what the key may use, read through the pipeline with the caller's own credential (so within its grant). */
export interface ListResource extends Resource {
  /** The scope the list's route needs: the resource is offered only to a key that holds it. */
  readonly scope: string;
  readonly resource: string;
  readonly pathAndQuery: string;
}

export const LIST_RESOURCES: readonly ListResource[] = [
  {
    uri: 'ghostgate://tags',
    name: 'tags',
    title: 'Tags',
    description: 'The tags this key may see: id, name, slug (GET /tags/ through the gateway)',
    mimeType: 'application/json',
    scope: 'tags:browse',
    resource: 'tags',
    pathAndQuery: '/tags/?fields=id%2Cname%2Cslug&limit=all',
  },
  {
    uri: 'ghostgate://authors',
    name: 'authors',
    title: 'Authors',
    description: 'The staff users this key may see: id, name, slug (GET /users/ through the gateway)',
    mimeType: 'application/json',
    scope: 'users:browse',
    resource: 'users',
    pathAndQuery: '/users/?fields=id%2Cname%2Cslug&limit=all',
  },
];

export function grantText(key: KeyRecord, tools: readonly string[]): string {
  const when = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const lines = [
    `# ghostgate key "${key.name}" (${key.id})`,
    '',
    ...describeGrant(key.grant).map((l) => `- ${l}`),
    ...(key.expiresAt !== null ? [`- expires ${when(key.expiresAt)}`] : []),
    ...(key.limits.ipAllow?.length ? [`- only from ${key.limits.ipAllow.join(', ')}`] : []),
    ...(key.maxUses !== null ? [`- at most ${key.maxUses} successful requests in all`] : []),
    '',
    `Tools: ${tools.length ? tools.join(', ') : 'none'}.`,
    'A refused call answers with a code (SCOPE_MISSING, FIELD_REFUSED...) and what would allow it: ask the key’s owner for that.',
  ];
  return lines.join('\n');
}

/** The public part of GET /site/ an agent needs (ghost/core/core/server/api/endpoints/site.js). */
export function siteSummary(a: GatewayAnswer): Record<string, unknown> | undefined {
  const site = (a.json as { site?: Record<string, unknown> } | undefined)?.site;
  if (a.status !== 200 || !site || typeof site !== 'object') return undefined;
  const pick = ['title', 'description', 'url', 'locale', 'version'];
  return Object.fromEntries(pick.filter((k) => site[k] !== undefined).map((k) => [k, site[k]]));
}
