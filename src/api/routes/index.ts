import type { ApiRoute } from '../router.js';
import { approvalRoutes } from './approvals.js';
import { auditRoutes } from './audit.js';
import { keyRoutes } from './keys.js';
import { siteRoutes } from './site.js';
import { webhookRoutes } from './webhooks.js';

/** Every route of the management API, in one table: the dispatcher and the OpenAPI document read it. */
export const API_ROUTES: readonly ApiRoute[] = [...keyRoutes, ...siteRoutes, ...auditRoutes, ...webhookRoutes, ...approvalRoutes];
