import type { ConstrainedResource } from '../../../grants/constraints.js';
import { recordInclude } from '../../../grants/constraints.js';
import {
  checkBodyConstraint,
  checkBulkAddTags,
  checkBulkEdit,
  checkFields,
  checkQueryFields,
  isWriteWithBody,
} from '../../../grants/fields.js';
import { checkMemberWrite } from '../../../grants/members.js';
import {
  asObject,
  bodyItem,
  deny,
  describeRules,
  fromBody,
  ownConstraint,
  ownRule,
  ruleHelp,
  type AuthorizeStep,
  type Json,
} from '../step.js';

/**
 * A bulk edit of posts or pages may create tags with every field sent (addTag), so unless the key may
 * create any tag (tags:add and no tags field rule), its body is read, whatever its other rules.
 */
export const bulkAddTagStep: AuthorizeStep = {
  name: 'bulk-add-tag',
  kind: 'fields',
  decide: ({ grant, g, route, request, need }) => {
    if (
      !route.flags.has('bulk') ||
      route.action !== 'bulkEdit' ||
      !(route.resource === 'posts' || route.resource === 'pages') ||
      (grant.holds('tags:add', 'tags') && g.fields?.tags === undefined)
    )
      return undefined;
    const body = asObject(request.body);
    if (request.body === undefined) need.body = true;
    else if (body && (body.bulk as Json | undefined)?.action === 'addTag') {
      const t = checkBulkAddTags(body, grant.holds('tags:add', 'tags'), g.fields?.tags);
      if (!t.ok) return fromBody(t, route, `The key's grant: ${describeRules('tags', undefined)}.`);
    }
    return undefined;
  },
};

/** Field rules of the route's own resource on the query parameters. */
export const queryFieldsStep: AuthorizeStep = {
  name: 'query-fields',
  kind: 'fields',
  withRules: true,
  decide: (ctx) => {
    const q = checkQueryFields(ownRule(ctx), ctx.request.query);
    return q.ok ? undefined : fromBody(q, ctx.route, ruleHelp(ctx));
  },
};

/** A write body under field rules or a record constraint is read: one record, or the bulk body. */
export const bodyReadStep: AuthorizeStep = {
  name: 'body-read',
  kind: 'fields',
  withRules: true,
  decide: (ctx) => {
    const { route, request, need } = ctx;
    if (!isWriteWithBody(route) || route.action === 'copy' || (ownRule(ctx) === undefined && ownConstraint(ctx) === undefined))
      return undefined;
    if (request.body === undefined) need.body = true;
    else if (route.flags.has('bulk')) ctx.bulkBody = asObject(request.body);
    else {
      ctx.item = bodyItem(request.body, route.resource);
      if (!ctx.item)
        return deny(
          'BODY_INVALID',
          `The body must be {"${route.resource}": [ { ... } ]}.`,
          'the gateway checks this body against the key’s rules',
          ruleHelp(ctx),
        );
    }
    return undefined;
  },
};

/**
 * The body's record against the field rules, the record constraint and the member rules, once the facts
 * they need are in (the record's current state for an edit; relation fields wait for their lookups).
 */
export const bodyChecksStep: AuthorizeStep = {
  name: 'body-checks',
  kind: 'fields',
  withRules: true,
  decide: (ctx) => {
    const { g, route, request, need, item } = ctx;
    if (!item || need.record || need.ownedIds) return undefined;
    const rule = ownRule(ctx);
    const constraint = ownConstraint(ctx);
    const current = request.record ?? undefined;
    const isAdd = route.action === 'add';
    if (!isAdd && route.segments[1] === ':id' && request.record === undefined && (rule || constraint)) {
      need.record = {
        resource: route.resource as ConstrainedResource,
        by: 'id',
        value: request.params.id ?? '',
        include: recordInclude(g, route.resource),
      };
      return undefined;
    }
    const f = checkFields(rule, item, isAdd ? undefined : current, ctx.relations);
    if (!f.ok) return fromBody(f, route, ruleHelp(ctx));
    const b = checkBodyConstraint(constraint, item, isAdd ? undefined : current, isAdd, ctx.relations);
    if (!b.ok) return fromBody(b, route, ruleHelp(ctx));
    // A member constraint's status rule (checkMemberWrite passes any other constraint, or none).
    const m = checkMemberWrite(constraint, item, isAdd ? undefined : current);
    if (!m.ok) return fromBody(m, route, ruleHelp(ctx));
    return undefined;
  },
};

/** A bulk edit's body against the field rules and the record constraint. */
export const bulkBodyStep: AuthorizeStep = {
  name: 'bulk-body',
  kind: 'fields',
  withRules: true,
  decide: (ctx) => {
    if (!ctx.bulkBody) return undefined;
    const b = checkBulkEdit(ownRule(ctx), ownConstraint(ctx), ctx.bulkBody);
    return b.ok ? undefined : fromBody(b, ctx.route, ruleHelp(ctx));
  },
};
