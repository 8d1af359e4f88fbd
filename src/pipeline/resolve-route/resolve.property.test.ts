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
      assert.ok(catalog.routes.includes(route));
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
    fc.property(fc.constantFrom(...routes), fc.constantFrom('', '/'), fc.constantFrom('plain', 'upper', 'encode-letter', 'encode-dot', 'double-slash', 'dot-segment'), (route, slash, variant) => {
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
      const url = variant === 'double-slash' ? `/ghost/api/admin//${segs.join('/')}${slash}` : `/ghost/api/admin/${spelled.join('/')}${slash}`;
      const r = resolveRoute(matcher, route.method, url, {});
      if (r.ok) assert.equal(r.resolved.route, route, `${variant} of ${route.path} resolved to ${r.resolved.route.path}`);
      if (variant === 'plain') assert.ok(r.ok);
      else if (variant !== 'upper' || first !== first.toUpperCase()) assert.equal(r.ok, false, `${variant} of ${route.path} was accepted`);
    }),
    { numRuns: 5000 },
  );
});
