// The start-up path users run: packages/cli/bin runs the bundle (packages/cli/scripts/bundle.mjs).
// Checks what it loads (nothing from node_modules on a normal run; ssh2 only for ssh://), that
// the schemas are precompiled, and the build stamp of `version`.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_BIN, parseJsonLines } from './support/plan-cli.js';
import { requireEngine, runId } from './support/engine.js';

const BUNDLE = fileURLToPath(
  new URL('../../packages/cli/dist/backrest-sidecar.bundle.cjs', import.meta.url),
);
const DIST = path.dirname(BUNDLE);
const { BUNDLE_PREFIX } = createRequire(import.meta.url)(path.join(DIST, 'compile-cache.cjs')) as {
  BUNDLE_PREFIX: string;
};
const CLI_PACKAGE = fileURLToPath(new URL('../../packages/cli/package.json', import.meta.url));

/**
 * Prints, at exit, every CommonJS module Node loaded from disk (the bundle's runtime requires)
 * and every Node built-in module it loaded, and how often the bundle called url.pathToFileURL.
 */
const MODULE_PROBE = `import { createRequire } from 'node:module';
import url from 'node:url';
const cache = createRequire(import.meta.url).cache;
const pathToFileURL = url.pathToFileURL;
let urls = 0;
url.pathToFileURL = function () {
  urls++;
  return pathToFileURL.apply(this, arguments);
};
process.on('exit', () => {
  process.stderr.write('PATH_TO_FILE_URL ' + urls + '\\n');
  const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
  process.stderr.write('LOADED ' + JSON.stringify(Object.keys(cache)) + '\\n');
  process.stderr.write('BUILTINS ' + JSON.stringify(builtins) + '\\n');
});
`;

/**
 * Prints, at exit, the Node built-in modules loaded after the loader first set a V8 flag
 * (compile-cache.cts: Node's code cache of its built-ins is not taken under changed flags).
 */
const FLAGS_PROBE = `import v8 from 'node:v8';
const setFlagsFromString = v8.setFlagsFromString;
let at;
v8.setFlagsFromString = function (flag) {
  at ??= process.moduleLoadList.length;
  return setFlagsFromString.call(this, flag);
};
process.on('exit', () => {
  const after = at === undefined ? null : process.moduleLoadList.slice(at);
  const builtins = after && after.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
  process.stderr.write('AFTER_FLAGS ' + JSON.stringify(builtins) + '\\n');
});
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  loaded: string[];
  builtins: string[];
}

function run(args: string[], env: Record<string, string> = {}, probe?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...(probe ? ['--import', probe] : []), CLI_BIN, ...args],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const listed = (tag: string): string[] => {
        const line = stderr.split('\n').find((l) => l.startsWith(`${tag} `));
        return line ? (JSON.parse(line.slice(tag.length + 1)) as string[]) : [];
      };
      resolve({ code, stdout, stderr, loaded: listed('LOADED'), builtins: listed('BUILTINS') });
    });
  });
}

describe('backrest-sidecar start-up path (bundle)', function () {
  this.timeout(60_000);
  let dir = '';
  let probe = '';

  before(async () => {
    if (!existsSync(BUNDLE)) {
      throw new Error(`${BUNDLE} is missing: \`npm install\` (esbuild), then \`npm run build\``);
    }
    dir = await mkdtemp(path.join(tmpdir(), 'cli-startup-'));
    probe = path.join(dir, 'probe.mjs');
    await writeFile(probe, MODULE_PROBE);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('`version` prints the version, commit and build date stamped into the bundle', async () => {
    const pkg = JSON.parse(await readFile(CLI_PACKAGE, 'utf8')) as { version: string };
    const r = await run(['version', '-o', 'json']);
    expect(r.code, r.stderr).to.equal(0);
    const info = JSON.parse(r.stdout) as { version: string; commit: string; date: string };
    expect(info.version).to.equal(pkg.version);
    expect(info.commit).to.match(/^([0-9a-f]{7,40}|unknown)$/);
    const built = Date.parse(info.date);
    const bundled = (await stat(BUNDLE)).mtimeMs;
    // Stamped while the bundle was written (SOURCE_DATE_EPOCH unset in tests).
    expect(Math.abs(built - bundled)).to.be.below(120_000);
    const text = await run(['version']);
    expect(text.stdout).to.equal(
      `backrest-sidecar ${info.version}\ncommit: ${info.commit}\nbuilt: ${info.date}\n`,
    );
  });

  it("the bundle is the loader's function wrapper around strict code, the directive first in its body", async () => {
    // A banner line before esbuild's own "use strict" made that an expression statement, and the
    // whole bundle ran sloppy: an assignment to a getter-only property did nothing instead of
    // throwing (docker-modem's https wrapper over the lazy built-in was silently lost).
    const source = await readFile(BUNDLE, 'latin1');
    // Written wrapped, so the loader compiles the text as read (no second copy of it to build).
    expect(source.startsWith(BUNDLE_PREFIX), source.slice(0, 120)).to.equal(true);
    expect(source.slice(BUNDLE_PREFIX.length, BUNDLE_PREFIX.length + 40)).to.match(
      /^ (['"])use strict\1;/,
    );
    expect(source).to.match(/\n\}\)\n\/\/# sourceMappingURL=[\w.-]+\n?$/);
  });

  it('loads the built-ins its start needs before it sets V8 flags (BUNDLE_BUILTINS, compile-cache.cts)', async () => {
    const flagsProbe = path.join(dir, 'flags-probe.mjs');
    await writeFile(flagsProbe, FLAGS_PROBE);
    // `version` through the program: the bundle's whole start, and little else.
    const r = await run(['version'], { BACKREST_SIDECAR_STATIC_ANSWERS: '0' }, flagsProbe);
    expect(r.code, r.stderr).to.equal(0);
    const line = r.stderr.split('\n').find((l) => l.startsWith('AFTER_FLAGS '));
    const after = JSON.parse(line?.slice('AFTER_FLAGS '.length) ?? 'null') as string[] | null;
    expect(after, 'a one-shot command sets V8 flags').to.not.equal(null);
    // One loaded later compiles without Node's code cache: add it to BUNDLE_BUILTINS.
    expect(after, 'built-ins first loaded after the flags').to.deep.equal([]);
  });

  it("keeps V8's code cache per command and runs from it (compile-cache.cts)", async () => {
    const cacheDir = path.join(dir, 'code-cache');
    // `version` through the program, not its stored answer (static-answers.cts).
    const env = { NODE_COMPILE_CACHE: cacheDir, BACKREST_SIDECAR_STATIC_ANSWERS: '0' };
    const first = await run(['version'], env);
    expect(first.code, first.stderr).to.equal(0);
    const root = path.join(cacheDir, 'backrest-sidecar');
    const builds = await readdir(root);
    expect(builds).to.have.length(1);
    const cache = path.join(root, builds[0]!, 'version.v8');
    const written = (await stat(cache)).mtimeMs;
    const second = await run(['version'], env);
    expect(second.stdout).to.equal(first.stdout);
    expect((await stat(cache)).mtimeMs, 'an accepted cache is not rewritten').to.equal(written);
    // --help runs no command: it borrows reconcile's cache when there is one, and writes none.
    const help = await run(['--help'], env);
    expect(help.code).to.equal(0);
    expect(await readdir(path.join(root, builds[0]!))).to.deep.equal(['version.v8']);
  });

  it('every stored answer (help, version, completion) is what the program prints (static-answers.cts)', async function () {
    this.timeout(180_000);
    const stored = JSON.parse(await readFile(path.join(DIST, 'static-answers.json'), 'utf8')) as {
      texts: string[];
      answers: Record<string, number>;
    };
    const lines = Object.keys(stored.answers);
    expect(lines).to.include.members(['--help', 'version', 'get plans --help', 'completion bash']);
    const program = { BACKREST_SIDECAR_STATIC_ANSWERS: '0' };
    // Two at a time: 72 command lines through the whole program.
    for (let i = 0; i < lines.length; i += 2) {
      await Promise.all(
        lines.slice(i, i + 2).map(async (line) => {
          const argv = line.split(' ');
          const [fast, slow] = await Promise.all([run(argv), run(argv, program)]);
          expect(slow.code, `${line}: ${slow.stderr}`).to.equal(0);
          expect(fast.code, line).to.equal(0);
          expect(fast.stdout, line).to.equal(slow.stdout);
          expect(fast.stdout, line).to.equal(stored.texts[stored.answers[line]!]);
          expect(fast.stderr, line).to.equal('');
        }),
      );
    }
  });

  it('a stored answer loads neither the bundle nor the code cache', async () => {
    const help = await run(['--help'], {}, probe);
    expect(help.code, help.stderr).to.equal(0);
    expect(help.stdout).to.match(/^Usage: backrest-sidecar /);
    expect(help.loaded.filter((f) => f.includes('compile-cache'))).to.deep.equal([]);
    expect(help.loaded.some((f) => f.endsWith('static-answers.cjs'))).to.equal(true);
    // The program itself: a command line with no stored answer loads the code cache's runner.
    const usage = await run(['get', 'nope', '--help'], {}, probe);
    expect(usage.loaded.some((f) => f.endsWith('compile-cache.cjs'))).to.equal(true);
  });

  it('a dry run loads nothing from node_modules and validates with precompiled schemas', async function () {
    await requireEngine(this);
    const id = runId();
    const r = await run(
      [
        'reconcile',
        '--dry-run',
        '--config',
        path.join(dir, 'config.json'),
        '--selector',
        `dockop.test.run=${id}`,
        '--log-level',
        'debug',
      ],
      {},
      probe,
    );
    expect(r.code, r.stderr).to.equal(2);
    // Not ssh2, gRPC, protobufjs, nor a second copy of anything the bundle carries.
    expect(r.loaded.filter((f) => f.includes('node_modules'))).to.deep.equal([]);
    // Nor the built-ins it never calls (the bundle's lazy built-ins; `performance` loads
    // perf_hooks; `debug` without DEBUG loads tty, which stdio pipes do not need).
    for (const unused of [
      'child_process',
      'crypto',
      'https',
      'perf_hooks',
      'readline',
      'tls',
      'tty',
      'zlib',
    ]) {
      expect(r.builtins, unused).to.not.include(unused);
    }
    expect(r.builtins, 'the probe lists built-ins').to.include('http');
    // import.meta.url (the bundle's URL, for ajv's fallback) is computed only when read.
    expect(r.stderr).to.match(/^PATH_TO_FILE_URL 0$/m);
    // Log lines go to stderr (stdout carries the dry-run diff).
    const schemas = parseJsonLines(`${r.stdout}\n${r.stderr}`).filter(
      (l) => l['action'] === 'schema.registered',
    );
    expect(schemas.length).to.be.greaterThan(0);
    for (const s of schemas) expect(s, JSON.stringify(s)).to.include({ precompiled: true });
  });

  it("formats docker-modem's request debug line only when DEBUG enables it (bundle patch)", async function () {
    await requireEngine(this);
    // Counts util.inspect calls with docker-modem's options (showHidden) across the whole run.
    const counter = path.join(dir, 'inspect-probe.mjs');
    await writeFile(
      counter,
      `import util from 'node:util';
const inspect = util.inspect;
let n = 0;
util.inspect = function (value, options) {
  if (options && options.showHidden === true) n++;
  return inspect.apply(this, arguments);
};
process.on('exit', () => process.stderr.write('INSPECTED ' + n + '\\n'));
`,
    );
    const args = [
      'get',
      'plans',
      '--selector',
      `dockop.test.run=${runId()}`,
      '--config',
      path.join(dir, 'none.json'),
    ];
    const quiet = await run(args, { BACKREST_CONFIG: '' }, counter);
    expect(quiet.stderr).to.match(/INSPECTED 0\n/);
    const debug = await run(args, { DEBUG: 'modem' }, counter);
    expect(debug.stderr).to.match(/modem Sending: /);
    expect(debug.stderr).to.not.match(/INSPECTED 0\n/);
  });

  it('an ssh:// DOCKER_HOST loads the ssh transport on demand and still connects through it', async () => {
    const r = await run(
      ['reconcile', '--dry-run', '--config', path.join(dir, 'config.json')],
      // Port 1 refuses at once: the error proves ssh2 dialled.
      { DOCKER_HOST: 'ssh://nobody@127.0.0.1:1' },
      probe,
    );
    expect(r.code).to.equal(1);
    // The user part of the URL is masked like any userinfo (the redactor prefers over-masking).
    expect(r.stdout + r.stderr).to.match(
      /Docker is unreachable at ssh:\/\/\[REDACTED\]@127\.0\.0\.1:1: connect ECONNREFUSED/,
    );
    expect(r.loaded.some((f) => f.includes(`node_modules${path.sep}ssh2${path.sep}`))).to.equal(
      true,
    );
  });
});
