import { expect } from 'chai';
import {
  VerifySchedulerOptions,
  backupControllerModule,
} from '@backrest-sidecar/controller-backup';
import { ContainerActions, DockerClient } from '@dockop/docker';
import { LifecycleHook } from '@dockop/runtime';
import { Container } from 'inversify';
import { parseCommand } from '../parse-command.spec-support.js';
import { daemonCommand, daemonModules, type DaemonOptions } from './daemon.js';
import { toVerifyOptions, verifyCommand, type VerifyCommandFlags } from './verify.js';

/** Every repository flag of verify, with a value other than its default. */
const FLAGS = [
  ['--rcb-env-file', '/etc/test.env'],
  ['--restic-image', 'restic:test'],
  ['--restic-volume', '/srv/repo:/repo:ro'],
  ['--restic-host', 'host-a'],
  ['--plan-id-prefix', 'p_'],
  ['--state-dir', '/var/lib/test-state'],
  ['--selector', 'team=a'],
  ['--read-data-parts', '8'],
];

describe('verify flags (verify and daemon --verify-schedule)', () => {
  it('verify turns the repository flags into the same options backup-once would read', () => {
    const flags = parseCommand<VerifyCommandFlags>(verifyCommand(), ['db', ...FLAGS.flat()]);
    expect(toVerifyOptions(flags)).to.deep.equal({
      rcbEnvFile: '/etc/test.env',
      resticImage: 'restic:test',
      resticMounts: [{ type: 'bind', source: '/srv/repo', target: '/repo', readOnly: true }],
      resticHost: 'host-a',
      planIdPrefix: 'p_',
      selector: ['team=a'],
      readDataParts: 8,
      stateDir: '/var/lib/test-state',
    });
  });

  it('daemon --verify-schedule schedules the drills verify would run with the same flags', () => {
    const argv = FLAGS.flat();
    const once = toVerifyOptions(
      parseCommand<VerifyCommandFlags>(verifyCommand(), ['db', ...argv]),
    );
    const opts = parseCommand<DaemonOptions>(daemonCommand(), [
      ...argv,
      '--verify-schedule',
      '0 4 * * 0',
    ]);
    const container = new Container();
    container.bind(ContainerActions).toConstantValue({});
    container.bind(DockerClient).toConstantValue({});
    container.load(...daemonModules(opts), backupControllerModule());
    expect(container.getAll<LifecycleHook>(LifecycleHook).map((h) => h.name)).to.deep.equal([
      'quiesce-journal-repair',
      'verify-scheduler',
      'backup', // a built-in plugin: loaded after the command's modules
    ]);
    const bound = container.get<VerifySchedulerOptions>(VerifySchedulerOptions);
    expect(bound.schedule).to.equal('0 4 * * 0');
    expect(bound.verify).to.deep.equal(once);
  });

  it('refuses a --read-data-parts that is not a whole number', () => {
    expect(() => parseCommand(verifyCommand(), ['db', '--read-data-parts', '1.5'])).to.throw(
      /not a whole number of parts/,
    );
  });
});
