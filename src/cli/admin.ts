import type { Command } from 'commander';
import { createAdminToken, listAdminTokens, revokeAdminToken } from '../admin/admin-tokens.js';
import type { AdminTokenRecord } from '../store/store.js';
import { registerAdminAccounts } from './admin-accounts.js';
import { withStore, type GlobalOpts } from './common.js';
import { fmtTime, printJson, table } from './output.js';
import { parseWhen } from './time.js';

/** `ghostgate admin token create|list|revoke`: the tokens of the management API (docs/api.md). */
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
const tokenJson = (t: AdminTokenRecord) => ({
  id: t.id,
  name: t.name,
  scope: t.scope,
  created_at: iso(t.createdAt),
  expires_at: iso(t.expiresAt),
  revoked_at: iso(t.revokedAt),
  last_used_at: iso(t.lastUsedAt),
});

export function registerAdmin(program: Command, globals: () => GlobalOpts): void {
  const admin = program
    .command('admin')
    .description(
      'who may manage the gateway: people who sign in to the web console (add, list, remove) and management API tokens (token …)',
    );
  registerAdminAccounts(admin, globals);
  const token = admin
    .command('token')
    .description('admin API tokens: Authorization: Bearer ggadm_…; admin:read may only read, admin:write may change everything');

  token
    .command('create')
    .description('create an admin API token and print it once (only its hash is stored)')
    .requiredOption('--name <name>', 'who or what the token is for')
    .requiredOption('--scope <scope>', 'admin:read (GET only) or admin:write')
    .option('--expires <when>', 'expiry: a duration from now (30d, 24h) or an ISO 8601 time')
    .option('--json', 'print JSON')
    .action(async (o: { name: string; scope: string; expires?: string; json?: boolean }) => {
      const opts = { ...globals(), ...o };
      const now = Date.now();
      const expiresAt = o.expires ? parseWhen(o.expires, now) : null;
      await withStore(opts, async (store) => {
        const { record, token: secret } = await createAdminToken({ store }, { name: o.name, scope: o.scope, expiresAt }, now);
        if (opts.json) printJson({ ...tokenJson(record), token: secret });
        else
          process.stdout.write(
            `Created admin token ${record.id} (${record.name}, ${record.scope}${record.expiresAt ? `, expiring ${fmtTime(record.expiresAt)}` : ''})\n\n  ${secret}\n\nThis is the only time it is shown. Send it as "Authorization: Bearer <token>" to /ghostgate/v1/.\n`,
          );
      });
    });

  token
    .command('list')
    .description('list admin API tokens (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const opts = { ...globals(), ...o };
      await withStore(opts, async (store) => {
        const tokens = await listAdminTokens({ store });
        if (opts.json) {
          printJson(tokens.map(tokenJson));
          return;
        }
        process.stdout.write(
          table(
            tokens.map((t) => [
              t.id,
              t.name,
              t.scope,
              t.revokedAt !== null ? 'revoked' : t.expiresAt !== null && t.expiresAt <= Date.now() ? 'expired' : 'active',
              fmtTime(t.expiresAt),
              fmtTime(t.lastUsedAt),
            ]),
            ['ID', 'NAME', 'SCOPE', 'STATUS', 'EXPIRES', 'LAST USED'],
          ),
        );
      });
    });

  token
    .command('revoke <id>')
    .description('revoke an admin API token; the next call with it is refused')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const opts = { ...globals(), ...o };
      await withStore(opts, async (store) => {
        const { record, changed } = await revokeAdminToken({ store }, id, Date.now());
        if (opts.json) printJson({ ...tokenJson(record), changed });
        else process.stdout.write(changed ? `Revoked admin token ${id} (${record.name}).\n` : `${id} was already revoked.\n`);
      });
    });
}
