import { confirmItem, confirmNeedsBody } from '../../../grants/confirm.js';
import { deny, type AuthorizeStep } from '../step.js';

/**
 * `confirm`: a call a person must approve (grants/confirm.ts). The decision only says which item holds
 * the call (`effects.confirm`); the pipeline then asks the store for the call's approval (approval.ts).
 * The body is asked for when a publish item must read it, and whenever an item holds a write: the
 * approval is for the exact bytes forwarded, so a retry with another body needs its own.
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
    const item = confirmItem(g, { route, query: request.query, body: request.body });
    if (item === undefined) return undefined;
    if (route.flags.has('upload'))
      return deny('CONSTRAINT_UNENFORCEABLE', 'An upload cannot be held for approval.', `${item} holds ${route.method} ${route.path}.`);
    if (write && request.body === undefined) need.body = true;
    else effects.confirm = item;
    return undefined;
  },
};
