import { Command } from 'commander';
import { register as registerReconcile } from './commands/reconcile.js';
import { register as registerDaemon } from './commands/daemon.js';
import { register as registerGet } from './commands/get.js';
import { register as registerDescribe } from './commands/describe.js';
import { register as registerBackupOnce } from './commands/backup-once.js';
import { register as registerForget } from './commands/forget.js';
import { register as registerVersion } from './commands/version.js';

export const VERSION = '0.1.0';

/** The `backrest-sidecar` program: every command registers itself (one file per command). */
export function buildProgram(): Command {
  const program = new Command('backrest-sidecar')
    .description('Turn Docker container labels into Backrest backup plans')
    .version(VERSION)
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Environment: DOCKER_HOST, DOCKER_API_VERSION, BACKREST_CONFIG (overrides --config),
BACKREST_VOLUME_PREFIX, BACKREST_DEFAULT_RETENTION, BACKREST_PLAN_ID_PREFIX.

Exit codes: 0 written, 2 no change or dry run, 3 partial failure, 1 fatal.

Examples:
  backrest-sidecar --dry-run --config /etc/backrest/config.json
  backrest-sidecar reconcile --apply --backrest-container backrest
  backrest-sidecar daemon --with-events --apply
  backrest-sidecar get plans -o json
  backrest-sidecar describe plan backrest_sidecar_db
  backrest-sidecar backup-once --rcb-env-file /etc/rcb.env`,
    );
  registerReconcile(program);
  registerDaemon(program);
  registerGet(program);
  registerDescribe(program);
  registerBackupOnce(program);
  registerForget(program);
  registerVersion(program, VERSION);
  return program;
}
