import { Command, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import { fatal } from '../exit.js';
import { renderWorkloadDescription, workloadRows } from '../workload-output.js';
import { collectWorkloads, type WorkloadFlags } from '../workload-view.js';
import { addWorkloadOptions } from './get-workloads.js';

export interface DescribeWorkloadFlags extends WorkloadFlags {
  output: 'text' | 'json' | 'yaml';
}

/** `describe workload <name>...`: status, conditions and recent events (writes nothing). */
export async function runDescribeWorkload(
  names: string[],
  flags: DescribeWorkloadFlags,
): Promise<number> {
  const { views, setup } = await collectWorkloads(flags, names);
  const now = Date.now();
  let code = 0;
  const found = [];
  for (const n of names) {
    const v = views.find((x) => x.name === n);
    if (!v) {
      fatal(
        new Error(
          `workload "${n}" not found (known: ${views.map((x) => x.name).join(', ') || 'none'})`,
        ),
      );
      code = 1;
    } else found.push(v);
  }
  const redactor = setup.redactor;
  if (flags.output === 'text') {
    process.stdout.write(
      redactor.redactString(found.map((v) => renderWorkloadDescription(v, now)).join('\n')),
    );
  } else {
    const data = redactor.redact(workloadRows(found, now));
    const one = Array.isArray(data) && names.length === 1 ? data[0] : data;
    process.stdout.write(
      flags.output === 'json' ? `${JSON.stringify(one, null, 2)}\n` : toYaml(one, { lineWidth: 0 }),
    );
  }
  return code;
}

export function describeWorkloadCommand(): Command {
  const cmd = new Command('workload')
    .alias('workloads')
    .argument('<name...>', 'workload (container) name(s)')
    .description("a workload's backup status, conditions and recent events (writes nothing)")
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['text', 'json', 'yaml'])
        .default('text'),
    )
    .addHelpText(
      'after',
      `
Examples:
  backrest-sidecar describe workload stack-db-1 --rcb-env-file /etc/rcb.env
  backrest-sidecar describe workload stack-db-1 -o json`,
    );
  return addWorkloadOptions(cmd).action(async (names: string[], flags: DescribeWorkloadFlags) => {
    process.exitCode = await runDescribeWorkload(names, flags).catch(fatal);
  });
}
