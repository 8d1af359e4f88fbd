import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadCatalog } from '../../catalog/catalog.js';
import { RouteMatcher } from '../../catalog/matcher.js';
import { resolveRoute } from './resolve.js';

const catalog = loadCatalog();
const matcher = new RouteMatcher(catalog);
const LITERALS = new Set(catalog.routes.flatMap((r) => r.segments.filter((s) => !s.startsWith(':'))));
const segment = fc.oneof(
  fc.constantFrom(...LITERALS),
  fc.stringMatching(/^[a-zA-Z0-9._~%;:@!$&'()*+,=-]{1,12}$/),
  fc.constantFrom('..', '.', '%2e', '%2f', '%252e', 'Posts', 'POSTS', '%00', 'posts;x', '5f1a2b3c4d5e6f7a8b9c0d1e'),
);
const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'get');

test('property: a random request resolves only to a catalog route, and forwards exactly its canonical path', () => {
  fc.assert(
    fc.property(method, fc.array(segment, { minLength: 0, maxLength: 6 }), fc.boolean(), (m, segs, slash) => {
      const url = `/ghost/api/admin/${segs.join('/')}${slash ? '/' : ''}`;
      const r = resolveRoute(matcher, m, url, {});
      if (!r.ok) return;
      const { route, target, params } = r.resolved;
      assert.ok(catalog.routes.includes(route), 'catalog.routes.includes(route)');
      assert.equal(route.method, m);
      // Every literal segment is exactly the catalog's; parameters carry only unambiguous characters.
      route.segments.forEach((p, i) => {
        if (p.startsWith(':')) assert.doesNotMatch(params[p.slice(1)]!, /^\.{1,2}$|%2[eEfF]|%5[cC]|%25|%00|;/);
        else assert.equal(target.segments[i], p);
      });
      assert.equal(target.path, `/ghost/api/admin/${target.segments.join('/')}/`);
    }),
    { numRuns: 20_000 },
  );
});

test('property: every spelling of a catalog route gets the same decision (the route) or a refusal, never another route', () => {
  const routes = catalog.routes.filter((r) => !r.flags.has('query_token') && !(r.flags.has('public') && r.path !== '/site'));
  fc.assert(
    fc.property(
      fc.constantFrom(...routes),
      fc.constantFrom('', '/'),
      fc.constantFrom('plain', 'upper', 'encode-letter', 'encode-dot', 'double-slash', 'dot-segment'),
      (route, slash, variant) => {
        const segs = route.segments.map((s) => (s.startsWith(':') ? 'abc123' : s));
        const canonical = resolveRoute(matcher, route.method, `/ghost/api/admin/${segs.join('/')}${slash}`, {});
        assert.ok(canonical.ok && canonical.resolved.route === route, `${route.method} ${route.path}`);
        const first = segs[0]!;
        const spelled = {
          plain: segs,
          upper: [first.toUpperCase(), ...segs.slice(1)],
          'encode-letter': [`%${first.charCodeAt(0).toString(16)}${first.slice(1)}`, ...segs.slice(1)],
          'encode-dot': [first, '%2e', ...segs.slice(1)],
          'double-slash': [first, '', ...segs.slice(1)],
          'dot-segment': ['.', ...segs],
        }[variant];
        const url =
          variant === 'double-slash' ? `/ghost/api/admin//${segs.join('/')}${slash}` : `/ghost/api/admin/${spelled.join('/')}${slash}`;
        const r = resolveRoute(matcher, route.method, url, {});
        if (r.ok) assert.equal(r.resolved.route, route, `${variant} of ${route.path} resolved to ${r.resolved.route.path}`);
        if (variant === 'plain') assert.ok(r.ok, 'r.ok');
        else if (variant !== 'upper' || first !== first.toUpperCase())
          assert.equal(r.ok, false, `${variant} of ${route.path} was accepted`);
      },
    ),
    { numRuns: 5000 },
  );
});

/** Every spelling of a word in other cases (all of them for short words, a sample for long ones). */
const caseVariant = (word: string) =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((up) => [...word].map((ch, i) => (up[i] ? ch.toUpperCase() : ch)).join(''))
    .filter((w) => w !== word);

test('property: a fixed segment in any other case is refused (Ghost would run that route, or one beside it)', () => {
  const routes = catalog.routes.filter((r) => r.segments.some((s) => !s.startsWith(':') && s !== s.toUpperCase()));
  fc.assert(
    fc.property(
      fc.constantFrom(...routes).chain((route) => {
        const fixed = route.segments.flatMap((s, i) => (!s.startsWith(':') && s !== s.toUpperCase() ? [i] : []));
        return fc.tuple(
          fc.constant(route),
          fc.constantFrom(...fixed).chain((i) => fc.tuple(fc.constant(i), caseVariant(route.segments[i]!))),
        );
      }),
      fc.constantFrom('', '/'),
      ([route, [i, variant]], slash) => {
        const segs = route.segments.map((s, j) => (j === i ? variant : s.startsWith(':') ? '5f1a2b3c4d5e6f7a8b9c0d1e' : s));
        const r = resolveRoute(matcher, route.method, `/ghost/api/admin/${segs.join('/')}${slash}`, {});
        assert.equal(r.ok, false, `${route.method} /${segs.join('/')} was accepted`);
        assert.ok(['PATH_CASE', 'PARAM_RESERVED', 'ROUTE_UNKNOWN'].includes(r.ok ? '' : r.code), r.ok ? '' : r.code);
      },
    ),
    { numRuns: 5000 },
  );
});

test('property: a parameter equal to a fixed segment of a route beside it, in any case, is refused', () => {
  const cases = catalog.routes.flatMap((route) =>
    route.segments.flatMap((seg, i) => {
      if (!seg.startsWith(':')) return [];
      const siblings = catalog.routes.filter(
        (o) =>
          o.segments[i] !== undefined &&
          !o.segments[i].startsWith(':') &&
          o.segments.slice(0, i).every((s, j) => (s.startsWith(':') ? route.segments[j]!.startsWith(':') : s === route.segments[j])),
      );
      return siblings.map((o) => ({ route, i, word: o.segments[i]! }));
    }),
  );
  assert.ok(cases.length > 40, `${cases.length} parameter/segment pairs`);
  fc.assert(
    fc.property(
      fc.constantFrom(...cases).chain((c) => fc.tuple(fc.constant(c), fc.oneof(fc.constant(c.word), caseVariant(c.word)))),
      ([{ route, i }, word]) => {
        const segs = route.segments.map((s, j) => (j === i ? word : s.startsWith(':') ? 'abc123' : s));
        const r = resolveRoute(matcher, route.method, `/ghost/api/admin/${segs.join('/')}/`, {});
        // Either the sibling route itself (the exact spelling of a route registered first), or a refusal.
        if (r.ok)
          assert.notEqual(
            r.resolved.route,
            route,
            `${route.method} /${segs.join('/')} resolved with :${route.segments[i]!.slice(1)}=${word}`,
          );
        else assert.ok(['PATH_CASE', 'PARAM_RESERVED', 'ROUTE_NOT_SERVED'].includes(r.code), r.code);
      },
    ),
    { numRuns: 5000 },
  );
});

test('the proven cases: case variants of fixed segments are refused, never resolved as a read by id', () => {
  for (const [method, path, code] of [
    ['GET', 'members/UPLOAD', 'PATH_CASE'],
    ['GET', 'posts/EXPORT', 'PATH_CASE'],
    ['PUT', 'posts/BULK', 'PATH_CASE'],
    ['GET', 'posts/BULK', 'PARAM_RESERVED'],
    ['PUT', 'members/Bulk', 'PATH_CASE'],
    ['GET', 'members/Bulk', 'PARAM_RESERVED'],
    ['PUT', 'pages/BULK', 'PATH_CASE'],
    ['GET', 'members/EVENTS', 'PATH_CASE'],
    ['GET', 'members/bulk', 'PARAM_RESERVED'],
    ['GET', 'Posts', 'PATH_CASE'],
  ] as const) {
    const r = resolveRoute(matcher, method, `/ghost/api/admin/${path}/`, {});
    assert.equal(r.ok ? `ok ${r.resolved.route.scope}` : r.code, code, `${method} ${path}`);
  }
});
