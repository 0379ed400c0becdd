import { expect } from 'chai';
import { Command } from 'commander';
import {
  addReconcileOptions,
  parseDuration,
  resolveSettings,
  UsageError,
  type RawOptions,
} from './options.js';

/** Parses argv with the real option definitions, with `env` as the process environment. */
function parse(argv: string[], env: Record<string, string> = {}): RawOptions {
  const saved = { ...process.env };
  for (const k of [
    'DOCKER_HOST',
    'BACKREST_VOLUME_PREFIX',
    'BACKREST_DEFAULT_RETENTION',
    'BACKREST_PLAN_ID_PREFIX',
    'BACKREST_INSTANCE',
  ]) {
    delete process.env[k];
  }
  Object.assign(process.env, env);
  try {
    const cmd = addReconcileOptions(new Command('reconcile'))
      .exitOverride()
      .configureOutput({ writeErr: () => undefined });
    cmd.parse(argv, { from: 'user' });
    return cmd.opts<RawOptions>();
  } finally {
    process.env = saved;
  }
}

describe('CLI options', () => {
  it('has the seed defaults', () => {
    const s = resolveSettings(parse([]), {});
    expect(s).to.deep.include({
      configPath: '/etc/backrest/config.json',
      configFormat: 'auto',
      writeMode: 'atomic',
      apply: 'none',
      applyCooldownMs: 10_000,
      applyStableMs: 5_000,
      backrestContainer: 'backrest',
      dockerRoot: '/var/lib/docker',
      volumePrefix: '/var/lib/docker/volumes',
      defaultRepo: 'default',
      defaultSchedule: '0 2 * * *',
      defaultRetention: 'daily=7,weekly=4',
      planIdPrefix: 'backrest_sidecar_',
      excludeBindMounts: false,
      includeProjectName: false,
      dryRun: false,
      prune: false,
      trustImageLabels: false,
      logLevel: 'info',
      logFormat: 'auto',
    });
    expect(s.docker).to.deep.equal({ socketPath: '/var/run/docker.sock' });
  });

  it('derives the volume prefix from --docker-root unless --volume-prefix is given', () => {
    expect(resolveSettings(parse(['--docker-root', '/srv/docker/']), {}).volumePrefix).to.equal(
      '/srv/docker/volumes',
    );
    expect(
      resolveSettings(parse(['--docker-root', '/srv/docker', '--volume-prefix', '/dv']), {})
        .volumePrefix,
    ).to.equal('/dv');
  });

  it('falls back to the environment, and a flag beats the environment', () => {
    const env = {
      BACKREST_VOLUME_PREFIX: '/docker_volumes',
      BACKREST_DEFAULT_RETENTION: 'last=3',
      BACKREST_PLAN_ID_PREFIX: 'env_',
      DOCKER_HOST: 'tcp://10.0.0.1:2375',
    };
    const fromEnv = resolveSettings(parse([], env), { DOCKER_API_VERSION: 'v1.41' });
    expect(fromEnv.volumePrefix).to.equal('/docker_volumes');
    expect(fromEnv.defaultRetention).to.equal('last=3');
    expect(fromEnv.planIdPrefix).to.equal('env_');
    expect(fromEnv.docker).to.deep.equal({ host: 'tcp://10.0.0.1:2375', apiVersion: '1.41' });
    const flags = resolveSettings(
      parse(
        [
          '--volume-prefix',
          '/x',
          '--default-retention',
          'daily=1',
          '--plan-id-prefix',
          'cli_',
          '--docker-sock',
          '/run/d.sock',
        ],
        env,
      ),
      {},
    );
    expect([
      flags.volumePrefix,
      flags.defaultRetention,
      flags.planIdPrefix,
      flags.docker.socketPath,
    ]).to.deep.equal(['/x', 'daily=1', 'cli_', '/run/d.sock']);
    expect(
      resolveSettings(parse([], { DOCKER_HOST: 'unix:///run/docker.sock' }), {}).docker,
    ).to.deep.equal({
      socketPath: '/run/docker.sock',
    });
  });

  it('BACKREST_CONFIG overrides --config (the seed says so)', () => {
    expect(
      resolveSettings(parse(['--config', '/a.json']), { BACKREST_CONFIG: '/b.json' }).configPath,
    ).to.equal('/b.json');
    expect(resolveSettings(parse(['--config', '/a.json']), {}).configPath).to.equal('/a.json');
  });

  it('picks the apply strategy', () => {
    expect(resolveSettings(parse(['--apply']), {}).apply).to.equal('restart');
    expect(resolveSettings(parse(['--reload-cmd', 'kill -HUP 1']), {}).apply).to.equal('command');
    expect(
      resolveSettings(parse(['--apply-mode', 'api', '--backrest-url', 'http://b:9898']), {}).apply,
    ).to.equal('api');
    expect(() => resolveSettings(parse(['--apply-mode', 'api']), {})).to.throw(
      UsageError,
      /--backrest-url/,
    );
    expect(() => resolveSettings(parse(['--apply-mode', 'command']), {})).to.throw(
      UsageError,
      /--reload-cmd/,
    );
  });

  it('takes --backrest-instance / BACKREST_INSTANCE and refuses an id Backrest would not', () => {
    expect(resolveSettings(parse([]), {}).backrestInstance).to.equal(undefined);
    expect(resolveSettings(parse(['--backrest-instance', 'nas-01']), {}).backrestInstance).to.equal(
      'nas-01',
    );
    for (const bad of ['', 'a b', '_x_', 'y'.repeat(51)]) {
      expect(() => resolveSettings(parse(['--backrest-instance', bad]), {}), bad).to.throw(
        UsageError,
        /--backrest-instance/,
      );
    }
  });

  it('refuses bad values with a message naming the flag', () => {
    expect(() => resolveSettings(parse(['--plan-id-prefix', 'a b']), {})).to.throw(
      UsageError,
      /--plan-id-prefix .*"a b"/,
    );
    expect(() => resolveSettings(parse(['--plan-id-prefix', '']), {})).to.throw(
      UsageError,
      /--plan-id-prefix .*empty/,
    );
    expect(() => resolveSettings(parse(['--docker-root', 'relative']), {})).to.throw(
      /--docker-root/,
    );
    expect(() => resolveSettings(parse(['--default-schedule', '0 0 1 * ?']), {})).to.throw(
      UsageError,
      /--default-schedule "0 0 1 \* \?": day-of-week field "\?"/,
    );
    expect(() => resolveSettings(parse(['--default-schedule', '61 * * * *']), {})).to.throw(
      UsageError,
      /--default-schedule "61 \* \* \* \*": minute field "61": 61 is out of range 0-59/,
    );
    // Descriptors are translated where the schedule is used (with a note), not refused.
    expect(resolveSettings(parse(['--default-schedule', '@daily']), {}).defaultSchedule).to.equal(
      '@daily',
    );
    expect(() => parse(['--config-format', 'yaml'])).to.throw(/yaml/);
    expect(() => parse(['--apply-cooldown', 'soon'])).to.throw(/not a duration/);
  });

  it('collects repeated --plugin flags and parses durations', () => {
    expect(
      resolveSettings(parse(['--plugin', './a.js', '--plugin', 'pkg']), {}).plugins,
    ).to.deep.equal(['./a.js', 'pkg']);
    expect(
      resolveSettings(parse(['--selector', 'a=b', '--selector', 'c=d=e']), {}).selector,
    ).to.deep.equal({
      a: 'b',
      c: 'd=e',
    });
    expect(() => resolveSettings(parse(['--selector', 'novalue']), {})).to.throw(
      /--selector "novalue"/,
    );
    expect(parse(['--apply-cooldown', '30s']).applyCooldown).to.equal(30_000);
    expect([
      parseDuration('500ms'),
      parseDuration('2m'),
      parseDuration('1h'),
      parseDuration('5'),
    ]).to.deep.equal([500, 120_000, 3_600_000, 5_000]);
  });
});
