import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog } from '../catalog/catalog.js';
import type { Grant } from '../grants/grant.js';
import { PRESETS } from '../grants/presets.js';
import { catalogTools, toolDefinition, toolsFor, type ToolSpec } from './tools.js';

const catalog = loadCatalog();
const all = catalogTools(catalog);
const byName = (name: string): ToolSpec => {
  const t = all.find((x) => x.name === name);
  assert.ok(t, name);
  return t;
};
const everywhere = () => true;
const names = (g: Grant) =>
  toolsFor(g, all, everywhere)
    .map((t) => t.name)
    .sort();

test('the catalog gives the record tools of posts, each bound to its route', () => {
  const posts = all.filter((t) => t.resource === 'posts').map((t) => `${t.name} ${t.route.method} ${t.route.path}`);
  assert.deepEqual(posts.sort(), [
    'add_post POST /posts',
    'browse_posts GET /posts',
    'destroy_post DELETE /posts/:id',
    'edit_post PUT /posts/:id',
    'read_post GET /posts/:id',
  ]);
  assert.equal(byName('read_post').bySlug?.path, '/posts/slug/:slug');
  assert.equal(byName('read_tag').bySlug?.path, '/tags/slug/:slug');
  assert.equal(byName('read_member').bySlug, undefined);
});

test('no tool stands for a bulk, upload, public, unauthenticated or unserved route', () => {
  for (const t of all) {
    for (const f of ['bulk', 'upload', 'public', 'no_permission', 'dangling', 'query_token', 'custom'] as const) {
      assert.ok(!t.route.flags.has(f), `${t.name}: ${f}`);
    }
    assert.equal(t.scope, `${t.resource}:${t.action}`);
    assert.equal(t.route.segments[0], t.resource, t.name);
  }
  assert.ok(
    !all.some((t) => t.resource === 'site' || t.resource === 'session' || t.resource === 'config'),
    "!all.some((t) => t.resource === 'site' || t.resource === 'session' || t.resource === 'config')",
  );
  assert.ok(all.length > 40, `${all.length} tools`);
});

test('a content-reader key is shown browse and read tools only', () => {
  assert.deepEqual(names(PRESETS['content-reader']!.grant), [
    'browse_pages',
    'browse_posts',
    'browse_tags',
    'read_page',
    'read_post',
    'read_tag',
  ]);
});

test('wildcard scopes reach every tool of their resource, and nothing else', () => {
  assert.deepEqual(names({ version: 1, scopes: ['tags:*'] }), ['add_tag', 'browse_tags', 'destroy_tag', 'edit_tag', 'read_tag']);
  assert.equal(names({ version: 1, scopes: ['*'] }).length, all.length);
  assert.deepEqual(names({ version: 1, scopes: [] }), []);
});

test('a tool whose route the upstream credential cannot reach is not shown', () => {
  const g: Grant = { version: 1, scopes: ['posts:*'] };
  const shown = toolsFor(g, all, (r) => r.method === 'GET').map((t) => t.name);
  assert.deepEqual(shown.sort(), ['browse_posts', 'read_post']);
});

test('browse takes the query options Ghost reads for the route, and nothing is required', () => {
  const d = toolDefinition(byName('browse_posts'), { version: 1, scopes: ['posts:browse'] });
  assert.deepEqual(Object.keys(d.inputSchema.properties).sort(), ['fields', 'filter', 'formats', 'include', 'limit', 'order', 'page']);
  assert.equal(d.inputSchema.required, undefined);
  assert.equal(d.inputSchema.additionalProperties, false);
  assert.deepEqual(d.annotations, {
    title: 'List posts',
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  });
  assert.match(d.description, /posts:browse/);
});

test('read takes an id or a slug; edit and destroy an id', () => {
  const g: Grant = { version: 1, scopes: ['*'] };
  const read = toolDefinition(byName('read_post'), g);
  assert.ok(
    'id' in read.inputSchema.properties && 'slug' in read.inputSchema.properties,
    "'id' in read.inputSchema.properties && 'slug' in read.inputSchema.properties",
  );
  assert.equal(read.inputSchema.required, undefined);
  assert.deepEqual(toolDefinition(byName('read_member'), g).inputSchema.required, ['id']);
  assert.deepEqual(toolDefinition(byName('edit_post'), g).inputSchema.required, ['id', 'body']);
  assert.deepEqual(toolDefinition(byName('destroy_post'), g).inputSchema.required, ['id']);
  assert.deepEqual(toolDefinition(byName('add_post'), g).inputSchema.required, ['body']);
});

test('annotations: reads are read-only, edit and destroy destructive, add the one call not idempotent', () => {
  const g: Grant = { version: 1, scopes: ['*'] };
  const hints = (n: string) => {
    const a = toolDefinition(byName(n), g).annotations;
    return [a.readOnlyHint, a.destructiveHint, a.idempotentHint];
  };
  assert.deepEqual(hints('read_post'), [true, false, true]);
  assert.deepEqual(hints('add_post'), [false, false, false]);
  assert.deepEqual(hints('edit_post'), [false, true, true]);
  assert.deepEqual(hints('destroy_post'), [false, true, true]);
});

test('a drafts-only grant shows status draft only, names its denied fields and offers no sending options', () => {
  const g = PRESETS['drafts-writer']!.grant;
  const edit = toolDefinition(byName('edit_post'), g);
  const body = edit.inputSchema.properties.body as { properties: Record<string, { enum?: string[]; not?: object }> };
  assert.deepEqual(body.properties.status, { enum: ['draft'] });
  assert.deepEqual(body.properties.authors?.not, {});
  assert.ok(body.properties.updated_at, 'body.properties.updated_at');
  assert.ok(
    !('newsletter' in edit.inputSchema.properties) && !('email_segment' in edit.inputSchema.properties),
    "!('newsletter' in edit.inputSchema.properties) && !('email_segment' in edit.inputSchema.properties)",
  );
  assert.match(edit.description, /created by this key/);
  assert.match(edit.description, /status only to draft/);
});

test('a grant that may send email is offered newsletter and email_segment on edit_post', () => {
  const edit = toolDefinition(byName('edit_post'), { version: 1, scopes: ['posts:edit'] });
  assert.ok(
    'newsletter' in edit.inputSchema.properties && 'email_segment' in edit.inputSchema.properties,
    "'newsletter' in edit.inputSchema.properties && 'email_segment' in edit.inputSchema.properties",
  );
});

test('an allowlist of fields closes the body schema to them (and id, updated_at)', () => {
  const g: Grant = { version: 1, scopes: ['tags:edit'], fields: { tags: { allow: ['name', 'description'] } } };
  const body = toolDefinition(byName('edit_tag'), g).inputSchema.properties.body as Record<string, unknown>;
  assert.equal(body.additionalProperties, false);
  assert.deepEqual(Object.keys(body.properties as object).sort(), ['description', 'id', 'name', 'updated_at']);
});

test('redacted fields are named on the read tools of their resource', () => {
  const g = PRESETS['members-reader']!.grant;
  assert.match(toolDefinition(byName('browse_members'), g).description, /omit email, name/);
  assert.doesNotMatch(toolDefinition(byName('browse_labels'), g).description, /omit/);
});

test('agent-writer is shown the draft tools only; agent-analyst the read tools of posts, pages and tags, and nothing of members', () => {
  assert.deepEqual(names(PRESETS['agent-writer']!.grant), [
    'add_post',
    'browse_posts',
    'browse_tags',
    'edit_post',
    'read_post',
    'read_tag',
  ]);
  const analyst = names(PRESETS['agent-analyst']!.grant);
  assert.deepEqual(analyst, ['browse_pages', 'browse_posts', 'browse_tags', 'read_page', 'read_post', 'read_tag']);
  for (const n of analyst) assert.equal(toolDefinition(byName(n), PRESETS['agent-analyst']!.grant).annotations.readOnlyHint, true, n);
});
