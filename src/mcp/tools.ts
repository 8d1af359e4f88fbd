import { ghostSingular, type Catalog, type RouteEntry } from '../catalog/catalog.js';
import { constraintFor, describeConstraint } from '../grants/constraints.js';
import { compileGrant, type Grant } from '../grants/grant.js';

/**
 * MCP tools derived from the route catalog: one tool per record action Ghost's
 * Admin API offers (browse, read, add, edit, destroy of a resource, the verbs of
 * ghost/core/core/server/api/endpoints/*.js), named `browse_posts`, `read_post`,
 * `add_post`... A tool is only a way to spell an HTTP request: `toolRequest`
 * (request.ts) turns its input into the request the gateway's own pipeline then
 * decides, so a tool can do nothing the same key could not do over HTTP. The
 * list a key is shown is filtered by its grant for the agent's sake only.
 */
export type ToolAction = 'browse' | 'read' | 'add' | 'edit' | 'destroy';
const ACTIONS: readonly ToolAction[] = ['browse', 'read', 'add', 'edit', 'destroy'];

export interface ToolSpec {
  readonly name: string;
  readonly resource: string;
  readonly action: ToolAction;
  /** The scope the routes need (`posts:read`). */
  readonly scope: string;
  /** The route by id (or the collection's route for browse and add), and the by-slug read route when Ghost has one. */
  readonly route: RouteEntry;
  readonly bySlug?: RouteEntry;
  /** The query options the tool takes: Ghost's options for the route that a client sends (catalog/options.ts). */
  readonly options: readonly string[];
}

/** Query options a tool passes on, when the route's controller reads them; the rest are Ghost-internal or rarely useful. */
const TOOL_OPTIONS = [
  'filter',
  'search',
  'include',
  'fields',
  'formats',
  'limit',
  'page',
  'order',
  'source',
  'newsletter',
  'email_segment',
];
/** Options that make Ghost send email (ghost/core/core/server/api/endpoints/posts.js edit: `newsletter`, `email_segment`). */
const SENDING_OPTIONS = new Set(['newsletter', 'email_segment']);
/** Routes that are not a key's to call as a record action. */
const SKIP_FLAGS = ['public', 'no_permission', 'dangling', 'upload', 'bulk', 'query_token', 'custom'] as const;

function shapeOf(route: RouteEntry): 'collection' | 'id' | 'slug' | undefined {
  const [first, ...rest] = route.segments;
  if (first !== route.resource) return undefined;
  if (rest.length === 0) return 'collection';
  if (rest.length === 1 && rest[0] === ':id') return 'id';
  if (rest.length === 2 && rest[0] === 'slug' && rest[1] === ':slug') return 'slug';
  return undefined;
}

const WANTED: Record<ToolAction, { method: string; shape: 'collection' | 'id' }> = {
  browse: { method: 'GET', shape: 'collection' },
  read: { method: 'GET', shape: 'id' },
  add: { method: 'POST', shape: 'collection' },
  edit: { method: 'PUT', shape: 'id' },
  destroy: { method: 'DELETE', shape: 'id' },
};

/** Every tool the catalog offers, whatever a key holds. */
export function catalogTools(catalog: Catalog): ToolSpec[] {
  const out: ToolSpec[] = [];
  const usable = catalog.routes.filter((r) => !SKIP_FLAGS.some((f) => r.flags.has(f)) && r.options.options !== undefined);
  for (const resource of catalog.resources) {
    for (const action of ACTIONS) {
      const want = WANTED[action];
      const here = usable.filter((r) => r.resource === resource && r.action === action && r.method === want.method);
      const route = here.find((r) => shapeOf(r) === want.shape);
      if (!route) continue;
      const bySlug = action === 'read' ? here.find((r) => shapeOf(r) === 'slug') : undefined;
      const name = `${action}_${action === 'browse' ? resource : ghostSingular(resource)}`;
      const opts = route.options.options!;
      const spec: ToolSpec = { name, resource, action, scope: route.scope, route, options: TOOL_OPTIONS.filter((o) => opts.has(o)) };
      out.push(bySlug ? { ...spec, bySlug } : spec);
    }
  }
  return out;
}

/**
 * The tools a grant's scopes reach, for `tools/list`. Only a courtesy to the agent: a call of any
 * catalog tool goes to the pipeline, which refuses what the grant does not allow (SCOPE_MISSING).
 */
export function toolsFor(grant: Grant, tools: readonly ToolSpec[], reachable: (route: RouteEntry) => boolean): ToolSpec[] {
  const g = compileGrant(grant);
  return tools.filter((t) => g.holds(t.scope, t.resource) && reachable(t.route));
}

/** Whether the grant refuses a query option outright (sending email): the tool then does not offer it. */
function optionRefused(grant: Grant, resource: string, option: string): boolean {
  if (!SENDING_OPTIONS.has(option)) return false;
  const rule = grant.fields?.[resource as keyof NonNullable<Grant['fields']>];
  return grant.sendEmail === false || Boolean(rule?.deny?.includes(option));
}

const OPTION_SCHEMA: Record<string, Record<string, unknown>> = {
  filter: { type: 'string', description: "Ghost's NQL filter, e.g. status:draft+tag:news (https://ghost.org/docs/content-api/#filtering)" },
  search: { type: 'string', description: 'Free-text search' },
  include: { type: 'string', description: 'Comma-separated relations to include, e.g. tags,authors' },
  fields: { type: 'string', description: 'Comma-separated fields to return, e.g. id,title,slug' },
  formats: { type: 'string', description: 'Comma-separated content formats, e.g. html,lexical' },
  limit: {
    oneOf: [{ type: 'integer', minimum: 1, maximum: 100 }, { const: 'all' }],
    description: 'Records per page (default 15), or "all"',
  },
  page: { type: 'integer', minimum: 1, description: 'Page number' },
  order: { type: 'string', description: 'Sort order, e.g. published_at desc' },
  source: { const: 'html', description: 'Send "html" to give the content as html instead of lexical' },
  newsletter: { type: 'string', description: 'Slug of the newsletter to send the post to when publishing it' },
  email_segment: { type: 'string', description: 'Which members the email goes to (NQL), with newsletter' },
};

export interface ToolDefinition {
  name: string;
  title: string;
  description: string;
  inputSchema: { type: 'object'; properties: Record<string, unknown>; required?: string[]; additionalProperties: false };
  annotations: { title: string; readOnlyHint: boolean; destructiveHint: boolean; idempotentHint: boolean; openWorldHint: boolean };
}

const VERB: Record<ToolAction, string> = { browse: 'List', read: 'Read one', add: 'Create a', edit: 'Change a', destroy: 'Delete a' };

/** What the agent is shown for a tool: its input schema and annotations, and the key's rules that bear on it. */
export function toolDefinition(t: ToolSpec, grant: Grant): ToolDefinition {
  const one = ghostSingular(t.resource).replace(/_/g, ' ');
  const many = t.resource.replace(/_/g, ' ');
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  if (t.action === 'read') {
    properties.id = { type: 'string', description: `The ${one}'s id (24 hex)` };
    if (t.bySlug) properties.slug = { type: 'string', description: `The ${one}'s slug, instead of its id` };
    else required.push('id');
  } else if (t.action === 'edit' || t.action === 'destroy') {
    properties.id = { type: 'string', description: `The ${one}'s id (24 hex)` };
    required.push('id');
  }
  if (t.action === 'add' || t.action === 'edit') {
    properties.body = bodySchema(t, grant, one);
    required.push('body');
  }
  for (const o of t.options) if (!optionRefused(grant, t.resource, o)) properties[o] = OPTION_SCHEMA[o];

  const rules: string[] = [];
  const c = constraintFor(grant, t.resource);
  if (c) rules.push(`This key reaches only ${describeConstraint(t.resource, c)}.`);
  const rule = grant.fields?.[t.resource as keyof NonNullable<Grant['fields']>];
  if (rule && (t.action === 'add' || t.action === 'edit')) {
    if (rule.status) rules.push(`It may set status only to ${rule.status.join(' or ')}.`);
    if (rule.deny) rules.push(`It may not set ${rule.deny.join(', ')}.`);
    if (rule.allow) rules.push(`It may only set ${rule.allow.join(', ')}.`);
  }
  const redacted = grant.redact?.[t.resource as keyof NonNullable<Grant['redact']>];
  if (redacted && (t.action === 'browse' || t.action === 'read')) rules.push(`Answers omit ${redacted.join(', ')}.`);
  const path = `${t.route.method} /ghost/api/admin${t.route.path}/`;
  const verb = t.action === 'browse' ? `${VERB.browse} ${many}` : `${VERB[t.action]} ${one}`;
  const edit = t.action === 'edit' ? ` Send the ${one}'s current updated_at in body (Ghost refuses an edit of a stale copy).` : '';
  const title = `${verb[0]!.toUpperCase()}${verb.slice(1)}`;
  return {
    name: t.name,
    title,
    description: `${title} on the Ghost site (${path}, scope ${t.scope}).${edit}${rules.length ? ` ${rules.join(' ')}` : ''}`,
    inputSchema: { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false },
    annotations: {
      title,
      readOnlyHint: t.action === 'browse' || t.action === 'read',
      destructiveHint: t.action === 'destroy' || t.action === 'edit',
      // Ghost's edit sets the fields given (a second identical edit changes nothing more); a delete of a deleted record is a 404.
      idempotentHint: t.action !== 'add',
      openWorldHint: false,
    },
  };
}

function bodySchema(t: ToolSpec, grant: Grant, one: string): Record<string, unknown> {
  const rule = grant.fields?.[t.resource as keyof NonNullable<Grant['fields']>];
  const properties: Record<string, unknown> = {};
  if (rule?.status) properties.status = { enum: rule.status };
  if (t.resource === 'posts' || t.resource === 'pages') {
    properties.title = { type: 'string' };
    properties.html = { type: 'string', description: 'The content as HTML (with source: "html")' };
    properties.lexical = { type: 'string', description: "The content in Ghost's lexical JSON, as a string" };
  }
  if (t.action === 'edit') properties.updated_at = { type: 'string', description: `The ${one}'s updated_at as last read` };
  // Denied fields are named so that an agent does not try them; the gateway refuses them whatever the schema says.
  for (const f of rule?.deny ?? []) properties[f] = { not: {}, description: 'refused by this key' };
  const schema: Record<string, unknown> = {
    type: 'object',
    description: `The ${one}'s fields as Ghost's Admin API takes them; sent as {"${t.resource}":[body]}`,
    properties,
  };
  if (rule?.allow) schema.additionalProperties = false;
  if (rule?.allow) for (const f of [...rule.allow, 'id', 'updated_at']) properties[f] ??= {};
  return schema;
}
