import type { Command } from 'commander';
import { catalogRoutes } from '../admin/catalog.js';
import { loadCatalog, type Catalog } from '../catalog/catalog.js';
import { checkGhostDir } from '../catalog/check.js';
import { printJson, table } from './output.js';

export function registerCatalog(program: Command): void {
  const catalog = program
    .command('catalog')
    .description('every Ghost Admin API route the gateway knows, with the scope it needs; routes not listed are refused')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const c = loadCatalog();
      if (o.json) {
        printJson(catalogRoutes());
        return;
      }
      process.stdout.write(
        table(
          c.routes.map((r) => [r.method, r.path, r.scope, r.integrationKey, r.staffToken, [...r.flags].join(',')]),
          ['METHOD', 'PATH', 'SCOPE', 'INTEGRATION', 'STAFF', 'FLAGS'],
        ),
      );
      process.stdout.write(`\n${c.routes.length} routes, ${c.scopes.length} scopes (Ghost ${c.ghostVersion}).\n`);
    });

  catalog
    .command('check')
    .description(
      "load an installed Ghost's router and compare the catalog with its routes, their order and controllers; exits 1 on any difference",
    )
    .requiredOption('--ghost-dir <dir>', 'an installed Ghost (the npm package ghost), e.g. the folder `ghostgate lab up --json` reports')
    .option('--json', 'print JSON')
    .action((o: { ghostDir: string; json?: boolean }) => {
      // `--json` after `check` is parsed by the parent `catalog` command, which has the same option.
      o.json = o.json || Boolean(catalog.opts<{ json?: boolean }>().json);
      const c = loadCatalog();
      const r = checkGhostDir(c, o.ghostDir);
      const ok = r.missing.length === 0 && r.stale.length === 0 && r.misordered.length === 0 && r.mismatched.length === 0;
      if (o.json) printJson({ ok, catalog_version: c.ghostVersion, ...r });
      else printCheck(c, r, ok);
      if (!ok) process.exitCode = 1;
    });
}

function printCheck(c: Catalog, r: ReturnType<typeof checkGhostDir>, ok: boolean): void {
  process.stdout.write(
    `Ghost ${r.ghostVersion ?? '?'} registers ${r.registered} admin routes; the catalog (Ghost ${c.ghostVersion}) has ${c.routes.length}.\n`,
  );
  for (const m of r.missing)
    process.stdout.write(`missing from catalog: ${m.method} ${m.path}${m.controller ? ` (${m.controller})` : ''}\n`);
  for (const s of r.stale) process.stdout.write(`stale in catalog:     ${s.method} ${s.path}\n`);
  for (const s of r.misordered)
    process.stdout.write(`out of Ghost's order: ${s.method} ${s.path} (Ghost registers a route matching the same paths before it)\n`);
  for (const s of r.mismatched)
    process.stdout.write(
      `other controller:     ${s.method} ${s.path} is ${s.scope} in the catalog, ${s.controller ?? 'no controller'} in Ghost\n`,
    );
  process.stdout.write(
    ok
      ? 'OK: the catalog matches.\n'
      : 'MISMATCH: routes missing from the catalog are refused by the gateway until added; order and controllers must follow Ghost.\n',
  );
}
