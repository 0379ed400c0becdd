import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { requireEngine, runId } from './support/engine.js';
import { CLI_BIN, isolate, parseJsonLines, runCli, tempConfig } from './support/plan-cli.js';

// The CLI as a person and as a pipe see it: the real binary, piped and on a pseudo-terminal
// (util-linux `script`), checking streams, formats, colours and exit codes.

const ESC = '\x1b[';

interface TtyResult {
  code: number | null;
  /** stdout and stderr, as the terminal shows them (CRLF line ends normalised). */
  out: string;
}

/** Runs the CLI with stdin/stdout/stderr on a pseudo-terminal: `script -qfec <cmd> /dev/null`. */
function runOnTty(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<TtyResult> {
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, CLI_BIN, ...args].map(quote).join(' ');
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out: out.replace(/\r\n/g, '\n') });
    });
  });
}

const NO_COLOR_ENV = { NO_COLOR: undefined, FORCE_COLOR: undefined };

describe('backrest-sidecar output, piped and on a terminal', function () {
  this.timeout(120_000);

  before(async function () {
    const probe = await runOnTty(['--version'], NO_COLOR_ENV).catch(() => undefined);
    if (!probe || probe.code !== 0) this.skip(); // no util-linux script here
  });

  describe('usage errors', () => {
    it('a mistyped command is "unknown command" with a suggestion, exit 1, stdout empty (piped: one JSON line)', async () => {
      const r = await runCli(['deamon'], { env: { NO_COLOR: '', FORCE_COLOR: '' } });
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal('');
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).to.have.length(1);
      const [line] = parseJsonLines(r.stderr);
      expect(line).to.include({ level: 'error', action: 'usage.error' });
      expect(String(line?.error)).to.match(/unknown command 'deamon'.*Did you mean daemon\?/);
    });

    it('the default command does not swallow an unknown word even with flags after it', async () => {
      const r = await runCli(['deamon', '--with-events']);
      expect(r.code).to.equal(1);
      expect(String(parseJsonLines(r.stderr)[0]?.error)).to.match(/unknown command 'deamon'/);
    });

    it('on a terminal: one human-readable, coloured line; NO_COLOR drops the colour', async () => {
      const r = await runOnTty(['deamon'], NO_COLOR_ENV);
      expect(r.code).to.equal(1);
      expect(r.out).to.include(`${ESC}31mERROR`);
      expect(r.out).to.match(
        /usage\.error error="unknown command 'deamon' \(Did you mean daemon\?\)"/,
      );
      expect(r.out.trim().split('\n')).to.have.length(1);
      expect(r.out).to.not.include('{"');

      const plain = await runOnTty(['deamon'], { ...NO_COLOR_ENV, NO_COLOR: '1' });
      expect(plain.code).to.equal(1);
      expect(plain.out).to.not.include(ESC);
      expect(plain.out).to.match(/ERROR usage\.error/);
    });

    it('--log-format json on a terminal is JSON; FORCE_COLOR colours pretty lines in a pipe', async () => {
      const r = await runOnTty(['deamon', '--log-format', 'json'], NO_COLOR_ENV);
      expect(r.code).to.equal(1);
      expect(parseJsonLines(r.out)[0]).to.include({ action: 'usage.error' });

      const forced = await runCli(['deamon', '--log-format', 'pretty'], {
        env: { FORCE_COLOR: '1', NO_COLOR: '' },
      });
      expect(forced.code).to.equal(1);
      expect(forced.stderr).to.include(`${ESC}31mERROR`);
    });

    it("commander's errors (unknown flag, bad choice) use the same format and name --help", async () => {
      const r = await runCli(['get', 'plans', '--apply']);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal('');
      expect(parseJsonLines(r.stderr)[0]).to.include({
        action: 'usage.error',
        error: "unknown option '--apply'",
        hint: "run 'backrest-sidecar get plans --help' for usage",
      });
      const bad = await runCli(['get', 'plans', '-o', 'xml']);
      expect(bad.code).to.equal(1);
      expect(String(parseJsonLines(bad.stderr)[0]?.error)).to.match(
        /Allowed choices are table, wide, name, json, yaml/,
      );
    });

    it('get/describe without a known resource type name the types (exit 1)', async () => {
      const none = await runCli(['get']);
      expect(none.code).to.equal(1);
      expect(none.stdout).to.equal('');
      expect(parseJsonLines(none.stderr)[0]).to.include({
        action: 'usage.error',
        error: 'get needs a resource type: plans, plan, workloads, workload, volumes, volume',
      });
      const typo = await runCli(['describe', 'plnas', 'x']);
      expect(typo.code).to.equal(1);
      expect(String(parseJsonLines(typo.stderr)[0]?.error)).to.match(
        /unknown resource type "plnas" for describe \(known: plan, plans, workload, workloads\)/,
      );
    });

    it('checks --notify-url, durations and the --config directory before touching Docker', async () => {
      // An unreachable socket: an error about it would mean the flags were not checked first.
      const sock = ['--docker-sock', `/tmp/none-${runId()}.sock`];
      const url = await runCli(['backup-once', '--notify-url', 'not a url', ...sock]);
      expect(url.code).to.equal(1);
      expect(String(parseJsonLines(url.stderr)[0]?.error)).to.match(/--notify-url.*not a URL/);

      const dur = await runCli(['daemon', '--interval', '2w', ...sock]);
      expect(dur.code).to.equal(1);
      expect(String(parseJsonLines(dur.stderr)[0]?.error)).to.match(/"2w" is not a duration/);

      const missing = `/tmp/no-such-dir-${runId()}/config.json`;
      const cfg = await runCli(['reconcile', '--config', missing, ...sock]);
      expect(cfg.code).to.equal(1);
      expect(parseJsonLines(cfg.stderr)[0]).to.include({ action: 'usage.error' });
      expect(String(parseJsonLines(cfg.stderr)[0]?.error)).to.include('--create-config');

      // --create-config lets it through to Docker (unreachable here: a different error).
      const create = await runCli(['reconcile', '--create-config', '--config', missing, ...sock]);
      expect(create.code).to.equal(1);
      expect(String(parseJsonLines(create.stderr)[0]?.error)).to.match(/Docker is unreachable/);
    });
  });

  describe('help, version, completion', () => {
    it('--help and --version print on stdout and exit 0', async () => {
      const help = await runCli(['--help']);
      expect(help.code).to.equal(0);
      expect(help.stdout).to.match(/^Usage: backrest-sidecar/);
      expect(help.stderr).to.equal('');
      const get = await runCli(['get', 'plans', '--help']);
      expect(get.code).to.equal(0);
      expect(get.stdout).to.include('--no-headers').and.include('--watch');
      expect(get.stdout).to.not.include('--apply').and.not.include('--write-mode');
    });

    it('completion bash completes commands, aliases and flag choices', async () => {
      const script = await runCli(['completion', 'bash']);
      expect(script.code).to.equal(0);
      const complete = async (line: string[]): Promise<string[]> => {
        const words = line.map((w) => `'${w}'`).join(' ');
        const res = await new Promise<string>((resolve, reject) => {
          const sh = spawn(
            'bash',
            [
              '-c',
              `eval "$(cat)"; COMP_WORDS=(${words}); COMP_CWORD=${line.length - 1}; _backrest_sidecar; printf '%s\\n' "\${COMPREPLY[@]}"`,
            ],
            { stdio: ['pipe', 'pipe', 'inherit'] },
          );
          let out = '';
          sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
          sh.on('error', reject);
          sh.on('close', () => resolve(out));
          sh.stdin.end(script.stdout);
        });
        return res.split('\n').filter(Boolean);
      };
      expect(await complete(['backrest-sidecar', 'd'])).to.have.members(['daemon', 'describe']);
      expect(await complete(['backrest-sidecar', 'get', 'pl'])).to.have.members(['plans', 'plan']);
      expect(await complete(['backrest-sidecar', 'get', 'plans', '-o', ''])).to.have.members([
        'table',
        'wide',
        'name',
        'json',
        'yaml',
      ]);
      expect(await complete(['backrest-sidecar', 'daemon', '--with-'])).to.deep.equal([
        '--with-events',
      ]);
      for (const shell of ['zsh', 'fish']) {
        const r = await runCli(['completion', shell]);
        expect(r.code, shell).to.equal(0);
        expect(r.stdout, shell).to.include('backrest-sidecar');
      }
      const fish = await runCli(['completion', 'fish']);
      expect(fish.stdout).to.include('-l with-events');
    });
  });

  describe('a dry run (real engine)', () => {
    const dirs: string[] = [];
    after(async () => {
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    });

    it('piped: JSON logs on stderr without framework lifecycle lines, the diff alone on stdout', async function () {
      await requireEngine(this);
      const c = await tempConfig();
      dirs.push(c.dir);
      const run = runId();
      const r = await runCli(['--dry-run', '--config', c.path, ...isolate(run)]);
      expect(r.code, r.stderr).to.equal(2);
      const actions = r.logs.map((l) => l.action);
      expect(actions).to.include('dry-run.complete');
      for (const lifecycle of [
        'source.starting',
        'source.synced',
        'manager.stopping',
        'manager.stopped',
      ]) {
        expect(actions, lifecycle).to.not.include(lifecycle);
      }
      expect(
        r.stderr
          .trim()
          .split('\n')
          .every((l) => l.startsWith('{')),
      ).to.equal(true);
      expect(r.stdout).to.not.include('"action"');

      const debug = await runCli([
        '--dry-run',
        '--config',
        c.path,
        ...isolate(run),
        '--log-level',
        'debug',
      ]);
      expect(debug.logs.map((l) => l.action)).to.include('manager.stopped');
    });

    it('on a terminal: human-readable lines, coloured levels', async function () {
      await requireEngine(this);
      const c = await tempConfig();
      dirs.push(c.dir);
      const r = await runOnTty(
        ['--dry-run', '--config', c.path, ...isolate(runId())],
        NO_COLOR_ENV,
      );
      expect(r.code, r.out).to.equal(2);
      expect(r.out).to.include(`${ESC}36mINFO ${ESC}0m dry-run.complete `);
      expect(r.out).to.match(/^\d\d:\d\d:\d\d\.\d{3} /m);
      expect(r.out).to.not.include('{"time"');
    });
  });
});
