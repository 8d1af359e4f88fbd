import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * The layering, checked on the source (ARCHITECTURE.md): no import cycle, and
 * each layer imports only the layers below it. Imports are read with TypeScript's
 * own parser; `import type` counts for layering (a type is a dependency) but not for
 * cycles (it leaves nothing at run time).
 */
const ROOT = resolve(dirname(new URL(import.meta.url).pathname));
interface Edge {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.includes('.test.') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sources(ROOT)) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
    for (const st of sf.statements) {
      const spec =
        (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)
          ? st.moduleSpecifier.text
          : undefined;
      if (!spec?.startsWith('.')) continue;
      let typeOnly: boolean;
      if (ts.isImportDeclaration(st)) {
        const c = st.importClause;
        typeOnly = Boolean(
          c &&
          (c.phaseModifier === ts.SyntaxKind.TypeKeyword ||
            (!c.name &&
              c.namedBindings &&
              ts.isNamedImports(c.namedBindings) &&
              c.namedBindings.elements.length > 0 &&
              c.namedBindings.elements.every((e) => e.isTypeOnly))),
        );
      } else typeOnly = (st as ts.ExportDeclaration).isTypeOnly;
      out.push({ from: relative(ROOT, file), to: relative(ROOT, resolve(dirname(file), spec.replace(/\.js$/, '.ts'))), typeOnly });
    }
  }
  return out;
}

const all = edges();
const layer = (f: string) => f.split('/')[0]!.replace(/\.ts$/, '');

test('no import cycle at run time', () => {
  const graph = new Map<string, string[]>();
  for (const e of all) if (!e.typeOnly) graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') return void cycles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
    state.set(f, 'open');
    for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  assert.deepEqual(cycles, []);
  assert.ok(graph.size > 50, 'the source was read');
});

test('no import cycle between folders, types included (a lower layer never imports a higher one)', () => {
  const folder = (f: string) => (f.includes('/') ? f.split('/')[0]! : f.replace(/\.ts$/, ''));
  const deps = new Map<string, Set<string>>();
  for (const e of all) {
    const [a, b] = [folder(e.from), folder(e.to)];
    if (a !== b) deps.set(a, (deps.get(a) ?? new Set()).add(b));
  }
  const cycles: string[] = [];
  for (const [a, bs] of deps) for (const b of bs) if (deps.get(b)?.has(a) && a < b) cycles.push(`${a} <-> ${b}`);
  assert.deepEqual(cycles, []);
});

/** What each layer may not import (types included). */
const FORBIDDEN: Readonly<Record<string, readonly string[]>> = {
  // Adapters implement the ports beside them (store/*.ts); they know nothing of what uses them.
  'store/sqlite': ['pipeline', 'webhooks', 'admin', 'cli', 'keys', 'server', 'main', 'lab', 'bench', 'demo', 'probe', 'store/postgres'],
  'store/postgres': ['pipeline', 'webhooks', 'admin', 'cli', 'keys', 'server', 'main', 'lab', 'bench', 'demo', 'probe', 'store/sqlite'],
  // Ports and the decision core stand alone.
  store: ['pipeline', 'webhooks', 'admin', 'cli', 'server', 'main'],
  grants: ['pipeline', 'webhooks', 'admin', 'cli', 'server', 'main', 'store/sqlite', 'store/postgres'],
  catalog: ['pipeline', 'webhooks', 'admin', 'cli', 'server', 'main', 'store'],
  // The request path does not reach into the admin side or its wiring.
  pipeline: ['admin', 'cli', 'main', 'store/sqlite', 'store/postgres'],
  // The pipeline asks the webhook rules (authorize) and relay rows (pipeline.ts); webhooks never reach back.
  webhooks: ['pipeline', 'admin', 'cli', 'main', 'store/sqlite', 'store/postgres'],
  // Rate limits are a port with its adapters (this process, Redis): they know the key's limits and nothing of their callers.
  ratelimit: ['pipeline', 'webhooks', 'admin', 'cli', 'server', 'main', 'store/sqlite', 'store/postgres'],
  // Secrets read the config; the config reads nothing of the gateway's.
  config: ['secrets', 'store', 'pipeline', 'webhooks', 'admin', 'cli', 'main'],
  // Admin services are what the CLI (and the management API) call, never the other way round.
  admin: ['cli', 'api', 'server', 'main'],
  // The management API is a front door over the admin services: no adapter, no CLI, no wiring.
  api: ['cli', 'server', 'main', 'store/sqlite', 'store/postgres'],
  // The MCP endpoint is a front door over the pipeline: it decides nothing itself and reaches no adapter or admin service.
  mcp: ['admin', 'cli', 'server', 'main', 'store/sqlite', 'webhooks', 'keys'],
  // The console is a front door over the admin services, like the CLI: it reaches no adapter and no wiring.
  console: ['cli', 'server', 'main', 'store/sqlite', 'store/postgres', 'mcp'],
  // The `serve --workers` primary opens no store and serves no request: the workers do (main.ts), each a whole gateway.
  workers: ['store', 'pipeline', 'admin', 'secrets', 'ratelimit', 'webhooks', 'api', 'console', 'mcp', 'cli', 'server', 'main'],
};

test('each layer imports only what is below it: adapters never import the pipeline', () => {
  const bad: string[] = [];
  for (const e of all) {
    const from = /^store\/(sqlite|postgres)\//.test(e.from) ? e.from.split('/').slice(0, 2).join('/') : layer(e.from);
    for (const f of FORBIDDEN[from] ?? []) {
      if (e.to === `${f}.ts` || e.to.startsWith(`${f}/`)) bad.push(`${e.from} -> ${e.to}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the CLI reaches the wiring module only to start the gateway (serve)', () => {
  const fromCli = all.filter((e) => e.from.startsWith('cli/') && e.to === 'main.ts').map((e) => e.from);
  assert.deepEqual(fromCli, ['cli/serve.ts']);
});
