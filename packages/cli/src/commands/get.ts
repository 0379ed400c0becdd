import { Command, Option } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { redactText } from '@dockop/runtime';
import { previewRun } from '../app.js';
import { stdoutClosed } from '../cli-output.js';
import { fatal } from '../exit.js';
import { getVolumesCommand } from './get-volumes.js';
import { getWorkloadsCommand } from './get-workloads.js';
import {
  addRenderOptions,
  parseDuration,
  resolveSettings,
  withWriteDefaults,
  type RenderOptions,
} from '../options.js';
import {
  OUTPUT_FORMATS,
  planRows,
  renderPlans,
  type OutputFormat,
  type PlanRow,
} from '../output.js';

export interface GetOptions extends RenderOptions {
  output: OutputFormat;
  /** commander's negated `--no-headers`: false when given. */
  headers: boolean;
  watch?: boolean;
  /** ms. */
  watchInterval: number;
}

/** One preview pass → the rows of `ids` (all plans when empty). */
async function rowsOf(opts: GetOptions, ids: string[], logLevelGiven: boolean): Promise<PlanRow[]> {
  const { summary } = await previewRun(resolveSettings(withWriteDefaults(opts)), logLevelGiven);
  // A refusal message quotes the label value, which may hold a credential.
  const rows = planRows(summary).map((r) => ({ ...r, message: redactText(r.message) }));
  return ids.length ? rows.filter((r) => ids.includes(r.planId)) : rows;
}

/**
 * `get plans [id...]`: what a reconcile would do, per plan, without writing (a preview run).
 * Output on stdout; logs on stderr. Exit 1 when a named plan does not exist (kubectl's NotFound).
 */
export async function runGetPlans(
  ids: string[],
  opts: GetOptions,
  logLevelGiven: boolean,
): Promise<number> {
  const rows = await rowsOf(opts, ids, logLevelGiven);
  const missing = ids.filter((id) => !rows.some((r) => r.planId === id));
  const noHeaders = !opts.headers;
  if (rows.length || !missing.length) {
    process.stdout.write(renderPlans(rows, opts.output, { noHeaders }));
  }
  for (const id of missing) fatal(new Error(`plan "${id}" not found`));
  if (missing.length) return 1;
  if (opts.watch) return watchPlans(ids, opts, logLevelGiven, rows);
  return 0;
}

/**
 * `-w`: a preview every `--watch-interval`, printing the rows that appeared or changed since the
 * last one (and `Deleted` for plans that went away), until SIGINT/SIGTERM or the reader of stdout
 * goes away (exit 0).
 */
async function watchPlans(
  ids: string[],
  opts: GetOptions,
  logLevelGiven: boolean,
  first: PlanRow[],
): Promise<number> {
  if (stdoutClosed.aborted) return 0;
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // `get plans -w | head`: once head has its lines, nothing reads what a next preview prints.
  stdoutClosed.addEventListener('abort', onSignal, { once: true });
  const seen = new Map(first.map((r) => [r.planId, JSON.stringify(r)]));
  try {
    while (!stop.signal.aborted) {
      await sleep(opts.watchInterval, undefined, { signal: stop.signal }).catch(() => undefined);
      if (stop.signal.aborted) break;
      const rows = await rowsOf(opts, ids, logLevelGiven);
      const changed = rows.filter((r) => seen.get(r.planId) !== JSON.stringify(r));
      const gone = [...seen.keys()].filter((id) => !rows.some((r) => r.planId === id));
      for (const id of gone) {
        const last = JSON.parse(seen.get(id)!) as PlanRow;
        changed.push({ ...last, status: 'Deleted' });
        seen.delete(id);
      }
      for (const r of rows) seen.set(r.planId, JSON.stringify(r));
      if (changed.length) {
        process.stdout.write(
          opts.output === 'json'
            ? changed.map((r) => `${JSON.stringify(r)}\n`).join('')
            : renderPlans(changed, opts.output, { noHeaders: true }),
        );
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stdoutClosed.removeEventListener('abort', onSignal);
  }
  return 0;
}

/** `get plans` / `get plan`, without its program (tests parse it with another action). */
export function getPlansCommand(): Command {
  const plans = new Command('plans')
    .alias('plan')
    .argument('[id...]', 'only these plans')
    .description('list the plans the labels render to, with their status (writes nothing)')
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices([...OUTPUT_FORMATS])
        .default('table'),
    )
    .option('--no-headers', "table and wide: don't print the header line")
    .option('-w, --watch', 'after listing, print plans as they change (until Ctrl-C)')
    .addOption(
      new Option('--watch-interval <duration>', 'with --watch: time between two previews')
        .argParser(parseDuration)
        .default(5_000, '5s'),
    )
    .addHelpText(
      'after',
      `
STATUS: InSync (config matches), Pending (a reconcile would change it), Skipped(<reason>),
Invalid (labels refused: -o wide or describe plan <id> shows why), Orphaned (ours, container gone).
Output: -o table (default), wide (+ KEEP, MESSAGE), name (plan/<id>), json, yaml.

Examples:
  backrest-sidecar get plans --config /etc/backrest/config.json
  backrest-sidecar get plans -o wide --no-headers
  backrest-sidecar get plan backrest_sidecar_stack_db -o yaml
  backrest-sidecar get plans -o json | jq '.[] | select(.status != "InSync")'
  backrest-sidecar get plans -w`,
    );
  return addRenderOptions(plans).action(async (ids: string[], opts: GetOptions, cmd: Command) => {
    process.exitCode = await runGetPlans(
      ids,
      opts,
      cmd.getOptionValueSource('logLevel') === 'cli',
    ).catch(fatal);
  });
}

export function register(program: Command): void {
  const get = new Command('get').description('display resources (plans, workloads, volumes)');
  get.addCommand(getPlansCommand());
  get.addCommand(getWorkloadsCommand());
  get.addCommand(getVolumesCommand());
  program.addCommand(get);
}
