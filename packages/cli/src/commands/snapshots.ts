import { Command, Option } from 'commander';
import {
  listWorkloadSnapshots,
  newRunId,
  repositoryRunner,
  resolveWorkload,
  runLabels,
  type WorkloadSnapshot,
} from '@backrest-sidecar/controller-backup';
import { formatBytes } from '@backrest-sidecar/restic';
import { stringify as toYaml } from 'yaml';
import { fatal } from '../exit.js';
import { checkPlanIdPrefixOption } from '../options.js';
import { columns } from '../output.js';
import { setUpOneShot } from '../one-shot.js';
import {
  addRepositoryOptions,
  toRepositoryOptions,
  type RepositoryFlags,
} from '../repository-flags.js';

export interface SnapshotsFlags extends RepositoryFlags {
  output: 'table' | 'json' | 'yaml';
  headers: boolean;
  size: boolean;
}

/** TIME, ID, SIZE, TAGS (+ HOST): newest last, like `restic snapshots`. */
export function renderSnapshots(
  snaps: WorkloadSnapshot[],
  format: SnapshotsFlags['output'],
  noHeaders = false,
): string {
  if (format === 'json') return `${JSON.stringify(snaps, null, 2)}\n`;
  if (format === 'yaml') return toYaml(snaps, { lineWidth: 0 });
  return columns(
    ['TIME', 'ID', 'SIZE', 'HOST', 'TAGS'],
    snaps.map((s) => [
      s.time.replace(/\.\d+/, '').replace('T', ' '),
      s.shortId,
      formatBytes(s.size),
      s.host || '-',
      s.tags.join(',') || '-',
    ]),
    noHeaders,
  );
}

export async function runSnapshotsCommand(
  workload: string,
  flags: SnapshotsFlags,
): Promise<number> {
  checkPlanIdPrefixOption(flags.planIdPrefix);
  const { logger, actions, redactor } = await setUpOneShot(flags, flags.rcbEnvFile);
  const options = toRepositoryOptions(flags);
  const runner = await repositoryRunner(options, actions, runLabels(options, newRunId()), redactor);
  const ref = await resolveWorkload(actions, workload, {
    planIdPrefix: flags.planIdPrefix,
    ...(flags.selector.length ? { selector: flags.selector } : {}),
  });
  const snaps = await listWorkloadSnapshots(runner, ref, {
    ...(options.resticHost ? { host: options.resticHost } : {}),
    sizes: flags.size,
  });
  logger.debug('snapshots.listed', { workload: ref.name, tags: ref.tags, count: snaps.length });
  process.stdout.write(renderSnapshots(snaps, flags.output, !flags.headers));
  return 0;
}

export function snapshotsCommand(): Command {
  const cmd = new Command('snapshots')
    .argument('<workload>', 'container name or plan id (the container may be gone)')
    .description(
      "list a workload's snapshots: ours (tag container:<name>) and Backrest's (tag plan:<id>)",
    )
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json', 'yaml'])
        .default('table'),
    )
    .option('--no-headers', "table: don't print the header line")
    .option('--no-size', 'skip the SIZE column (one restic stats per snapshot)')
    .addHelpText(
      'after',
      `
SIZE is the size of the files a snapshot holds (restic stats --mode restore-size).
Exit codes: 0 listed (also when there is none), 1 fatal (repository unreachable, bad flags).

Examples:
  backrest-sidecar snapshots db --rcb-env-file /etc/rcb.env
  backrest-sidecar snapshots backrest_sidecar_stack_db --restic-volume /srv/restic-repo:/repo -o json`,
    );
  return addRepositoryOptions(cmd).action(async (workload: string, flags: SnapshotsFlags) => {
    process.exitCode = await runSnapshotsCommand(workload, flags).catch(fatal);
  });
}

export function register(program: Command): void {
  program.addCommand(snapshotsCommand());
}
