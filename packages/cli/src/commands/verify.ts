import { Command, InvalidArgumentError, Option } from 'commander';
import {
  VERIFY_DEFAULTS,
  runVerify,
  type VerifyOptions,
} from '@backrest-sidecar/controller-backup';
import { WorkloadStatusStore } from '@backrest-sidecar/api';
import { fatal } from '../exit.js';
import { UsageError, checkPlanIdPrefixOption } from '../options.js';
import { abortOnSignals, setUpOneShot } from '../one-shot.js';
import {
  addRepositoryOptions,
  toRepositoryOptions,
  type RepositoryFlags,
} from '../repository-flags.js';

/** The drill flags `verify` and `daemon --verify-schedule` share. */
export interface VerifyFlags {
  readDataParts: number;
}

export function parseReadDataParts(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n > 10_000) {
    throw new InvalidArgumentError(`"${value}" is not a whole number of parts (0-10000)`);
  }
  return n;
}

/** `--read-data-parts <t>`: `restic check --read-data-subset n/t`, n rotating (0: no data read). */
export function readDataPartsOption(): Option {
  return new Option(
    '--read-data-parts <t>',
    'restic check --read-data-subset n/t, the next n each run, so t runs read every pack (0: structure only)',
  )
    .argParser(parseReadDataParts)
    .default(VERIFY_DEFAULTS.readDataParts);
}

export function toVerifyOptions(
  flags: RepositoryFlags & VerifyFlags,
): Omit<VerifyOptions, 'workloads' | 'all' | 'signal'> {
  return {
    ...toRepositoryOptions(flags),
    readDataParts: flags.readDataParts,
    stateDir: flags.stateDir,
  };
}

export interface VerifyCommandFlags extends RepositoryFlags, VerifyFlags {
  all?: boolean;
}

export async function runVerifyCommand(
  workloads: string[],
  flags: VerifyCommandFlags,
): Promise<number> {
  checkPlanIdPrefixOption(flags.planIdPrefix);
  if (workloads.length > 0 === (flags.all === true)) {
    throw new UsageError('verify needs workload names or --all (not both)');
  }
  const { logger, actions, client, redactor } = await setUpOneShot(flags, flags.rcbEnvFile);
  const controller = new AbortController();
  const release = abortOnSignals(controller, logger);
  try {
    const status = new WorkloadStatusStore({ stateDir: flags.stateDir, logger, redactor });
    const report = await runVerify(
      {
        ...toVerifyOptions(flags),
        ...(flags.all ? { all: true } : { workloads }),
        signal: controller.signal,
      },
      { actions, client, logger, redactor, status },
    );
    return report.exitCode;
  } finally {
    release();
  }
}

export function verifyCommand(): Command {
  const cmd = new Command('verify')
    .argument('[workload...]', 'container names or plan ids')
    .option('--all', 'every opted-in container (backrest.enable / restic-compose-backup.volumes)')
    .description(
      "restore drill: restore each workload's latest snapshot into a scratch volume and check it",
    )
    .addOption(readDataPartsOption())
    .addHelpText(
      'after',
      `
The repository is checked first, once per run (restic check --read-data-subset n/t); when the
check fails every drill fails at once, without a restore. Else each drill restores the latest
snapshot into a scratch volume (restic restore --verify) and compares the restored tree with
restic ls (every path, type and file size); everything it creates is removed, also on failure.
The result is the workload's Verified condition (get workloads, describe workload), an event and,
in the daemon (--verify-schedule), backrest_sidecar_last_verified_timestamp_seconds.
Exit codes: 0 every drill passed, 3 a drill failed, 1 fatal (nothing verified).

Examples:
  backrest-sidecar verify db --rcb-env-file /etc/rcb.env
  backrest-sidecar verify --all --restic-volume /srv/restic-repo:/repo --rcb-env-file /etc/rcb.env`,
    );
  return addRepositoryOptions(cmd).action(
    async (workloads: string[], flags: VerifyCommandFlags) => {
      process.exitCode = await runVerifyCommand(workloads, flags).catch(fatal);
    },
  );
}

export function register(program: Command): void {
  program.addCommand(verifyCommand());
}
