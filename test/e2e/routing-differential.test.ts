import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadCatalog } from '../../src/catalog/catalog.js';
import { compareRoutes, controllerScope } from '../../src/catalog/check.js';
import { loadGhostAdminRouter, type GhostAdminRouter } from '../../src/catalog/ghost-router.js';
import { RouteMatcher } from '../../src/catalog/matcher.js';
import { ensureInstalled } from '../../src/lab/install.js';
import { labPaths } from '../../src/lab/paths.js';
import { resolveRoute } from '../../src/pipeline/resolve-route/resolve.js';

/**
 * Differential test of routing: the gateway's reading of a path against
 * Ghost's own router, loaded from the lab's installed Ghost 6.65
 * (ghost/core/core/server/web/api/endpoints/admin/routes.js with Ghost's
 * Express 4.22.2, its mounts and version rewrite; stub controllers report which
 * one ran). For every generated request the gateway either refuses it, or
 * resolves it to the controller Ghost runs, with the same parameters, both for
 * the client's spelling and for the canonical path the gateway forwards.
 * Needs the lab's install, not a running Ghost.
 */
const catalog = loadCatalog();
const matcher = new RouteMatcher(catalog);
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD'];
const ID = '5f1a2b3c4d5e6f7a8b9c0d1e';

const variants = (word: string): string[] => {
  const cap = word.charAt(0).toUpperCase() + word.slice(1);
  const alt = [...word].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
  return [...new Set([word, word.toUpperCase(), cap, alt])];
};
const LITERALS = [...new Set(catalog.routes.flatMap((r) => r.segments.filter((s) => !s.startsWith(':'))))];
const HOSTILE = [
  'abc123',
  ID,
  'a.b',
  'a%20b',
  '%C3%A9',
  '%2e',
  '%2E%2E',
  '%2f',
  '%5C',
  '%252e',
  '%zz',
  '%',
  'x;y',
  '*',
  '(x)',
  ':id',
  '~',
  "a'b",
  'a+b',
  'a@b',
  'a=b',
  'a!b',
];
const PREFIXES = [
  '/ghost/api/admin',
  '/ghost/api/v4/admin',
  '/ghost/api/canary/admin',
  '/ghost/api/v3/admin',
  '/GHOST/api/admin',
  '/ghost/API/admin',
  '/ghost/api/ADMIN',
  '/ghost/api/V4/admin',
  '/ghost/api/v5/admin',
  '/ghost/api/content',
];

interface Outcome {
  refused: Map<string, number>;
  agreed: number;
  disagreements: string[];
}

async function compare(ghost: GhostAdminRouter, method: string, url: string, out: Outcome): Promise<void> {
  const gw = resolveRoute(matcher, method, url, {});
  if (!gw.ok) {
    out.refused.set(gw.code, (out.refused.get(gw.code) ?? 0) + 1);
    return;
  }
  const { route, params, target } = gw.resolved;
  const decoded = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, decodeURIComponent(v)]));
  // What the client sent, and what the gateway forwards: Ghost must run the gateway's route for both.
  for (const sent of [url, target.path]) {
    const g = await ghost.dispatch(method, sent);
    const ghostReads = g.ran ? `${controllerScope(g.controller)} ${JSON.stringify(g.params)}` : `no controller (${g.status})`;
    const gatewayReads = `${route.scope} ${JSON.stringify(decoded)}`;
    if (ghostReads !== gatewayReads) out.disagreements.push(`${method} ${sent}: gateway ${gatewayReads}, Ghost ${ghostReads}`);
    else out.agreed++;
  }
}

describe("routing: the gateway's reading of a path equals Ghost's own router", () => {
  let ghost: GhostAdminRouter;
  before(async () => {
    const paths = labPaths();
    await ensureInstalled(paths, (line) => process.stderr.write(`${line}\n`));
    ghost = loadGhostAdminRouter(paths.ghostDir);
  });

  test("the catalog lists Ghost's routes in Ghost's order, each with the controller Ghost runs", () => {
    assert.equal(ghost.ghostVersion, '6.65.0');
    const r = compareRoutes(catalog, ghost.routes);
    assert.deepEqual(
      { missing: r.missing, stale: r.stale, misordered: r.misordered, mismatched: r.mismatched },
      { missing: [], stale: [], misordered: [], mismatched: [] },
    );
  });

  test('the proven bypasses: Ghost runs the export or bulk route, the gateway refuses', async () => {
    for (const [method, path, controller] of [
      ['GET', 'members/UPLOAD', 'members.exportCSV'],
      ['GET', 'posts/EXPORT', 'posts.exportCSV'],
      ['PUT', 'posts/BULK', 'posts.bulkEdit'],
      ['PUT', 'members/Bulk', 'members.bulkEdit'],
      ['PUT', 'pages/BULK', 'pages.bulkEdit'],
      ['GET', 'members/EVENTS', 'members.activityFeed'],
    ] as const) {
      const url = `/ghost/api/admin/${path}/`;
      const g = await ghost.dispatch(method, url);
      assert.equal(g.ran && g.controller, controller, `Ghost runs ${controller} for ${method} ${url}`);
      const gw = resolveRoute(matcher, method, url, {});
      assert.equal(gw.ok ? gw.resolved.route.scope : gw.code, 'PATH_CASE', `${method} ${url}`);
    }
  });

  test('every catalog route with case, slash, encoding and hostile parameter variants: refused or the same controller', async () => {
    const out: Outcome = { refused: new Map(), agreed: 0, disagreements: [] };
    for (const route of catalog.routes) {
      // As each parameter: hostile values, and every fixed segment at that position of any route under the same first segment, in four spellings.
      const near = catalog.routes.filter((o) => o.segments[0] === route.segments[0]);
      const siblings = (i: number) => [
        ...new Set(near.map((o) => o.segments[i]).filter((w): w is string => w !== undefined && !w.startsWith(':'))),
      ];
      const choices = route.segments.map((s, i) => (s.startsWith(':') ? [...HOSTILE, ...siblings(i).flatMap(variants)] : variants(s)));
      // Vary one position at a time (the others plain), so every variant of every position is tried.
      const plain = route.segments.map((s) => (s.startsWith(':') ? 'abc123' : s));
      const urls = new Set<string>();
      choices.forEach((options, i) => {
        for (const o of options) {
          const segs = plain.map((s, j) => (j === i ? o : s));
          for (const slash of ['', '/']) urls.add(`/ghost/api/admin/${segs.join('/')}${slash}`);
        }
      });
      urls.add(`/ghost/api/admin/${plain.join('/')}//`);
      for (const prefix of PREFIXES) urls.add(`${prefix}/${plain.join('/')}/`);
      for (const url of urls) for (const method of METHODS) await compare(ghost, method, url, out);
    }
    assert.deepEqual(out.disagreements.slice(0, 20), []);
    // The test is not vacuous: most plain spellings are accepted, and the refusals are the expected kinds.
    assert.ok(out.agreed > 3000, `${out.agreed} agreements`);
    for (const code of ['PATH_CASE', 'PARAM_RESERVED', 'PATH_AMBIGUOUS', 'ROUTE_UNKNOWN'])
      assert.ok((out.refused.get(code) ?? 0) > 0, code);
  });

  test('property: random paths over the catalog words in any case: refused or the same controller', async () => {
    const out: Outcome = { refused: new Map(), agreed: 0, disagreements: [] };
    const word = fc.oneof(
      fc.constantFrom(...LITERALS).chain((w) => fc.constantFrom(...variants(w))),
      fc.constantFrom(...HOSTILE),
      fc.stringMatching(/^[a-zA-Z0-9._~%-]{1,10}$/),
    );
    // A catalog route's shape, each position its word in any case, a parameter or a random word.
    const path = fc
      .constantFrom(...catalog.routes)
      .chain((r) =>
        fc.tuple(
          fc.constantFrom(r.method, ...METHODS),
          fc.tuple(
            ...r.segments.map((s) =>
              s.startsWith(':')
                ? word
                : fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...variants(s)) }, { weight: 1, arbitrary: word }),
            ),
          ),
          fc.constantFrom('', '/'),
        ),
      );
    const samples = fc.sample(
      fc.oneof(path, fc.tuple(fc.constantFrom(...METHODS), fc.array(word, { minLength: 1, maxLength: 6 }), fc.constantFrom('', '/'))),
      { numRuns: 10_000, seed: 6650 },
    );
    for (const [method, segs, slash] of samples) await compare(ghost, method, `/ghost/api/admin/${segs.join('/')}${slash}`, out);
    assert.deepEqual(out.disagreements.slice(0, 20), []);
    assert.ok(out.agreed > 500, `${out.agreed} agreements`);
  });
});
