import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '../errors/errors.js';
import type { EscalationFacts, EscalationNeed } from '../grants/escalation-guard.js';
import { rolesFrom } from '../grants/invites.js';
import { activeThemeFrom } from '../grants/themes.js';
import type { RecordFetcher } from './pipeline.js';
import { uploadFileName } from './read-upload.js';

/**
 * Gathers what the narrower forms of escalation scopes need
 * (src/grants/escalation-guard.ts): Ghost's roles and active theme, read
 * with the upstream credential, and an upload's file name, read from the
 * buffered body that is then forwarded byte for byte. Fails closed: an
 * answer Ghost gives that cannot be read refuses the request.
 */
export async function gatherEscalation(
  records: RecordFetcher,
  req: IncomingMessage,
  need: EscalationNeed,
  apiPrefix: string,
  authorization: string,
  limit: number,
  have: EscalationFacts | undefined,
): Promise<{ facts: EscalationFacts; body?: Buffer } | { code: ErrorCode; context: string }> {
  let facts: EscalationFacts = { ...have };
  let body: Buffer | undefined;
  try {
    if (need.roles) {
      const roles = rolesFrom(await records.fetchRecord(`${apiPrefix}roles/`, authorization));
      if (!roles) return { code: 'UPSTREAM_BAD_ANSWER', context: "checking the invite's role: Ghost's roles could not be read" };
      facts = { ...facts, roles };
    }
    if (need.activeTheme) {
      const active = activeThemeFrom(await records.fetchRecord(`${apiPrefix}settings/?group=theme`, authorization));
      if (active === undefined)
        return { code: 'UPSTREAM_BAD_ANSWER', context: 'checking the theme name: the active theme could not be read' };
      facts = { ...facts, activeTheme: active };
    }
  } catch (e) {
    return { code: 'UPSTREAM_BAD_ANSWER', context: `checking the request: ${(e as Error).message}` };
  }
  if (need.upload) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) return { code: 'BODY_TOO_LARGE', context: `over ${limit} bytes` };
      chunks.push(chunk as Buffer);
    }
    body = Buffer.concat(chunks);
    const name = await uploadFileName(body, req.headers, 'file');
    if (!name.ok) return { code: 'BODY_INVALID', context: name.why };
    facts = { ...facts, upload: { originalname: name.originalname } };
  }
  return body ? { facts, body } : { facts };
}
