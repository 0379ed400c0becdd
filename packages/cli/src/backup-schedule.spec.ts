import { expect } from 'chai';
import { BackupSchedulerOptions } from '@backrest-sidecar/controller-backup';
import { ContainerActions } from '@dockop/docker';
import { LifecycleHook } from '@dockop/runtime';
import { Container } from 'inversify';
import { backupSchedulerModule } from './backup-schedule.js';
import { addReconcileOptions, resolveSettings, type RawOptions } from './options.js';
import { Command } from 'commander';

describe('daemon --backup-schedule wiring', () => {
  it('binds the backup scheduler as a LifecycleHook with the daemon naming flags', () => {
    const cmd = addReconcileOptions(new Command('daemon')).exitOverride();
    cmd.parse(['--include-project-name', '--plan-id-prefix', 'x_', '--exclude-bind-mounts'], {
      from: 'user',
    });
    const settings = resolveSettings(cmd.opts<RawOptions>(), {});
    const container = new Container();
    container.bind(ContainerActions).toConstantValue({});
    container.load(backupSchedulerModule(settings, '0 3 * * *', { rcbEnvFile: '/etc/rcb.env' }));
    const hooks = container.getAll<LifecycleHook>(LifecycleHook);
    expect(hooks.map((h) => h.name)).to.deep.equal(['backup-scheduler']);
    expect(container.get<BackupSchedulerOptions>(BackupSchedulerOptions)).to.deep.equal({
      schedule: '0 3 * * *',
      backup: {
        planIdPrefix: 'x_',
        excludeBindMounts: true,
        includeProjectName: true,
        dockerSocket: '/var/run/docker.sock',
        rcbEnvFile: '/etc/rcb.env',
      },
    });
  });
});
