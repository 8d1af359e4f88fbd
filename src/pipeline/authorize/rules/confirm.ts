import { confirmItem, confirmNeedsBody, confirmNeedsRecord } from '../../../grants/confirm.js';
import { recordInclude } from '../../../grants/constraints.js';
import { deny, type AuthorizeStep } from '../step.js';

/**
 * `confirm`: a call a person must approve (grants/confirm.ts). The decision only says which item holds
 * the call (`effects.confirm`); the pipeline then asks the store for the call's approval (approval.ts).
 * The body is asked for when a publish item must read it, and whenever an item holds a write: the
 * approval is for the exact bytes forwarded, so a retry with another body needs its own. The record
 * an edit or delete of one post, page or member acts on is read too (confirmNeedsRecord): the approval
 * is bound to its version, and a publish item holds an edit of a live one.
 */
export const confirmStep: AuthorizeStep = {
  name: 'confirm',
  kind: 'confirm',
  withRules: true,
  decide: ({ g, route, request, need, effects }) => {
    if (!g.confirm?.length) return undefined;
    const write = route.method === 'POST' || route.method === 'PUT';
    if (request.body === undefined && confirmNeedsBody(g, route)) {
      need.body = true;
      return undefined;
    }
    const resource = route.resource as 'posts' | 'pages' | 'members';
    if (request.record === undefined && confirmNeedsRecord(g, route)) {
      need.record = { resource, by: 'id', value: request.params.id ?? '', include: recordInclude(g, resource) };
      return undefined;
    }
    const item = confirmItem(g, { route, query: request.query, body: request.body, record: request.record });
    if (item === undefined) return undefined;
    if (route.flags.has('upload'))
      return deny('CONSTRAINT_UNENFORCEABLE', 'An upload cannot be held for approval.', `${item} holds ${route.method} ${route.path}.`);
    if (write && request.body === undefined) need.body = true;
    else effects.confirm = item;
    return undefined;
  },
};
