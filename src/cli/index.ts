import { Command, CommanderError } from 'commander';
import { AdminError } from '../admin/errors.js';
import { ConfigError } from '../config/config.js';
import { registerAdmin } from './admin.js';
import { registerApprovals } from './approvals.js';
import { registerAudit } from './audit.js';
import { registerCatalog } from './catalog.js';
import { registerExplain } from './explain.js';
import { registerLab } from './lab.js';
import { registerProbe } from './probe.js';
import { registerRequestLink } from './request-link.js';
import { registerServe } from './serve.js';
import { registerToken } from './token.js';
import { registerWebhooks } from './webhooks.js';
import type { GlobalOpts } from './common.js';
import { CliError } from './output.js';

export function buildProgram(): Command {
  const program = new Command('ghostgate')
    .description("A least-privilege gateway in front of the Ghost Admin API: scoped keys in Ghost's own format.")
    .option('-c, --config <file>', 'config file (default: $GHOSTGATE_CONFIG or ./ghostgate.yaml)')
    .showHelpAfterError()
    .exitOverride();
  const globals = (): GlobalOpts => program.opts<GlobalOpts>();
  registerServe(program, globals);
  registerToken(program, globals);
  registerExplain(program, globals);
  registerAudit(program, globals);
  registerApprovals(program, globals);
  registerAdmin(program, globals);
  registerRequestLink(program, globals);
  registerWebhooks(program, globals);
  registerCatalog(program);
  registerLab(program);
  registerProbe(program);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.commands.forEach(function exit(c: Command): void {
    c.exitOverride();
    c.commands.forEach(exit);
  });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError || err instanceof ConfigError || err instanceof AdminError) {
      process.stderr.write(`ghostgate: ${err.message}\n`);
      // A configuration error is 2; a refused command (CliError, AdminError) is 1 unless it says otherwise.
      return err instanceof CliError ? err.exitCode : err instanceof ConfigError ? 2 : 1;
    }
    process.stderr.write(`ghostgate: ${(err as Error).message}\n`);
    return 1;
  }
}
