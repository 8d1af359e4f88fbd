import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { GatewayAnswer } from './dispatch.js';

/**
 * A gateway answer as a tool result: Ghost's JSON on success; on a refusal (the
 * gateway's, in Ghost's error envelope with a stable code from src/errors) or a
 * failure of Ghost's, a tool error (`isError: true`) that keeps the code, the
 * message naming the missing scope or rule, and what would allow it, so that the
 * agent can tell its user what to ask for.
 */
export interface ToolError {
  readonly code: string;
  readonly status: number;
  readonly message: string;
  readonly context: string | null;
  readonly help: string | null;
}

export function toolResult(a: GatewayAnswer): CallToolResult {
  if (a.status >= 200 && a.status < 300) {
    if (a.json === undefined) return { content: [{ type: 'text', text: a.status === 204 ? 'done (no content)' : `done (${a.status})` }] };
    const out: CallToolResult = { content: [{ type: 'text', text: JSON.stringify(a.json) }] };
    if (a.json && typeof a.json === 'object' && !Array.isArray(a.json)) out.structuredContent = a.json as Record<string, unknown>;
    return out;
  }
  return toolError(errorOf(a));
}

export function toolError(e: ToolError): CallToolResult {
  const words = [`${e.code}: ${e.message}`, e.context, e.help ? `To allow it: ${e.help}` : null].filter(Boolean).join(' ');
  return { isError: true, content: [{ type: 'text', text: words }], structuredContent: { error: { ...e } } };
}

function errorOf(a: GatewayAnswer): ToolError {
  const first = (a.json as { errors?: unknown[] } | undefined)?.errors?.[0] as Record<string, unknown> | undefined;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  if (!first) return { code: `HTTP_${a.status}`, status: a.status, message: `the gateway answered ${a.status}`, context: null, help: null };
  // Ghost's own errors (a validation error, a stale updated_at) carry its type and sometimes a code of its own.
  return {
    code: str(first.code) ?? str(first.type) ?? `HTTP_${a.status}`,
    status: a.status,
    message: str(first.message) ?? `the gateway answered ${a.status}`,
    context: str(first.context),
    help: str(first.help),
  };
}
