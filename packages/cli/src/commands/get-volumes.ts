import { Command, Option } from 'commander';
import { volumeCoverage } from '@backrest-sidecar/controller-backup';
import { fatal } from '../exit.js';
import { DEFAULTS } from '../options.js';
import { addOneShotOptions, setUpOneShot, type OneShotFlags } from '../one-shot.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../output.js';
import { renderVolumes } from '../workload-output.js';

export interface GetVolumesFlags extends OneShotFlags {
  output: OutputFormat;
  headers: boolean;
  planIdPrefix: string;
  excludeBindMounts?: boolean;
}

/** `get volumes`: every volume and bind mount on the host, covered by which plan. */
export async function runGetVolumes(flags: GetVolumesFlags): Promise<number> {
  const { actions } = await setUpOneShot(flags, undefined);
  const rows = volumeCoverage(await actions.list({}), {
    planIdPrefix: flags.planIdPrefix,
    excludeBindMounts: flags.excludeBindMounts === true,
    ...(flags.selector.length ? { selector: flags.selector } : {}),
  });
  process.stdout.write(renderVolumes(rows, flags.output, { noHeaders: !flags.headers }));
  return 0;
}

export function getVolumesCommand(): Command {
  const cmd = new Command('volumes')
    .alias('volume')
    .description('every volume and bind mount of every container: covered by a plan, or UNCOVERED')
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices([...OUTPUT_FORMATS])
        .default('table'),
    )
    .option('--no-headers', "table and wide: don't print the header line")
    .addOption(
      new Option('--plan-id-prefix <prefix>', 'plan id prefix of the covering plans')
        .env('BACKREST_PLAN_ID_PREFIX')
        .default(DEFAULTS.planIdPrefix),
    )
    .option('--exclude-bind-mounts', 'bind mounts are never backed up (as the daemon’s flag)')
    .addHelpText(
      'after',
      `
A mount is covered when an opted-in container (backrest.enable=true or
restic-compose-backup.volumes=true, within --selector) mounts the same volume or host path and
keeps it after its include/exclude labels. Volumes used only by stopped containers are listed
apart. Docker socket binds are left out.

Examples:
  backrest-sidecar get volumes
  backrest-sidecar get volumes -o json | jq '.inUse[] | select(.state == "Uncovered")'`,
    );
  return addOneShotOptions(cmd).action(async (flags: GetVolumesFlags) => {
    process.exitCode = await runGetVolumes(flags).catch(fatal);
  });
}
