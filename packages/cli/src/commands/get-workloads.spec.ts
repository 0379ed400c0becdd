import { expect } from 'chai';
import type { Command, Option } from 'commander';
import { toRepositoryOptions, type RepositoryFlags } from '../repository-flags.js';
import { parseCommand } from '../parse-command.spec-support.js';
import { backupOnceCommand } from './backup-once.js';
import { describeWorkloadCommand } from './describe-workload.js';
import { getWorkloadsCommand } from './get-workloads.js';
import { restoreCommand } from './restore.js';
import { snapshotsCommand } from './snapshots.js';
import { verifyCommand } from './verify.js';

/** The repository flags every repository-reading command shares. */
const REPOSITORY_FLAGS = [
  '--rcb-env-file',
  '--restic-image',
  '--restic-volume',
  '--restic-host',
  '--plan-id-prefix',
  '--state-dir',
  '--selector',
];

/** What defines a flag for a user: its name, argument, default, env variable and parser. */
function definition(cmd: Command, long: string) {
  const o = cmd.options.find((x: Option) => x.long === long);
  expect(o, `${cmd.name()} has no ${long}`).to.not.equal(undefined);
  return {
    flags: o!.flags.replace(/^-\w, /, ''),
    default: o!.defaultValue as unknown,
    env: o!.envVar,
    parser: o!.parseArg?.toString(),
  };
}

describe('get workloads and describe workload take the shared repository flags', () => {
  it('each flag is defined exactly as restore, snapshots, verify and backup-once define it', () => {
    const shared = restoreCommand();
    for (const cmd of [
      getWorkloadsCommand(),
      describeWorkloadCommand(),
      snapshotsCommand(),
      verifyCommand(),
      backupOnceCommand(),
    ]) {
      for (const long of REPOSITORY_FLAGS) {
        expect(definition(cmd, long), `${cmd.name()} ${long}`).to.deep.equal(
          definition(shared, long),
        );
      }
    }
  });

  it('the same command line reads the same repository', () => {
    const argv = [
      '--rcb-env-file',
      '/etc/test.env',
      '--restic-image',
      'restic:test',
      '--restic-volume',
      '/srv/repo:/repo:ro',
      '--restic-host',
      'host-a',
      '--plan-id-prefix',
      'p_',
      '--selector',
      'team=a',
    ];
    const get = parseCommand<RepositoryFlags>(getWorkloadsCommand(), argv);
    const restore = parseCommand<RepositoryFlags>(restoreCommand(), ['db', '--to', '/x', ...argv]);
    expect(toRepositoryOptions(get)).to.deep.equal(toRepositoryOptions(restore));
  });
});
