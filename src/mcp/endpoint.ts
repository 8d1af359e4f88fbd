import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { Catalog } from '../catalog/catalog.js';
import { ERRORS, type ErrorCode } from '../errors/errors.js';
import { compileGrant } from '../grants/grant.js';
import { authenticateKey, takeTraffic, type PipelineDeps } from '../pipeline/pipeline.js';
import { readJsonBody } from '../pipeline/read-body/read-body.js';
import type { KeyRecord } from '../store/store.js';
import { toolError, toolResult } from './answer.js';
import { MCP_AUDIENCE, mcpCredential } from './credential.js';
import type { GatewayAnswer, InnerRequest } from './dispatch.js';
import { toolRequest } from './request.js';
import { GRANT_URI, LIST_RESOURCES, RESOURCES, SITE_URI, grantText, siteSummary } from './resources.js';
import { catalogTools, toolDefinition, toolsFor, type ToolSpec } from './tools.js';

/**
 * The MCP endpoint, `POST /ghostgate/mcp` (Streamable HTTP, the official SDK),
 * stateless: every HTTP request is authenticated with the caller's key and
 * answered by a server made for it, and nothing is kept between requests. A
 * key's revocation, expiry or IP rule therefore takes effect on the agent's
 * very next message, no session can outlive its key, and any gateway process
 * on the store can answer any message. (The protocol's sessions would buy
 * server-sent notifications, which the endpoint does not send.)
 *
 * The endpoint decides nothing itself: `tools/list` shows what the key's scopes
 * reach, and every tool call is run as the HTTP request it stands for through
 * the gateway's own handler (`dispatch`, server.ts), which resolves,
 * authenticates, authorizes, forwards, redacts and audits it.
 */
export const MCP_PATH = '/ghostgate/mcp';

/** The protocol's client-to-server methods (modelcontextprotocol.io, schema 2025-06-18). */
const MCP_METHODS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
]);

export interface McpCall {
  /**
   * Runs an Admin API request through the gateway's handler, audited under `label` (the tool or resource);
   * `keyed`: its pipeline authenticated the key (and so counted it, or refused it for the key's state).
   */
  readonly dispatch: (r: InnerRequest, label: string) => Promise<GatewayAnswer & { readonly keyed: boolean }>;
  /** Answers a refusal of the MCP request itself in Ghost's error envelope. */
  readonly refuse: (code: ErrorCode, context: string, headers?: Record<string, string>) => void;
  readonly ip: string | undefined;
  readonly now: number;
}

/** What the audit records of the MCP request (each tool call's own request has its own record). */
export interface McpOutcome {
  /** The JSON-RPC method, when the message was read. */
  method: string | null;
  tool: string | null;
  /** A refusal of the MCP request, or a tool error the endpoint gave before anything was sent. */
  code: ErrorCode | null;
  key: KeyRecord | undefined;
  /** Whether a request with the key's credential reached the key in the pipeline (which counted it). */
  sent: boolean;
}

export class McpEndpoint {
  private readonly tools: ToolSpec[];
  private readonly byName: Map<string, ToolSpec>;

  constructor(
    private readonly deps: PipelineDeps,
    catalog: Catalog,
    private readonly version: string,
  ) {
    this.tools = catalogTools(catalog);
    this.byName = new Map(this.tools.map((t) => [t.name, t]));
  }

  isPath(url: string | undefined): boolean {
    return (url ?? '').split('?')[0] === MCP_PATH;
  }

  async handle(req: IncomingMessage, res: ServerResponse, call: McpCall): Promise<McpOutcome> {
    const out: McpOutcome = { method: null, tool: null, code: null, key: undefined, sent: false };
    const refuse = (code: ErrorCode, context: string, headers?: Record<string, string>) => {
      out.code = code;
      call.refuse(code, context, headers);
      return out;
    };
    if (req.method !== 'POST') return refuse('MCP_METHOD_NOT_ALLOWED', `${req.method ?? ''} is not served`, { allow: 'POST' });
    const cred = mcpCredential(req.headers.authorization, call.now);
    if (!cred.ok) return refuse(cred.code, cred.context);
    const body = await readJsonBody(req, this.deps.maxInspectedBody);
    if ('code' in body) return refuse(body.code, body.context);
    const message = body.json as { method?: unknown; params?: { name?: unknown; uri?: unknown } } | null;
    // Named in the audit and as a metrics label: one of the protocol's methods, never a caller's free text.
    const method = message?.method;
    out.method = typeof method === 'string' ? (MCP_METHODS.has(method) ? method : 'other') : Array.isArray(message) ? 'batch' : null;
    const auth = await authenticateKey(this.deps, cred.authorization, MCP_AUDIENCE, call.now, call.ip, false);
    if (!auth.ok) return this.refuseAuth(auth.refusal, out, refuse);
    const key = auth.key;
    out.key = key;
    // Every message counts once against the key's rate and quota: one that will send an Admin API request
    // with the key's credential is counted by that request (the pipeline's); any other one here, first.
    const sends = this.sendsRequest(key, message);
    if (!sends) {
      const over = await takeTraffic(this.deps, key, auth.ancestors, call.now);
      if (over && !over.ok) return this.refuseAuth(over.refusal, out, refuse);
    }

    const server = this.server(key, cred.authorization, call, out);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, body.json);
    } finally {
      await transport.close();
      await server.close();
    }
    // CASE: foreseen to send but it did not reach the key (the SDK's own checks refused the message, or the
    // pipeline refused the request before authenticating: an id that is no path segment): counted now.
    if (sends && !out.sent) await takeTraffic(this.deps, key, auth.ancestors, call.now);
    return out;
  }

  private refuseAuth(
    r: { code: ErrorCode; context: string; key?: KeyRecord; retryAfterS?: number },
    out: McpOutcome,
    refuse: (code: ErrorCode, context: string, headers?: Record<string, string>) => McpOutcome,
  ): McpOutcome {
    out.key = r.key;
    return refuse(r.code, r.context, r.retryAfterS === undefined ? undefined : { 'retry-after': String(r.retryAfterS) });
  }

  /**
   * Whether this message will send an Admin API request with the key's credential: a call of a known tool
   * with arguments of its form, or a read of a list resource the key's grant holds. The site resource reads
   * a public route without the key's credential, so it is counted as a message of its own.
   */
  private sendsRequest(key: KeyRecord, message: unknown): boolean {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return false;
    const { method, params } = message as { method?: unknown; params?: unknown };
    if (typeof params !== 'object' || params === null) return false;
    const p = params as { name?: unknown; arguments?: unknown; uri?: unknown };
    if (method === 'tools/call') {
      const tool = typeof p.name === 'string' ? this.byName.get(p.name) : undefined;
      const args = p.arguments;
      if (!tool || (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args)))) return false;
      return toolRequest(tool, args as Record<string, unknown> | undefined).ok;
    }
    if (method !== 'resources/read') return false;
    const grant = compileGrant(key.grant);
    return LIST_RESOURCES.some((l) => l.uri === p.uri && grant.holds(l.scope, l.resource));
  }

  /** The tools this key's scopes reach (and Ghost lets the upstream credential call). */
  visibleTools(key: KeyRecord): ToolSpec[] {
    return toolsFor(key.grant, this.tools, (route) => this.deps.upstream.reach(route).ok);
  }

  // eslint-disable-next-line @typescript-eslint/no-deprecated -- see below
  private server(key: KeyRecord, authorization: string, call: McpCall, out: McpOutcome): Server {
    const grant = compileGrant(key.grant);
    // The SDK's low-level Server, as its docs advise for advanced uses: the tools differ per key and their input
    // schemas are JSON Schema derived from the catalog, which McpServer (zod schemas, registered once) does not take.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    const server = new Server(
      { name: 'ghostgate', version: this.version },
      {
        capabilities: { tools: {}, resources: {} },
        instructions:
          'A Ghost site behind ghostgate: every tool call is checked against this key’s grant (read ghostgate://key/grant). A refused call names the rule that refused it; ask the key’s owner for that rather than trying around it.',
      },
    );
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: this.visibleTools(key).map((t) => toolDefinition(t, key.grant)),
    }));
    server.setRequestHandler(CallToolRequestSchema, async (r): Promise<CallToolResult> => {
      const name = r.params.name;
      out.tool = name.slice(0, 60);
      const refused = (code: 'MCP_TOOL_UNKNOWN' | 'MCP_TOOL_INPUT', context: string) => {
        out.code = code;
        return toolError({ code, status: ERRORS[code].status, message: ERRORS[code].message, context, help: null });
      };
      const tool = this.byName.get(name);
      if (!tool) return refused('MCP_TOOL_UNKNOWN', `no tool "${out.tool}"`);
      const input = toolRequest(tool, r.params.arguments);
      if (!input.ok) return refused('MCP_TOOL_INPUT', input.why);
      const answer = await call.dispatch({ ...input.request, authorization }, tool.name);
      out.sent = answer.keyed;
      return toolResult(answer);
    });
    const lists = LIST_RESOURCES.filter((l) => grant.holds(l.scope, l.resource));
    server.setRequestHandler(ListResourcesRequestSchema, () => ({
      resources: [
        ...RESOURCES,
        ...lists.map(({ uri, name, title, description, mimeType }) => ({ uri, name, title, description, mimeType })),
      ],
    }));
    server.setRequestHandler(ReadResourceRequestSchema, async (r) => {
      const uri = r.params.uri;
      if (uri === GRANT_URI) {
        const text = grantText(
          key,
          this.visibleTools(key).map((t) => t.name),
        );
        return { contents: [{ uri, mimeType: 'text/markdown', text }] };
      }
      if (uri === SITE_URI) {
        // GET /site/ is public in Ghost and in the gateway: the request carries no credential.
        const a = await call.dispatch({ method: 'GET', pathAndQuery: '/site/', authorization: undefined }, 'resource:site');
        const summary = siteSummary(a);
        if (!summary) throw new Error(`the site summary could not be read (the gateway answered ${a.status})`);
        return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(summary) }] };
      }
      const list = lists.find((l) => l.uri === uri);
      if (list) {
        const a = await call.dispatch({ method: 'GET', pathAndQuery: list.pathAndQuery, authorization }, `resource:${list.name}`);
        out.sent = a.keyed;
        const result = toolResult(a);
        // A refusal (the grant's, or Ghost's) is the read's error, with its code first.
        if (result.isError) throw new Error((result.content[0] as { text: string }).text);
        return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(a.json) }] };
      }
      throw new Error(`no resource ${uri.slice(0, 80)}`);
    });
    return server;
  }
}
