import type { Command } from 'commander';
import { addAdmin, listAdmins, removeAdmin } from '../admin/accounts.js';
import { setupLink } from '../admin/links.js';
import type { AdminAccount } from '../store/store.js';
import { withStore, type GlobalOpts } from './common.js';
import { fmtTime, printJson, table } from './output.js';
import { parseDuration } from './time.js';

/** `ghostgate admin add|list|remove`: the people who sign in to the web console (docs/console.md). */
const json = (a: AdminAccount) => ({
  id: a.id,
  email: a.email,
  set_up: a.passwordHash !== null,
  totp: a.totpSealed !== null,
  setup_link_expires_at: a.setupExpiresAt === null ? null : new Date(a.setupExpiresAt).toISOString(),
  created_at: new Date(a.createdAt).toISOString(),
});

/** Adds `add|list|remove` to the `admin` command (src/cli/admin.ts). */
export function registerAdminAccounts(admin: Command, globals: () => GlobalOpts): void {
  admin
    .command('add <email>')
    .description('add an admin and print a one-time set-up link (where they choose a password); there is no default account')
    .option('--expires <duration>', 'how long the set-up link works', '24h')
    .option('--json', 'print JSON')
    .action(async (email: string, o: { expires: string; json?: boolean }) => {
      const opts = { ...globals(), ...o };
      const ttl = parseDuration(o.expires);
      await withStore(opts, async (store, config) => {
        const { account, token } = await addAdmin({ store }, email, Date.now(), ttl);
        const link = setupLink(config, token);
        if (opts.json) printJson({ ...json(account), setup_link: link });
        else
          process.stdout.write(
            `Added ${account.email}. Send them this link (it works once, until ${fmtTime(account.setupExpiresAt)}):\n\n  ${link}\n\n`,
          );
      });
    });

  admin
    .command('list')
    .description('list admins (never a password or a secret)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const opts = { ...globals(), ...o };
      const rows = await withStore(opts, (store) => listAdmins({ store }));
      if (opts.json) printJson(rows.map(json));
      else
        process.stdout.write(
          table(
            rows.map((a) => [
              a.id,
              a.email,
              a.passwordHash ? 'yes' : `link until ${fmtTime(a.setupExpiresAt)}`,
              a.totpSealed ? 'yes' : 'no',
              fmtTime(a.createdAt),
            ]),
            ['ID', 'EMAIL', 'SET UP', 'TOTP', 'CREATED'],
          ),
        );
    });

  admin
    .command('remove <id-or-email>')
    .description('remove an admin; their sessions end at once')
    .option('--json', 'print JSON')
    .action(async (who: string, o: { json?: boolean }) => {
      const opts = { ...globals(), ...o };
      const a = await withStore(opts, (store) => removeAdmin({ store }, who));
      if (opts.json) printJson({ ...json(a), removed: true });
      else process.stdout.write(`Removed ${a.email}.\n`);
    });
}
