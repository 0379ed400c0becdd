import { CacheReasons } from '@dockop/runtime';
import { Command, Option } from 'commander';
import { previewRun } from '../app.js';
import { fatal } from '../exit.js';
import { addReconcileOptions, resolveSettings, type RawOptions } from '../options.js';
import { planRows, renderTable } from '../output.js';

interface GetOptions extends RawOptions {
  output: 'table' | 'json';
}

/**
 * `get plans`: what a reconcile would do, per plan, without writing (a preview run). Output on
 * stdout; logs on stderr (warnings only unless --log-level says otherwise).
 */
export async function runGetPlans(opts: GetOptions, logLevelGiven: boolean): Promise<number> {
  const { summary } = await previewRun(resolveSettings(opts), logLevelGiven);
  // planRows maps entries one to one. A workload whose labels the cache refused (the schema, or
  // the source's label checks) is `Invalid`: fixing its labels is the only way forward.
  const rows = planRows(summary).map((row, i) =>
    summary.entries[i]?.state === 'Skipped' &&
    summary.entries[i]?.reason === CacheReasons.InvalidSpec
      ? { ...row, status: 'Invalid' }
      : row,
  );
  process.stdout.write(
    opts.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : renderTable(rows),
  );
  return 0;
}

export function register(program: Command): void {
  const get = new Command('get').description('display resources');
  const plans = new Command('plans')
    .description('list the plans the labels render to, with their status (writes nothing)')
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json'])
        .default('table'),
    )
    .addHelpText(
      'after',
      `
STATUS: InSync (config matches), Pending (a reconcile would change it), Skipped(<reason>),
Invalid (labels refused: see the Warning or describe plan <id>), Orphaned (ours, container gone).

Examples:
  backrest-sidecar get plans --config /etc/backrest/config.json
  backrest-sidecar get plans -o json | jq '.[] | select(.status != "InSync")'`,
    );
  addReconcileOptions(plans).action(async (opts: GetOptions, cmd: Command) => {
    process.exitCode = await runGetPlans(
      opts,
      cmd.getOptionValueSource('logLevel') === 'cli',
    ).catch(fatal);
  });
  get.addCommand(plans);
  program.addCommand(get);
}
