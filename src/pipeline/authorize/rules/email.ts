import { checkEmailRules } from '../../../grants/email.js';
import { fromBody, type AuthorizeStep } from '../step.js';

/** "Never send email": every way Ghost sends as a side effect of this route (grants/email.ts). */
export const emailStep: AuthorizeStep = {
  name: 'email',
  kind: 'sendEmail',
  withRules: true,
  decide: ({ g, route, request, need }) => {
    const email = checkEmailRules(g, route, request);
    if (!email) return undefined;
    if ('need' in email) {
      Object.assign(need, email.need);
      return undefined;
    }
    return fromBody(email, route, 'The key may not make Ghost send email.');
  },
};
