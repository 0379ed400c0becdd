import { Command } from 'commander';
import { errorLogger } from './cli-output.js';
import { register as registerReconcile } from './commands/reconcile.js';
import { register as registerDaemon } from './commands/daemon.js';
import { register as registerGet } from './commands/get.js';
import { register as registerDescribe } from './commands/describe.js';
import { register as registerBackupOnce } from './commands/backup-once.js';
import { register as registerForget } from './commands/forget.js';
import { register as registerSnapshots } from './commands/snapshots.js';
import { register as registerRestore } from './commands/restore.js';
import { register as registerVerify } from './commands/verify.js';
import { register as registerVersion } from './commands/version.js';
import { register as registerCompletion } from './commands/completion.js';
import { register as registerHealthcheck } from './commands/healthcheck.js';
import { register as registerRun } from './commands/run.js';

export const VERSION = '0.1.0';

/** The command line `cmd` was reached by (`backrest-sidecar get plans`). */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Help is wrapped at this width whatever the terminal's (as git's and docker's is), so it depends
 * on the build alone and the bin can answer `--help` from text printed at build time
 * (static-answers.cts).
 */
export const HELP_WIDTH = 80;

/**
 * Commander's own errors (unknown option, missing argument, bad choice) become one `usage.error`
 * line on stderr in the chosen log format, with a hint to `--help`, instead of commander's text
 * followed by the whole help; errors throw instead of exiting so `main` sets the exit code.
 * Help has a fixed width (HELP_WIDTH).
 */
function reportErrorsAsLogs(cmd: Command): void {
  cmd
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({
      getOutHelpWidth: () => HELP_WIDTH,
      getErrHelpWidth: () => HELP_WIDTH,
      outputError: (text) => {
        const error = text
          .replace(/^error: /, '')
          .trim()
          .replace(/\s*\n\s*/g, ' ');
        errorLogger().error('usage.error', {
          error,
          hint: `run '${commandPath(cmd)} --help' for usage`,
        });
      },
    });
  for (const sub of cmd.commands) reportErrorsAsLogs(sub);
}

/**
 * `reconcile` is the default command, so commander hands it any first word it does not know
 * (`backrest-sidecar deamon`); refuse that word as an unknown command, with a suggestion, before
 * reconcile parses anything.
 */
function refuseUnknownCommands(program: Command): void {
  program.hook('preSubcommand', (thisCommand, actionCommand) => {
    const first = thisCommand.args[0];
    if (
      actionCommand.name() === 'reconcile' &&
      first !== undefined &&
      first !== 'reconcile' &&
      !first.startsWith('-')
    ) {
      (thisCommand as unknown as { unknownCommand(): never }).unknownCommand();
    }
  });
}

/**
 * `get` and `describe` without a known resource type (`get`, `get plnas`): one usage error naming
 * the types, like kubectl's "You must specify the type of resource", instead of the help text.
 */
function requireResourceType(group: Command | undefined): void {
  if (!group) return;
  const types = group.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  group
    .argument('[type]')
    .allowExcessArguments()
    .action((type: string | undefined) => {
      group.error(
        type === undefined
          ? `${group.name()} needs a resource type: ${types.join(', ')}`
          : `unknown resource type "${type}" for ${group.name()} (known: ${types.join(', ')})`,
      );
    });
}

/** Every top-level command, by name, in the order help lists them (one file per command). */
const COMMANDS: ReadonlyArray<readonly [name: string, register: (program: Command) => void]> = [
  ['reconcile', registerReconcile],
  ['daemon', registerDaemon],
  ['get', registerGet],
  ['describe', registerDescribe],
  ['backup-once', registerBackupOnce],
  ['forget', registerForget],
  ['snapshots', registerSnapshots],
  ['restore', registerRestore],
  ['verify', registerVerify],
  ['version', (program) => registerVersion(program, VERSION)],
  ['healthcheck', registerHealthcheck],
  ['run', registerRun],
  ['completion', registerCompletion],
];

/**
 * The one top-level command `args` (the command line after the program's name) runs, when its
 * parse needs no other command; undefined when it may: help and version (`-h`, `--help`, `-V`,
 * `--version`, the `help` command), an unknown first word (commander suggests the closest command
 * names), `completion` (it walks every command), a first `--` (commander then looks the next word
 * up as a command) or short flag (`-hV` are the program's). A first long option goes, with the
 * rest of the line, to `reconcile`, the default command.
 */
export function commandOf(args: readonly string[]): string | undefined {
  if (args.some((a) => a === '-h' || a === '-V' || /^--(help|version)(=|$)/.test(a))) {
    return undefined;
  }
  const first = args[0];
  if (first === undefined || (first.startsWith('--') && first !== '--')) return 'reconcile';
  return first !== 'completion' && COMMANDS.some(([name]) => name === first) ? first : undefined;
}

/**
 * The `backrest-sidecar` program. With `args` (the command line to run) only the command it runs
 * is built when that is enough (`commandOf`), as building all 13 with their options costs a
 * one-shot command more than its own; parsing and output are the same either way.
 */
export function buildProgram(args?: readonly string[]): Command {
  const program = new Command('backrest-sidecar')
    .description('Turn Docker container labels into Backrest backup plans')
    .version(VERSION)
    .addHelpText(
      'after',
      `
Environment: DOCKER_HOST, DOCKER_API_VERSION, BACKREST_CONFIG (overrides --config),
BACKREST_VOLUME_PREFIX, BACKREST_DEFAULT_RETENTION, BACKREST_PLAN_ID_PREFIX, NO_COLOR, FORCE_COLOR.

Output: stdout carries only a command's output (tables, descriptions, the dry-run diff); logs and
errors go to stderr, human-readable on a terminal and JSON lines otherwise (--log-format).

Exit codes: 0 written, 2 no change or dry run, 3 partial failure, 1 fatal or usage error.

Examples:
  backrest-sidecar --dry-run --config /etc/backrest/config.json
  backrest-sidecar reconcile --apply --backrest-container backrest
  backrest-sidecar daemon --with-events --apply
  backrest-sidecar get plans -o json
  backrest-sidecar describe plan backrest_sidecar_db
  backrest-sidecar backup-once --rcb-env-file /etc/rcb.env
  backrest-sidecar run --plugin ./my-plugin/dist/index.js   (plugins only, no Backrest)
  source <(backrest-sidecar completion bash)`,
    );
  const only = args && commandOf(args);
  for (const [name, register] of COMMANDS)
    if (only === undefined || name === only) register(program);
  for (const name of ['get', 'describe']) {
    requireResourceType(program.commands.find((c) => c.name() === name));
  }
  refuseUnknownCommands(program);
  reportErrorsAsLogs(program);
  return program;
}
