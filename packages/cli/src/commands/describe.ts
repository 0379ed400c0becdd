import { BACKUP_WORKLOAD_KIND } from '@backrest-sidecar/api';
import { makeKey, ConditionStore, EventRecorder } from '@dockop/runtime';
import { Command } from 'commander';
import { previewRun } from '../app.js';
import { fatal } from '../exit.js';
import { addReconcileOptions, resolveSettings, type RawOptions } from '../options.js';
import { renderDescription } from '../output.js';

/** `describe plan <id>`: the rendered plan, its conditions and events (a preview run). */
export async function runDescribePlan(
  id: string,
  opts: RawOptions,
  logLevelGiven: boolean,
): Promise<number> {
  const { manager, summary: report } = await previewRun(resolveSettings(opts), logLevelGiven);
  const entry = report.entries.find((e) => e.planId === id);
  if (!entry) {
    const known = report.entries.map((e) => e.planId).join(', ') || 'none';
    process.stderr.write(`plan "${id}" not found (known: ${known})\n`);
    return 1;
  }
  const key = entry.container ? makeKey(BACKUP_WORKLOAD_KIND, entry.container) : undefined;
  const conditions = key ? manager.get<ConditionStore>(ConditionStore).list(key) : [];
  const events = key ? manager.get<EventRecorder>(EventRecorder).list(key) : [];
  process.stdout.write(renderDescription({ entry, conditions, events }));
  return 0;
}

export function register(program: Command): void {
  const describe = new Command('describe').description('show details of a resource');
  const plan = new Command('plan')
    .argument('<id>', 'plan id')
    .description('the rendered plan, conditions and events of one plan (writes nothing)')
    .addHelpText('after', `\nExample:\n  backrest-sidecar describe plan backrest_sidecar_stack_db`);
  addReconcileOptions(plan).action(async (id: string, opts: RawOptions, cmd: Command) => {
    process.exitCode = await runDescribePlan(
      id,
      opts,
      cmd.getOptionValueSource('logLevel') === 'cli',
    ).catch(fatal);
  });
  describe.addCommand(plan);
  program.addCommand(describe);
}
