import { expect } from 'chai';
import type { Command } from 'commander';
import { buildProgram } from './program.js';

function quiet(program: Command): Command {
  const silence = (c: Command): void => {
    c.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    c.commands.forEach(silence);
  };
  silence(program);
  return program;
}

describe('backrest-sidecar program', () => {
  it('registers every command, reconcile being the default', () => {
    const program = buildProgram();
    expect(program.commands.map((c) => c.name())).to.deep.equal([
      'reconcile',
      'daemon',
      'get',
      'describe',
      'backup-once',
      'forget',
      'snapshots',
      'restore',
      'verify',
      'version',
      'healthcheck',
      'run',
      'completion',
    ]);
    expect((program as unknown as { _defaultCommandName: string })._defaultCommandName).to.equal(
      'reconcile',
    );
  });

  it('documents env vars, exit codes and examples in --help', () => {
    const program = buildProgram();
    let text = '';
    program.configureOutput({ writeOut: (s) => (text += s) });
    program.outputHelp();
    expect(text).to.include('reconcile');
    for (const needle of ['BACKREST_CONFIG', 'BACKREST_PLAN_ID_PREFIX', 'Exit codes', 'Examples']) {
      expect(text).to.include(needle);
    }
  });

  it('rejects an unknown flag with a commander error (exit code 1)', async () => {
    let code: number | undefined;
    try {
      await quiet(buildProgram()).parseAsync(['node', 'x', 'reconcile', '--no-such-flag']);
    } catch (err) {
      code = (err as { exitCode?: number }).exitCode;
    }
    expect(code).to.equal(1);
  });

  it('every reconcile flag of the seed exists on reconcile and daemon', () => {
    const program = buildProgram();
    const seed = [
      '--config',
      '--apply',
      '--backrest-container',
      '--docker-sock',
      '--docker-root',
      '--volume-prefix',
      '--default-repo',
      '--default-schedule',
      '--default-retention',
      '--plan-id-prefix',
      '--exclude-bind-mounts',
      '--include-project-name',
      '--dry-run',
    ];
    for (const name of ['reconcile', 'daemon']) {
      const cmd = program.commands.find((c) => c.name() === name)!;
      const flags = cmd.options.map((o) => o.long);
      for (const f of seed) expect(flags, `${name} ${f}`).to.include(f);
    }
    const daemon = program.commands.find((c) => c.name() === 'daemon')!.options.map((o) => o.long);
    for (const f of [
      '--interval',
      '--with-events',
      '--orphan-grace',
      '--backup-schedule',
      '--http-addr',
      '--leader-lock',
    ]) {
      expect(daemon).to.include(f);
    }
  });
});
