import { BACKUP_WORKLOAD_KIND } from '@backrest-sidecar/api';
import { makeKey, ConditionStore, EventRecorder, Redactor } from '@dockop/runtime';
import { BACKUP_DEFAULTS } from '@backrest-sidecar/controller-backup';
import { Command, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import { readFile } from 'node:fs/promises';
import type { ApplyStatus } from '@backrest-sidecar/api';
import { applyStatusFile, previewRun } from '../app.js';
import { fatal } from '../exit.js';
import { describeWorkloadCommand } from './describe-workload.js';
import {
  addRenderOptions,
  resolveSettings,
  withWriteDefaults,
  type RenderOptions,
} from '../options.js';
import { describeData, renderDescription } from '../output.js';

export interface DescribeOptions extends RenderOptions {
  output: 'text' | 'json' | 'yaml';
}

/** `describe plan <id>...`: the rendered plan, its conditions and events (a preview run). */
export async function runDescribePlan(
  ids: string[],
  opts: DescribeOptions,
  logLevelGiven: boolean,
): Promise<number> {
  const settings = resolveSettings(withWriteDefaults(opts));
  const { manager, summary: report } = await previewRun(settings, logLevelGiven);
  const apply = await readApplyStatus(applyStatusFile(settings), settings.configPath);
  const found = [];
  let code = 0;
  for (const id of ids) {
    const entry = report.entries.find((e) => e.planId === id);
    if (!entry) {
      const known = report.entries.map((e) => e.planId).join(', ') || 'none';
      fatal(new Error(`plan "${id}" not found (known: ${known})`));
      code = 1;
      continue;
    }
    const key = entry.container ? makeKey(BACKUP_WORKLOAD_KIND, entry.container) : undefined;
    const conditions = key ? manager.get<ConditionStore>(ConditionStore).list(key) : [];
    const events = key ? manager.get<EventRecorder>(EventRecorder).list(key) : [];
    found.push({ entry, conditions, events, ...(apply ? { apply } : {}) });
  }
  // Hook commands and error messages can carry credentials (curl -H, pg_dump URIs): masked
  // like the dry-run diff.
  const redactor = manager.get<Redactor>(Redactor);
  if (opts.output === 'json') {
    const data = found.map((f) => redactor.redact(describeData(f)));
    process.stdout.write(`${JSON.stringify(ids.length === 1 ? data[0] : data, null, 2)}\n`);
  } else if (opts.output === 'yaml') {
    const data = found.map((f) => redactor.redact(describeData(f)));
    process.stdout.write(toYaml(ids.length === 1 ? data[0] : data, { lineWidth: 0 }));
  } else {
    process.stdout.write(redactor.redactString(found.map(renderDescription).join('\n')));
  }
  return code;
}

/**
 * The apply worker's status a daemon (or the last `reconcile --apply`) left in the state dir, for
 * the same config; undefined when there is none or it is unreadable (hostile input: own fields).
 */
async function readApplyStatus(file: string, config: string): Promise<ApplyStatus | undefined> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  const str = (k: string): string | undefined =>
    Object.hasOwn(r, k) && typeof r[k] === 'string' ? r[k] : undefined;
  const phase = str('phase');
  const since = str('since');
  const target = str('target');
  if (str('config') !== config || !phase || !since || target === undefined) return undefined;
  if (!['Idle', 'Pending', 'Deferred', 'NotRunning', 'Failed'].includes(phase)) return undefined;
  return {
    config,
    target,
    phase: phase as ApplyStatus['phase'],
    since,
    message: str('message') ?? '',
  };
}

/** `describe plan` / `describe plans`, without its program. */
export function describePlanCommand(): Command {
  const plan = new Command('plan')
    .alias('plans')
    .argument('<id...>', 'plan id(s)')
    .description('the rendered plan, conditions and events of plans (writes nothing)')
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['text', 'json', 'yaml'])
        .default('text'),
    )
    .addOption(
      new Option(
        '--state-dir <dir>',
        "the daemon's --state-dir: its apply status (deferred restart, Backrest not running) is shown",
      ).default(BACKUP_DEFAULTS.stateDir),
    )
    .addHelpText(
      'after',
      `
Examples:
  backrest-sidecar describe plan backrest_sidecar_stack_db
  backrest-sidecar describe plans backrest_sidecar_stack_db backrest_sidecar_stack_app -o json`,
    );
  return addRenderOptions(plan).action(
    async (ids: string[], opts: DescribeOptions, cmd: Command) => {
      process.exitCode = await runDescribePlan(
        ids,
        opts,
        cmd.getOptionValueSource('logLevel') === 'cli',
      ).catch(fatal);
    },
  );
}

export function register(program: Command): void {
  const describe = new Command('describe').description(
    'show details of a resource (plans, workloads)',
  );
  describe.addCommand(describePlanCommand());
  describe.addCommand(describeWorkloadCommand());
  program.addCommand(describe);
}
