import { createRequire } from 'node:module';
import { join, dirname, resolve } from 'node:path';
import type { Catalog } from './catalog.js';

/**
 * Reads the `options` and `data` lists of every Admin API controller of an installed Ghost, through
 * Ghost's own endpoints index (ghost/core/core/server/api/endpoints/index.js), with everything the
 * controllers require but each other stubbed, so nothing of Ghost starts. Compared with the catalog's
 * options table (src/catalog/data/ghost-<version>-options.tsv) by the catalog check and its test.
 */
export type ControllerOptions = ReadonlyMap<string, { options: readonly string[] | null; data: readonly string[] | null }>;

export function readGhostControllerOptions(ghostDir: string): ControllerOptions {
  const dir = join(ghostDir, 'core/server/api/endpoints');
  const require = createRequire(join(ghostDir, 'index.js'));
  const Module = require('node:module') as { _load: (req: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown };
  const stub = (): unknown =>
    new Proxy(function () {}, {
      get: (_t, k) => (k === Symbol.toPrimitive ? () => '' : k === 'then' ? undefined : stub()),
      apply: () => stub(),
      construct: () => stub() as object,
    });
  const original = Module._load;
  Module._load = function (req, parent, isMain) {
    const from = parent?.filename;
    if (from && from.startsWith(dir)) {
      if (req === '@tryghost/api-framework') return { pipeline: (c: unknown) => c };
      const target = req.startsWith('.') ? resolve(dirname(from), req) : undefined;
      if (!target || !target.startsWith(dir) || target.includes('/utils')) return stub();
    }
    return original.call(this, req, parent, isMain);
  };
  const out = new Map<string, { options: readonly string[] | null; data: readonly string[] | null }>();
  try {
    const index = require(join(dir, 'index.js')) as Record<string, unknown>;
    for (const name of Object.keys(Object.getOwnPropertyDescriptors(index))) {
      const controller = index[name];
      if (!controller || typeof controller !== 'object') continue;
      for (const [method, def] of Object.entries(controller as Record<string, unknown>)) {
        if (!def || typeof def !== 'object' || Array.isArray(def)) continue;
        const d = def as { options?: unknown; data?: unknown };
        out.set(`${name}.${method}`, {
          options: Array.isArray(d.options) ? (d.options as string[]) : null,
          data: Array.isArray(d.data) ? (d.data as string[]) : null,
        });
      }
    }
  } finally {
    Module._load = original;
  }
  return out;
}

const camel = (s: string) => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** Routes whose options or data in the catalog differ from the installed Ghost's controllers. */
export function compareOptions(catalog: Catalog, ghost: ControllerOptions): string[] {
  const problems: string[] = [];
  const list = (v: readonly string[] | null) => [...(v ?? [])].sort().join(',');
  for (const r of catalog.routes) {
    const g = ghost.get(`${r.resource}.${r.action}`) ?? ghost.get(`${camel(r.resource)}.${r.action}`);
    const mine = r.options;
    if (!g) {
      if (mine.options !== undefined)
        problems.push(`${r.method} ${r.path}: no controller ${r.resource}.${r.action} in Ghost, but the catalog lists its options`);
      continue;
    }
    if (list(g.options) !== [...(mine.options ?? [])].sort().join(','))
      problems.push(`${r.method} ${r.path}: options are ${list(g.options) || '(none)'} in Ghost`);
    if (list(g.data) !== [...mine.data].sort().join(','))
      problems.push(`${r.method} ${r.path}: data is ${list(g.data) || '(none)'} in Ghost`);
  }
  return problems;
}
