import { expect } from 'chai';
import type { Command } from 'commander';
import { buildProgram, commandOf, commandPath } from './program.js';

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

  it('builds only the command a command line runs, when that is enough (commandOf)', () => {
    expect(commandOf([])).to.equal('reconcile');
    expect(commandOf(['--dry-run', '--config', 'x.json'])).to.equal('reconcile');
    expect(commandOf(['reconcile', '--dry-run'])).to.equal('reconcile');
    expect(commandOf(['get', 'plans', '-o', 'json'])).to.equal('get');
    expect(commandOf(['backup-once'])).to.equal('backup-once');
    for (const args of [
      ['--help'],
      ['get', 'plans', '-h'],
      ['reconcile', '--help=x'],
      ['-V'],
      ['--version'],
      ['help', 'get'],
      ['deamon'],
      ['completion', 'bash'],
      ['--', 'daemon'],
      ['-hV'],
      ['plans'],
    ]) {
      expect(commandOf(args), args.join(' ')).to.equal(undefined);
    }
    expect(buildProgram(['get', 'plans']).commands.map((c) => c.name())).to.deep.equal(['get']);
    expect(buildProgram(['--dry-run']).commands.map((c) => c.name())).to.deep.equal(['reconcile']);
    expect(buildProgram(['deamon']).commands).to.have.length(13);
    expect(buildProgram([]).commands.map((c) => c.name())).to.deep.equal(['reconcile']);
  });

  it('parses and reports every command line as the whole program does', async () => {
    /** What a program does with `args`: output, exit code, and the action it would run. */
    const outcome = async (program: Command, args: string[]): Promise<string> => {
      let out = '';
      const write = { out: process.stdout.write, err: process.stderr.write };
      const capture = (chunk: string | Uint8Array): boolean => {
        out += String(chunk).replace(/"time":"[^"]*"/g, '');
        return true;
      };
      process.stdout.write = capture as typeof process.stdout.write;
      process.stderr.write = capture as typeof process.stderr.write;
      let code = 0;
      try {
        await program
          .hook('preAction', (_p, action) => {
            out += `RUN ${commandPath(action)} ${JSON.stringify([action.opts(), action.args])}\n`;
            throw new Error('not run');
          })
          .parseAsync(args, { from: 'user' });
      } catch (err) {
        const e = err as { exitCode?: number; message: string };
        code = e.exitCode ?? 1;
        if (e.message !== 'not run') out += `THROWN ${e.message}\n`;
      } finally {
        process.stdout.write = write.out;
        process.stderr.write = write.err;
      }
      return `${out}exit ${code}`;
    };
    const lines = [
      [],
      ['--dry-run', '--config', '/tmp/x.json', '--selector', 'a=b'],
      ['--dry-run', '--no-such-flag'],
      ['--config', 'daemon'],
      ['reconcile', '--dry-run', '--plan-id-prefix', 'p_'],
      ['reconcile', '--bogus'],
      ['reconcile', 'extra'],
      ['daemon', '--interval', 'nope'],
      ['daemon', '--with-events', '--interval', '30s', '--http-addr', ':9090'],
      ['get'],
      ['get', 'plnas'],
      ['get', 'plans', '-o', 'json'],
      ['get', 'workload', '--bogus'],
      ['describe'],
      ['describe', 'plan', 'x'],
      ['backup-once', '--prune-mode', 'sometimes'],
      ['forget', '--dry-run'],
      ['snapshots', '-o', 'json'],
      ['restore'],
      ['verify', '--read-data-parts', 'x'],
      ['version', '-o', 'yaml'],
      ['version', '-o', 'json'],
      ['healthcheck', '--bogus'],
      ['run', '--plugin', './p.js'],
    ];
    for (const args of lines) {
      const only = await outcome(buildProgram(args), args);
      expect(only, args.join(' ')).to.equal(await outcome(buildProgram(), args));
    }
  });
});
