import type { Config } from '../config/config.js';
import { loadCatalog } from '../catalog/catalog.js';
import { RouteMatcher } from '../catalog/matcher.js';
import { INTEGRATION_ROLE, loadPermissions, upstreamReach } from '../catalog/permissions.js';
import { constraintFor, describeConstraint } from '../grants/constraints.js';
import { describeEscalation, escalationOf } from '../grants/escalation.js';
import { compileGrant } from '../grants/grant.js';
import { subdirectorySlugs } from '../grants/relations.js';
import { upstreamBasePath } from '../pipeline/forward/forward.js';
import { authorize, type Decision, type RequestFacts } from '../pipeline/authorize/authorize.js';
import { checkKeyChain, loadAncestors, normaliseIp } from '../pipeline/lifecycle/lifecycle.js';
import { resolveRoute } from '../pipeline/resolve-route/resolve.js';
import type { Store } from '../store/store.js';
import { relayFact } from '../webhooks/lifecycle.js';
import { AdminError } from './errors.js';

/**
 * The decision the gateway would make for a request by a key, through the
 * same resolveRoute, key checks (revocation, validity window, IP when an
 * address is given, max uses, for the key and its ancestors) and authorize the
 * gateway runs, with the rule that decided it and what would allow it; rate
 * limits and quotas, which depend on traffic, are listed as skipped. Facts the
 * store holds (the ledger, a webhook's relay row) are gathered as the gateway
 * gathers them; facts only Ghost holds (a record's state) come from the caller
 * or are named as needed.
 */
export interface ExplainQuery {
  readonly keyId: string;
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly record?: Record<string, unknown>;
  readonly upstreamRole?: string;
  readonly upstreamUser?: string;
  readonly ip?: string;
}

export async function explainRequest(
  ctx: { readonly config: Config; readonly store: Store },
  q: ExplainQuery,
  now: number,
): Promise<Record<string, unknown>> {
  const { config, store } = ctx;
  const key = await store.keys.get(q.keyId);
  if (!key) throw new AdminError('NOT_FOUND', `no key ${q.keyId}`);
  const catalog = loadCatalog();
  const url = q.path.startsWith(`/${config.ghostPath}/api/`) ? q.path : `/${config.ghostPath}/api/admin/${q.path.replace(/^\/+/, '')}`;
  const m = q.method.toUpperCase();
  const r = resolveRoute(new RouteMatcher(catalog), m, url, {}, config.ghostPath);
  const escalation = escalationOf(key.grant);
  const out: Record<string, unknown> = { key: key.id, name: key.name, request: `${m} ${url}` };
  if (escalation.fullAccess) out.access = describeEscalation(escalation);
  if (!r.ok) {
    Object.assign(out, {
      decision: 'deny',
      code: r.code,
      context: r.context,
      rule: 'route catalog: unknown or not served routes are refused',
    });
    return out;
  }
  const { route, target, params } = r.resolved;
  const role = q.upstreamRole ?? (config.upstream.kind === 'integration' ? INTEGRATION_ROLE : undefined);
  const upstream = role ? upstreamReach(route, { kind: config.upstream.kind, role }, loadPermissions()) : { ok: true as const };
  let facts: RequestFacts = { query: target.query, params };
  if (q.body) facts = { ...facts, body: q.body };
  if (q.record) facts = { ...facts, record: q.record };
  const grant = compileGrant(key.grant);
  const identity = { kind: config.upstream.kind, userId: q.upstreamUser };
  // The tag slug a sub-directory Ghost rewrites, as the gateway passes it (main.ts).
  const reservedSlugs = subdirectorySlugs(upstreamBasePath(config.upstream.url));
  let d: Decision = authorize({ grant, route, upstream, request: facts, identity, reservedSlugs });
  // Facts the store holds are gathered as the gateway gathers them: the ledger, the webhook's relay row.
  for (let round = 0; round < 2 && d.allow === 'need' && (d.need.ownedIds || d.need.webhook !== undefined); round++) {
    if (d.need.ownedIds) facts = { ...facts, ownedIds: new Set(await store.ledger.ids(key.id, d.need.ownedIds)) };
    if (d.need.webhook !== undefined) facts = { ...facts, webhook: await relayFact(store, key.id, d.need.webhook) };
    d = authorize({ grant, route, upstream, request: facts, identity, reservedSlugs });
  }
  Object.assign(out, {
    route: `${route.method} ${route.path}`,
    scope: route.scope,
    upstream_role: role ?? 'unknown (staff token: pass --upstream-role)',
  });
  // The request-time checks of the key and its ancestors, as pipeline.ts runs them; what depends on traffic is said to be skipped.
  const ancestors = await loadAncestors(key, (id) => store.keys.get(id));
  const ip = q.ip === undefined ? 'unknown' : normaliseIp(q.ip);
  const lifecycle = ancestors
    ? checkKeyChain([key, ...ancestors], now, ip)
    : ({ ok: false, code: 'KEY_REVOKED', context: 'the key’s parent is gone' } as const);
  const uses = key.maxUses === null ? undefined : await store.keys.uses(key.id, now);
  const usesLeft = uses && key.maxUses !== null ? Math.max(0, key.maxUses - uses.spent - uses.reserved - uses.unknown) : undefined;
  out.checked = [
    `revocation and validity window${ancestors?.length ? `, of the key and its ${ancestors.length} parent key(s)` : ''}`,
    ...(ip === 'unknown' ? [] : [`IP allowlist for ${ip}`]),
    ...(usesLeft === undefined ? [] : [`max uses: ${usesLeft} of ${key.maxUses} left`]),
  ];
  out.skipped = [...(ip === 'unknown' ? ['IP allowlist (give --ip)'] : []), 'rate limits and daily quota (they depend on traffic)'];
  if (facts.webhook !== undefined) {
    out.webhook =
      facts.webhook === null
        ? 'not an active relay of the gateway: edits and deletes are refused (WEBHOOK_NOT_RELAYED)'
        : `relayed, event ${facts.webhook.event}, ${facts.webhook.createdByKey ? 'created by this key (or a key below it)' : 'created by another key: this key may only rename or delete it'}; an edit needs the read scopes of the event after it`;
  }
  if (!lifecycle.ok) Object.assign(out, { decision: 'deny', code: lifecycle.code, rule: lifecycle.context });
  else if (d.allow === true && usesLeft === 0)
    Object.assign(out, { decision: 'deny', code: 'KEY_USES_EXHAUSTED', rule: `all ${key.maxUses} uses of this key are taken` });
  else if (d.allow === true) {
    Object.assign(out, {
      decision: 'allow',
      rule: `the key holds ${route.scope}${grant.hasRules ? ' and the request is inside its constraints and field rules' : ''}`,
    });
    if (d.effects.query !== undefined) out.forwarded_query = decodeURIComponent(d.effects.query.replace(/\+/g, ' '));
    if (d.effects.redact)
      out.redacted = {
        ...Object.fromEntries([...d.effects.redact.fields].map(([t, f]) => [t, [...f]])),
        ...(d.effects.redact.settingSecrets ? { settings: ['(secrets)'] } : {}),
      };
    if (d.effects.check) out.safety_net = describeConstraint(d.effects.check.resource, d.effects.check.constraint);
    // A call the grant's confirm holds is let through only once a person approves it (pipeline/approval.ts).
    if (d.effects.confirm)
      out.approval = `held for a person's approval (confirm ${d.effects.confirm}): answered APPROVAL_PENDING until approved, then once`;
  } else if (d.allow === false) {
    Object.assign(out, { decision: 'deny', code: d.code, message: d.message, context: d.context, help: d.help ?? null });
  } else {
    const needs: string[] = [];
    if (d.need.body) needs.push('the request body (--body FILE)');
    if (d.need.record) {
      const c = constraintFor(key.grant, d.need.record.resource);
      needs.push(
        `the ${d.need.record.resource.replace(/s$/, '')}'s current state (--record FILE); at request time the gateway fetches it${c ? ` and requires it to be ${describeConstraint(d.need.record.resource, c)}` : ' to compare changed fields'}`,
      );
    }
    const e = d.need.escalation;
    if (e?.roles) needs.push("Ghost's roles (GET /roles/), read at request time to resolve the invite's role_id against the key's ceiling");
    if (e?.activeTheme) needs.push('the active theme, read from Ghost at request time: a theme named like it is refused');
    if (e?.upload) needs.push("the uploaded file's name, read from the multipart body at request time as Ghost's multer reads it");
    Object.assign(out, { decision: 'depends', needs });
  }
  return out;
}
