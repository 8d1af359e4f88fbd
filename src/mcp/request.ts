import type { ToolSpec } from './tools.js';

/**
 * A tool call as the HTTP request it stands for: the method and path of the
 * tool's route, its options as the query, its body in Ghost's envelope
 * (`{"posts":[body]}`). Only the shape is checked here (what the tool takes, of
 * the types it takes); whether the key may send it is decided by the pipeline,
 * which reads this request exactly as it reads one from the network: a path
 * parameter is percent-encoded into the path, so an `id` of `../integrations`
 * reaches the canonicaliser as `..%2Fintegrations` and is refused there.
 */
export interface ToolHttpRequest {
  readonly method: string;
  /** Below the Admin API prefix, with Ghost's trailing slash: `/posts/5f.../?include=tags`. */
  readonly pathAndQuery: string;
  /** The JSON body, when the route takes one. */
  readonly body?: unknown;
}

export type ToolInput = { ok: true; request: ToolHttpRequest } | { ok: false; why: string };

const bad = (why: string): ToolInput => ({ ok: false, why });

export function toolRequest(tool: ToolSpec, args: Record<string, unknown> | undefined): ToolInput {
  const input = args ?? {};
  const known = new Set<string>(tool.options);
  if (tool.action !== 'browse' && tool.action !== 'add') known.add('id');
  if (tool.bySlug) known.add('slug');
  if (tool.action === 'add' || tool.action === 'edit') known.add('body');
  for (const k of Object.keys(input)) if (!known.has(k)) return bad(`${tool.name} takes no argument "${k.slice(0, 40)}"`);

  const query = new URLSearchParams();
  for (const o of tool.options) {
    const v = input[o];
    if (v === undefined) continue;
    if (typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v))) query.set(o, String(v));
    else return bad(`${o} must be a string${o === 'limit' || o === 'page' ? ' or an integer' : ''}`);
  }

  let path = `/${tool.resource}/`;
  if (tool.action === 'read' || tool.action === 'edit' || tool.action === 'destroy') {
    const { id, slug } = input;
    if (id !== undefined && slug !== undefined) return bad('give id or slug, not both');
    // CASE: "." and ".." are dot segments to every URL parser (WHATWG URL, as clients and light-my-request read it): the
    // path would name another route than the tool's. No Ghost id or slug is one.
    if (id === '.' || id === '..' || slug === '.' || slug === '..' || id === '' || slug === '') return bad('not an id or a slug');
    if (typeof id === 'string') path += `${encodeURIComponent(id)}/`;
    else if (typeof slug === 'string' && tool.bySlug) path += `slug/${encodeURIComponent(slug)}/`;
    else return bad(tool.bySlug ? 'give the id or the slug, as a string' : 'give the id, as a string');
  }
  const qs = query.toString();
  const request: { method: string; pathAndQuery: string; body?: unknown } = {
    method: tool.route.method,
    pathAndQuery: qs === '' ? path : `${path}?${qs}`,
  };
  if (tool.action === 'add' || tool.action === 'edit') {
    const body = input.body;
    if (!body || typeof body !== 'object' || Array.isArray(body))
      return bad(`body must be an object: the ${tool.resource} record's fields`);
    request.body = { [tool.resource]: [body] };
  }
  return { ok: true, request };
}
