import { expect } from 'chai';
import {
  BackupControllerOptions,
  backupControllerModule,
} from '@backrest-sidecar/controller-backup';
import { ContainerActions, DockerClient } from '@dockop/docker';
import { LifecycleHook } from '@dockop/runtime';
import type { Command } from 'commander';
import { Container } from 'inversify';
import { toBackupOnceOptions, type BackupFlags } from './backup-flags.js';
import { backupOnceCommand } from './commands/backup-once.js';
import {
  daemonCommand,
  daemonModules,
  daemonRetentionOptions,
  type DaemonOptions,
} from './commands/daemon.js';
import { RetentionControllerOptions } from '@backrest-sidecar/controller-retention';
import { parseCommand } from './parse-command.spec-support.js';

/** Every backup-once flag with a value other than its default. */
const EVERY_FLAG = [
  ['--engine', 'restic'],
  ['--rcb-image', 'rcb:test'],
  ['--rcb-env-file', '/etc/test.env'],
  ['--restic-image', 'restic:test'],
  ['--restic-volume', '/srv/repo:/repo:ro'],
  ['--restic-host', 'host-a'],
  ['--tag', 'nightly'],
  ['--backrest-url', 'http://backrest:9898'],
  ['--plan-id-prefix', 'p_'],
  ['--exclude-bind-mounts'],
  ['--backrest-container', 'my-backrest'],
  ['--quiesce-label', 'q=yes'],
  ['--stop-timeout', '30s'],
  ['--no-forget'],
  ['--prune-mode', 'once'],
  ['--forget-runner', 'local'],
  ['--notify-url', 'http://hook/x'],
  ['--progress', 'none'],
  ['--progress-interval', '2s'],
  ['--timeout', '2h'],
  ['--docker-sock', 'unix:///run/test.sock'],
  ['--include-project-name'],
  ['--state-dir', '/var/lib/test-state'],
  ['--selector', 'team=a'],
  ['--trust-image-labels'],
  ['--log-level', 'debug'],
  ['--log-format', 'pretty'],
];

function longNames(cmd: Command): string[] {
  return cmd.options.map((o) => o.long ?? o.flags);
}

describe('backup flags (backup-once and daemon --backup-schedule)', () => {
  it('daemon accepts every backup-once flag', () => {
    const daemon = longNames(daemonCommand());
    for (const flag of longNames(backupOnceCommand())) {
      expect(daemon, `daemon lacks backup-once's ${flag}`).to.include(flag);
    }
  });

  it('the test sets every backup-once flag (a new flag must be added here)', () => {
    expect(longNames(backupOnceCommand()).sort()).to.deep.equal(EVERY_FLAG.map(([f]) => f).sort());
  });

  it('maps every flag into BackupOnceOptions', () => {
    const flags = parseCommand<BackupFlags>(backupOnceCommand(), EVERY_FLAG.flat());
    expect(toBackupOnceOptions(flags, { BACKREST_API_AUTHORIZATION: 'Basic x' })).to.deep.equal({
      engine: 'restic',
      rcbImage: 'rcb:test',
      rcbEnvFile: '/etc/test.env',
      dockerSocket: '/run/test.sock',
      resticImage: 'restic:test',
      resticMounts: [{ type: 'bind', source: '/srv/repo', target: '/repo', readOnly: true }],
      resticHost: 'host-a',
      tags: ['nightly'],
      backrestUrl: 'http://backrest:9898',
      backrestAuthorization: 'Basic x',
      planIdPrefix: 'p_',
      excludeBindMounts: true,
      includeProjectName: true,
      quiesceLabel: 'q=yes',
      backrestContainer: 'my-backrest',
      stopTimeoutSec: 30,
      stateDir: '/var/lib/test-state',
      selector: ['team=a'],
      trustImageLabels: true,
      noForget: true,
      prune: 'once',
      forgetRunner: 'local',
      notifyUrls: ['http://hook/x'],
      progress: 'none',
      progressIntervalMs: 2000,
      timeoutMs: 7_200_000,
    });
  });

  it('daemon --backup-schedule runs the backup backup-once would run with the same flags', () => {
    const argv = EVERY_FLAG.flat();
    const once = toBackupOnceOptions(parseCommand<BackupFlags>(backupOnceCommand(), argv), {});
    const opts = parseCommand<DaemonOptions>(daemonCommand(), [
      ...argv,
      '--backup-schedule',
      '0 3 * * *',
    ]);
    const saved = process.env.BACKREST_API_AUTHORIZATION;
    delete process.env.BACKREST_API_AUTHORIZATION;
    const container = new Container();
    try {
      container.bind(ContainerActions).toConstantValue({});
      container.bind(DockerClient).toConstantValue({});
      container.load(...daemonModules(opts), backupControllerModule());
    } finally {
      if (saved !== undefined) process.env.BACKREST_API_AUTHORIZATION = saved;
    }
    expect(container.getAll<LifecycleHook>(LifecycleHook).map((h) => h.name)).to.deep.equal([
      'quiesce-journal-repair',
      'backup',
    ]);
    expect(container.get<BackupControllerOptions>(BackupControllerOptions)).to.deep.equal({
      schedule: '0 3 * * *',
      backup: once,
      resyncPeriodMs: 60_000,
    });
  });

  it('daemon --dry-run runs no scheduled backup and loads no retention (it would forget)', () => {
    const opts = parseCommand<DaemonOptions>(daemonCommand(), [
      '--dry-run',
      '--backup-schedule',
      '0 3 * * *',
    ]);
    expect(daemonRetentionOptions(opts, toBackupOnceOptions(opts, {}))).to.equal(undefined);
    const container = new Container();
    container.bind(ContainerActions).toConstantValue({});
    container.bind(DockerClient).toConstantValue({});
    container.load(...daemonModules(opts), backupControllerModule());
    expect(container.get<BackupControllerOptions>(BackupControllerOptions).schedule).to.equal(
      undefined,
    );
    expect(container.isBound(RetentionControllerOptions)).to.equal(false);
    // Without --dry-run the same flags schedule backups and load retention.
    const live = parseCommand<DaemonOptions>(daemonCommand(), ['--backup-schedule', '0 3 * * *']);
    expect(daemonRetentionOptions(live, toBackupOnceOptions(live, {}))).to.not.equal(undefined);
  });

  it('daemon without --backup-schedule still keeps workload status, with no schedule to run', () => {
    const container = new Container();
    container.bind(ContainerActions).toConstantValue({});
    container.bind(DockerClient).toConstantValue({});
    container.load(
      ...daemonModules(parseCommand<DaemonOptions>(daemonCommand(), [])),
      backupControllerModule(),
    );
    expect(container.getAll<LifecycleHook>(LifecycleHook).map((h) => h.name)).to.deep.equal([
      'quiesce-journal-repair',
      'backup',
    ]);
    expect(container.get<BackupControllerOptions>(BackupControllerOptions).schedule).to.equal(
      undefined,
    );
  });
});
