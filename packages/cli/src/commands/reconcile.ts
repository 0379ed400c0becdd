import { exitCodeOf, ExitCode } from '@backrest-sidecar/api';
import { Command } from 'commander';
import { buildApp, pingDocker, reportOf, setUpWhileListing } from '../app.js';
import {
  addReconcileOptions,
  checkConfigDirectory,
  resolveSettings,
  type RawOptions,
} from '../options.js';
import { fatal } from '../exit.js';
import { repairBeforeCommand, repairMayChangeContainers } from '../one-shot.js';
import { ContainerActions } from '@dockop/docker';
import { configSecretValues } from '@backrest-sidecar/config-sink';
import { Logger, Redactor } from '@dockop/runtime';

/**
 * One-shot reconcile (the default command): list labeled containers, render plans, write the
 * config when it changed, apply. The dry-run diff is the command's output (stdout); logs go to
 * stderr.
 */
export async function runReconcile(raw: RawOptions): Promise<number> {
  const settings = resolveSettings(raw);
  checkConfigDirectory(settings.configPath, raw.createConfig === true);
  const manager = await buildApp(settings, { mode: 'once', logStream: process.stderr });
  // The engine lists the containers (2,000: ~150 ms) while we ping and repair; unless a killed
  // backup-once left a journal, whose repair starts containers: then the list waits for it.
  const listEarly = !repairMayChangeContainers(settings.stateDir);
  await setUpWhileListing(manager, listEarly, async () => {
    await pingDocker(manager, settings);
    // A backup-once killed mid-run (kill -9) left containers stopped: start them first, dry run
    // or not (the dry run is about the config; a stopped database is our damage to undo).
    await repairBeforeCommand(
      manager.get<ContainerActions>(ContainerActions),
      settings.stateDir,
      manager.get<Logger>(Logger),
    );
  });
  const summaries = await manager.runOnce();
  const report = reportOf(manager).last;
  if (settings.dryRun && report?.diff) {
    // The diff shows config lines: repository passwords, env values, webhook URLs, hook commands.
    // From the store's document when it has them (no second parse of a 600 kB config).
    const secrets = report.secretValues ?? configSecretValues(report.after ?? '');
    process.stdout.write(dryRunDiffText(manager.get<Redactor>(Redactor), report.diff, secrets));
  }
  const pluginFailures = summaries.filter((s) => s.controller !== 'plan' && s.failed > 0).length;
  const code = exitCodeOf(report, { requireApply: settings.requireApply });
  return pluginFailures > 0 && code !== ExitCode.Fatal ? ExitCode.Partial : code;
}

/**
 * The dry-run diff as printed: the config's secret values registered, then masked with the rules
 * line by line (`redactLines`): a diff of canonical JSON holds no secret across a line break (no
 * JSON string holds a raw newline), so the rules run on the lines that may hold one, not over all
 * 600 kB of a 2,000-plan diff.
 */
export function dryRunDiffText(
  redactor: Redactor,
  diff: string,
  secrets: Iterable<string>,
): string {
  for (const v of secrets) redactor.addSecretValue(v);
  const out = redactor.redactLines(diff);
  return out.endsWith('\n') ? out : `${out}\n`;
}

export function register(program: Command): void {
  const cmd = new Command('reconcile')
    .description('render plans from container labels and upsert them into the Backrest config')
    .addHelpText(
      'after',
      `
Exit codes: 0 config written, 2 no change or --dry-run, 3 some plans skipped (invalid labels,
missing repo, no sources, id collision) or apply failed (or, with --require-apply, Backrest was
not running or busy), 1 fatal (invalid config JSON, Docker unreachable, bad flags).
Output: the --dry-run diff on stdout; logs on stderr.

Examples:
  backrest-sidecar reconcile --config /etc/backrest/config.json --apply
  backrest-sidecar reconcile --dry-run --include-project-name --default-repo default
  BACKREST_CONFIG=./config.json backrest-sidecar --dry-run --volume-prefix /docker_volumes`,
    );
  addReconcileOptions(cmd).action(async (opts: RawOptions) => {
    process.exitCode = await runReconcile(opts).catch(fatal);
  });
  program.addCommand(cmd, { isDefault: true });
}
