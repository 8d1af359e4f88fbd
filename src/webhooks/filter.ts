import type { WebhookEvent } from './events.js';
import { eventResource } from './events.js';
import type { GrantLens } from './grant-lens.js';

/**
 * What a delivery may carry to the key that created the webhook. Ghost sends
 * `{"event", "<resource>": {"current": {...}, "previous": {...}}}` where
 * `previous` holds only the fields that changed, with their old values
 * (services/webhooks/serialize.js), and `current` is `{}` once the record is
 * gone (deleted). So the record's two states are:
 *   now    = current                      (none when current is {})
 *   before = current overlaid by previous (none when both are {})
 * and each is inside or outside the key's constraint (a field a state lacks
 * counts against it: fail closed). Then:
 *
 *   before  now     delivered
 *   in      in      current and previous, redacted
 *   out     in      current, redacted; previous {}          (entered: no old content)
 *   in      out     current {"id"} only; previous, redacted  (left: no new content)
 *   out     out     nothing
 *
 * A record the key cannot read in a state is never shown in that state: a
 * post leaving the partner tag arrives as its id and the old values of what
 * changed (the key could read those), never its new tags, title or body.
 * Events without a record (`site.changed`) are delivered as they are.
 */
type Json = Record<string, unknown>;

export type FilterOutcome = { deliver: true; payload: Json; view: 'full' | 'entered' | 'left' } | { deliver: false; why: string };

const isObject = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);
const empty = (o: Json) => Object.keys(o).length === 0;

export function filterDelivery(event: WebhookEvent, payload: Json, lens: GrantLens, owned: ReadonlySet<string>): FilterOutcome {
  const resource = eventResource(event);
  if (resource === null) return { deliver: true, payload: { event: payload.event }, view: 'full' };
  const key = resource.replace(/s$/, '');
  const body = payload[key];
  if (!isObject(body) || !isObject(body.current) || !isObject(body.previous))
    return { deliver: false, why: `the delivery has no ${key} record` };
  const current = structuredClone(body.current);
  const previous = structuredClone(body.previous);
  const now = empty(current) ? undefined : current;
  const before = empty(current) && empty(previous) ? undefined : { ...current, ...previous };
  const inNow = now !== undefined && lens.inside(resource, now, owned);
  const inBefore = before !== undefined && lens.inside(resource, before, owned);
  if (!inNow && !inBefore) return { deliver: false, why: `the ${key} is outside the key's grant` };
  let view: 'full' | 'entered' | 'left' = 'full';
  let outCurrent = current;
  let outPrevious = previous;
  if (inNow && !inBefore && before !== undefined && !empty(previous)) {
    view = 'entered';
    outPrevious = {};
  } else if (!inNow && now !== undefined) {
    view = 'left';
    outCurrent = typeof current.id === 'string' ? { id: current.id } : {};
  }
  lens.redact(resource, outCurrent);
  lens.redact(resource, outPrevious);
  // Ghost's key order: event first, then the record (webhook-trigger.js builds {event, ...payload}).
  return { deliver: true, payload: { event: payload.event, [key]: { current: outCurrent, previous: outPrevious } }, view };
}
