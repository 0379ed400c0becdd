import { Command, Option } from 'commander';
import { fatal } from '../exit.js';
import { addRepositoryOptions } from '../repository-flags.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../output.js';
import { messageOf, renderWorkloads, workloadRows } from '../workload-output.js';
import { collectWorkloads, type WorkloadFlags } from '../workload-view.js';

export interface GetWorkloadsFlags extends WorkloadFlags {
  output: OutputFormat;
  /** commander's negated `--no-headers`: false when given. */
  headers: boolean;
}

/**
 * The repository flags `backup-once`, `restore`, `snapshots` and `verify` take
 * (`addRepositoryOptions`: `--rcb-env-file`, `--restic-image`, `--restic-volume`,
 * `--restic-host`, `--plan-id-prefix` and the one-shot flags), Backrest's config as the other
 * source of the repository's credentials, and `--no-repository`: what `get workloads` and
 * `describe workload` read snapshots with.
 */
export function addWorkloadOptions(cmd: Command): Command {
  return addRepositoryOptions(cmd)
    .option(
      '--backrest-config <path>',
      "without --rcb-env-file: the repository's uri, password and env from Backrest's config (native format)",
    )
    .option('--backrest-repo <id>', 'with --backrest-config: which repo (default: its first)')
    .option('--no-repository', 'do not list the repository: status files only');
}

/** `get workloads [name...]`: exit 1 when a named workload is unknown (kubectl's NotFound). */
export async function runGetWorkloads(names: string[], flags: GetWorkloadsFlags): Promise<number> {
  const { views, setup } = await collectWorkloads(flags, names);
  const rows = workloadRows(views, Date.now());
  const missing = names.filter((n) => !rows.some((r) => r.name === n));
  if (rows.length || !missing.length) {
    // Messages may quote a failing command's output: masked with the env file's secrets known.
    const safe = setup.redactor.redact(rows) as typeof rows;
    process.stdout.write(renderWorkloads(safe, flags.output, { noHeaders: !flags.headers }));
    // The table has no MESSAGE column (wide has): say why each Invalid one is refused on stderr,
    // so stdout stays the table.
    if (flags.output === 'table') {
      for (const r of safe.filter((x) => x.invalid)) {
        process.stderr.write(`workload ${r.name} is Invalid: ${messageOf(r)}\n`);
      }
    }
  }
  for (const n of missing) fatal(new Error(`workload "${n}" not found`));
  return missing.length ? 1 : 0;
}

export function getWorkloadsCommand(): Command {
  const cmd = new Command('workloads')
    .alias('workload')
    .argument('[name...]', 'only these workloads (container names)')
    .description("every workload's backup status: last backup, snapshots, Stale (writes nothing)")
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices([...OUTPUT_FORMATS])
        .default('table'),
    )
    .option('--no-headers', "table and wide: don't print the header line")
    .addHelpText(
      'after',
      `
STATUS: Invalid (labels refused: the reason is in -o wide's MESSAGE, -o json's invalid, and on
stderr under the table), Ok, Partial (some files unreadable), Failing (last backup failed), Stale (no successful
backup within 2 × --backup-schedule's period, or 26 h when Backrest owns the schedule),
NeverBackedUp, Gone (a status whose container is gone).
Status comes from --state-dir (written by the daemon and backup-once); with --rcb-env-file (or
RESTIC_* in the environment) the repository's snapshots are listed too (ours by tag, Backrest's
by its plan:<id> tag).

Examples:
  backrest-sidecar get workloads --rcb-env-file /etc/rcb.env
  backrest-sidecar get workloads -o wide --no-repository
  backrest-sidecar get workloads -o json | jq '.[] | select(.state == "Stale") | .name'`,
    );
  return addWorkloadOptions(cmd).action(async (names: string[], flags: GetWorkloadsFlags) => {
    process.exitCode = await runGetWorkloads(names, flags).catch(fatal);
  });
}
