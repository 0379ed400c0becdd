import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LOADER = fileURLToPath(new URL('./compile-cache.cjs', import.meta.url));
const { BUNDLE_PREFIX, BUNDLE_SUFFIX } = createRequire(import.meta.url)(LOADER) as {
  BUNDLE_PREFIX: string;
  BUNDLE_SUFFIX: string;
};

/**
 * A stand-in bundle: CommonJS like the real one, reports its command the way main.ts does
 * (compile-cache-command.ts; cli-startup.spec checks the real bundle's), and
 * imports an ES module the way the bundler makes `--plugin` do it (`__dockopImport`).
 */
const BUNDLE = `
const command = process.argv[2];
if (command !== '--help') globalThis[Symbol.for('backrest-sidecar.compile-cache.command')] = command;
__dockopImport(require('node:url').pathToFileURL(require('node:path').join(__dirname, 'plugin.mjs')).href)
  .then((m) => process.stdout.write('ran ' + command + ' ' + m.answer + ' ' + __filename + '\\n'));
`;

describe('compile cache of the bundle (compile-cache.cts)', function () {
  this.timeout(20_000);
  let dir = '';
  let bundle = '';
  let cacheRoot = '';

  function run(
    command: string,
    env: Record<string, string> = {},
    nodeFlags: string[] = [],
  ): string {
    const r = spawnSync(
      process.execPath,
      [
        ...nodeFlags,
        '-e',
        `require(${JSON.stringify(LOADER)}).runBundle(process.argv[1])`,
        bundle,
        command,
      ],
      { encoding: 'utf8', env: { ...process.env, NODE_COMPILE_CACHE: dir, ...env } },
    );
    expect(r.status, r.stderr).to.equal(0);
    return r.stdout;
  }

  /** The cache files, as `<build dir>/<file>`. */
  function cacheFiles(): string[] {
    if (!existsSync(cacheRoot)) return [];
    return readdirSync(cacheRoot).flatMap((d) =>
      readdirSync(path.join(cacheRoot, d)).map((f) => `${d}/${f}`),
    );
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'compile-cache-'));
    bundle = path.join(dir, 'app.bundle.cjs');
    cacheRoot = path.join(dir, 'backrest-sidecar');
    writeFileSync(bundle, BUNDLE);
    writeFileSync(path.join(dir, 'plugin.mjs'), 'export const answer = 42;\n');
  });
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs the bundle as CommonJS that can import ES modules, and keeps a cache per command', () => {
    expect(run('reconcile')).to.equal(`ran reconcile 42 ${bundle}\n`);
    expect(run('version')).to.equal(`ran version 42 ${bundle}\n`);
    const files = cacheFiles();
    expect(files.map((f) => path.basename(f)).sort()).to.deep.equal(['reconcile.v8', 'version.v8']);
    const [build] = readdirSync(cacheRoot);
    expect(statSync(path.join(cacheRoot, build!)).mode & 0o777).to.equal(0o700);
    expect(statSync(path.join(cacheRoot, files[0]!)).mode & 0o777).to.equal(0o600);
  });

  it('runs a bundle written inside its function wrapper (as the bundler writes it) as it is', () => {
    // Wrapped again, the bundle would be a function expression nobody calls: nothing would run.
    writeFileSync(
      bundle,
      `${BUNDLE_PREFIX} ${BUNDLE}${BUNDLE_SUFFIX}\n//# sourceMappingURL=x.map\n`,
    );
    expect(run('reconcile')).to.equal(`ran reconcile 42 ${bundle}\n`);
    expect(run('reconcile'), 'and from its cache').to.equal(`ran reconcile 42 ${bundle}\n`);
  });

  it("reads the cache into the bundle's own bytes when it fits, and V8 takes it", () => {
    // Larger than its cache: the loader reads the cache into the bytes it read the bundle into.
    writeFileSync(bundle, `${BUNDLE}//${'x'.repeat(200_000)}\n`);
    run('reconcile');
    const [file] = cacheFiles();
    const cache = path.join(cacheRoot, file!);
    expect(statSync(cache).size).to.be.below(statSync(bundle).size);
    const written = statSync(cache).mtimeMs;
    expect(run('reconcile')).to.equal(`ran reconcile 42 ${bundle}\n`);
    expect(statSync(cache).mtimeMs, 'accepted: not rewritten').to.equal(written);
  });

  it('uses an accepted cache as it is, and replaces one V8 rejects', () => {
    run('reconcile');
    const [file] = cacheFiles();
    const cache = path.join(cacheRoot, file!);
    const written = statSync(cache);
    run('reconcile');
    expect(statSync(cache).mtimeMs, 'an accepted cache is not rewritten').to.equal(written.mtimeMs);
    writeFileSync(cache, 'not a code cache');
    expect(run('reconcile')).to.match(/^ran reconcile 42/);
    expect(statSync(cache).size, 'the rejected cache was replaced').to.be.above(1000);
  });

  it('writes nothing for a run that reported no command (--help), nor when disabled', () => {
    run('--help');
    run('reconcile', { NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(cacheFiles()).to.deep.equal([]);
  });

  it('never reads or writes a cache directory others can write to', () => {
    mkdirSync(cacheRoot, { mode: 0o700 });
    chmodSync(cacheRoot, 0o777);
    run('reconcile');
    expect(cacheFiles()).to.deep.equal([]);
  });

  it('keeps one cache per set of Node flags: V8 rejects a cache made under other flags', () => {
    const flagged = ['--max-semi-space-size=8'];
    run('reconcile');
    run('reconcile', {}, flagged);
    const files = cacheFiles();
    expect(files, 'one build directory per set of flags').to.have.length(2);
    const mtimes = () => files.map((f) => statSync(path.join(cacheRoot, f)).mtimeMs);
    const written = mtimes();
    // Alternating: each run finds the cache its own flags made, accepted, so nothing is rewritten.
    run('reconcile');
    run('reconcile', {}, flagged);
    run('reconcile', { NODE_OPTIONS: '--max-semi-space-size=8' });
    expect(mtimes()).to.deep.equal(written);
    expect(cacheFiles(), 'NODE_OPTIONS flags are flags too').to.have.length(3);
  });

  it('sets V8 flags for one-shot commands and the daemon (unless the operator sized the heap), a tier-up budget only on V8 11 (Node 20)', () => {
    const { v8FlagsFor } = createRequire(import.meta.url)(LOADER) as {
      v8FlagsFor(command: string, v8Version?: string, nodeFlags?: string[]): readonly string[];
    };
    expect(v8FlagsFor('reconcile', '11.3.244.8-node.30')).to.deep.equal([
      '--no-incremental-marking',
      '--semi-space-growth-factor=8',
      '--interrupt-budget=1081344',
    ]);
    expect(v8FlagsFor('get', '13.6.233.17-node.37')).to.deep.equal([
      '--no-incremental-marking',
      '--semi-space-growth-factor=8',
    ]);
    const daemonFlags = ['--semi-space-growth-factor=1', '--optimize-for-size'];
    expect(v8FlagsFor('daemon', '11.3.244.8-node.30', [])).to.deep.equal(daemonFlags);
    expect(v8FlagsFor('daemon', '13.6.233.17-node.37', ['--enable-source-maps'])).to.deep.equal(
      daemonFlags,
    );
    // The operator's heap sizing wins, from the command line or NODE_OPTIONS, in either spelling.
    for (const given of [
      '--max-semi-space-size=16',
      '--min_semi_space_size=8',
      '--semi-space-growth-factor=2',
      '--optimize-for-size',
      '--no-optimize-for-size',
    ]) {
      expect(v8FlagsFor('daemon', '13.6.233.17-node.37', [given]), given).to.deep.equal([]);
    }
    // Not a heap-sizing flag, though it starts alike.
    expect(
      v8FlagsFor('daemon', '13.6.233.17-node.37', ['--max-semi-space-sizes-are-not-a-flag']),
    ).to.deep.equal(daemonFlags);
    expect(v8FlagsFor('run', '13.6.233.17-node.37', [])).to.deep.equal([]);
    // This Node knows the flags it is given (V8 prints "unrecognized flag" on stderr otherwise).
    for (const command of ['reconcile', 'daemon']) {
      const r = spawnSync(
        process.execPath,
        ['-e', `require(${JSON.stringify(LOADER)}).runBundle(process.argv[1])`, bundle, command],
        { encoding: 'utf8', env: { ...process.env, NODE_COMPILE_CACHE: dir } },
      );
      expect(r.stderr, command).to.equal('');
      expect(r.status, command).to.equal(0);
    }
  });

  it('runs one-shot commands without incremental marking; the daemon and `run` keep it', () => {
    // The stand-in churns old space past the point where V8's defaults start incremental marking
    // (the daemon's and run's answers show the churn gets there), and reports whether any GC was
    // an incremental marking step (perf_hooks' gc entries say which kind each GC was). Whether a
    // one-shot's run reaches old space's limit, and so a full GC, varies: not asserted.
    writeFileSync(
      bundle,
      `const { PerformanceObserver, constants } = require('node:perf_hooks');
const kinds = new Set();
const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) kinds.add(e.detail.kind); });
observer.observe({ entryTypes: ['gc'] });
let kept = [];
for (let i = 0; i < 400; i++) { kept.push(Array.from({ length: 10000 }, (_, j) => ({ j }))); if (kept.length > 20) kept = []; }
setTimeout(() => {
  observer.disconnect();
  process.stdout.write('incremental ' + kinds.has(constants.NODE_PERFORMANCE_GC_INCREMENTAL) + '\\n');
}, 10);
`,
    );
    for (const command of ['reconcile', 'get', 'backup-once']) {
      expect(run(command), command).to.equal('incremental false\n');
    }
    for (const command of ['daemon', 'run']) {
      expect(run(command), command).to.equal('incremental true\n');
    }
  });

  it("grows a one-shot command's young generation 8-fold a step, keeps the daemon's at 2 MiB; run's, and a daemon's given heap flags, grow as V8 grows them", () => {
    // The stand-in keeps ~40 MB of small objects, as a one-shot keeps its list and plans: most of
    // each scavenge survives, which is what makes V8 grow the young generation (to 32 MiB on
    // Node 20, 64 on Node 24, by default; from 1 MiB at the start, 2 MiB at V8's minimum), by
    // doubling it by default, 8-fold for a one-shot: fewer scavenges on the way. V8's GC profiler
    // returns its GCs when stopped, so the count waits on no event-loop turn.
    writeFileSync(
      bundle,
      `const v8 = require('node:v8');
const profiler = new v8.GCProfiler();
profiler.start();
const kept = [];
for (let i = 0; i < 200; i++) kept.push(Array.from({ length: 5000 }, (_, j) => ({ i, j })));
const scavenges = profiler.stop().statistics.filter((s) => s.gcType === 'Scavenge').length;
const size = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
process.stdout.write(String(size / 1048576) + ' ' + scavenges + ' ' + kept.length + '\\n');
`,
    );
    const young = (out: string): { mib: number; scavenges: number } => {
      const [mib, scavenges] = out.split(' ').map(Number);
      return { mib: mib!, scavenges: scavenges! };
    };
    const ran = young(run('run'));
    expect(ran.mib, 'run').to.be.at.least(8);
    for (const command of ['reconcile', 'backup-once']) {
      const oneShot = young(run(command));
      expect(oneShot.mib, command).to.be.at.least(8);
      expect(
        oneShot.scavenges,
        `${command}: scavenges, against run's ${ran.scavenges}`,
      ).to.be.below(ran.scavenges);
    }
    expect(young(run('daemon')).mib, 'daemon').to.be.at.most(2);
    // The operator's own heap flags, on the command line or in NODE_OPTIONS: V8's sizing applies.
    expect(
      young(run('daemon', {}, ['--max-semi-space-size=16'])).mib,
      'daemon, flag',
    ).to.be.at.least(8);
    expect(
      young(run('daemon', { NODE_OPTIONS: '--max-semi-space-size=16' })).mib,
      'daemon, NODE_OPTIONS',
    ).to.be.at.least(8);
  });

  it('ends the process with process.exit once the exit listeners ran, with their exit code; not after an uncaught exception', () => {
    const runOther = (source: string, options = '{}') => {
      const other = path.join(dir, 'other.bundle.cjs');
      writeFileSync(other, source);
      // An 'exit' listener from before the bin (a preloaded module's) runs once, first.
      const preloaded = `process.on('exit', (c) => require('node:fs').writeSync(1, 'preloaded ' + c + '\\n'));`;
      return spawnSync(
        process.execPath,
        [
          '-e',
          `${preloaded} require(${JSON.stringify(LOADER)}).runBundle(process.argv[1], ${options})`,
          other,
          'reconcile',
        ],
        { encoding: 'utf8', env: { ...process.env, NODE_COMPILE_CACHE: dir } },
      );
    };
    // process.exit's last step, seen from the bundle; Node's own teardown never calls it.
    const spy = `
const fs = require('node:fs');
const reallyExit = process.reallyExit;
process.reallyExit = (code) => { fs.writeSync(1, 'reallyExit ' + code + '\\n'); reallyExit(code); };
process.on('exit', (code) => fs.writeSync(1, 'listener ' + code + '\\n'));
globalThis[Symbol.for('backrest-sidecar.compile-cache.command')] = 'reconcile';
`;
    const done = runOther(`${spy}setTimeout(() => { process.exitCode = 3; }, 5);`);
    expect(done.stdout).to.equal('preloaded 3\nlistener 3\nreallyExit 3\n');
    expect(done.status).to.equal(3);
    expect(cacheFiles(), 'the compile cache, written by a later exit listener').to.have.length(1);

    const thrown = runOther(`${spy}setTimeout(() => { throw new Error('boom in a timer'); }, 5);`);
    expect(thrown.status).to.equal(1);
    expect(thrown.stdout).to.equal('preloaded 1\nlistener 1\n');
    expect(thrown.stderr).to.contain('Error: boom in a timer');

    // Node 22 and later (V8 12+): Node's own teardown, no process.exit (nodejs/node#54918).
    const newer = runOther(
      `${spy}setTimeout(() => { process.exitCode = 3; }, 5);`,
      `{ v8Version: '13.6.233.17-node.44' }`,
    );
    expect(newer.stdout).to.equal('preloaded 3\nlistener 3\n');
    expect(newer.status).to.equal(3);
  });

  it('ends the process with process.exit on V8 11 (Node 20) only', () => {
    const { fastExitIsSafe } = createRequire(import.meta.url)(LOADER) as {
      fastExitIsSafe(v8Version?: string): boolean;
    };
    expect(fastExitIsSafe('11.3.244.8-node.33')).to.equal(true);
    expect(fastExitIsSafe('12.4.254.21-node.33')).to.equal(false);
    expect(fastExitIsSafe('13.6.233.17-node.44')).to.equal(false);
    expect(fastExitIsSafe('110.0.0')).to.equal(false);
  });

  it('a rebuilt bundle gets a new cache and the old build is removed', () => {
    run('reconcile');
    const [before] = readdirSync(cacheRoot);
    writeFileSync(bundle, `${BUNDLE}// rebuilt\n`);
    run('reconcile');
    const after = readdirSync(cacheRoot);
    expect(after).to.have.length(1);
    expect(after[0]).to.not.equal(before);
  });

  it("a rebuilt bundle leaves another Node version's cache of the same place alone", () => {
    run('reconcile');
    const [ours] = readdirSync(cacheRoot);
    // `<place>-<V8 version>-<arch>-<size>-<mtime>`: the same place, written by another Node.
    const place = ours!.slice(0, ours!.indexOf('-'));
    expect(ours!.startsWith(`${place}-${process.versions.v8}-`)).to.equal(true);
    const other = `${place}-9.9.999.9-node.99-${process.arch}-100-1700000000000`;
    mkdirSync(path.join(cacheRoot, other), { mode: 0o700 });
    writeFileSync(path.join(cacheRoot, other, 'reconcile.v8'), 'another V8');
    writeFileSync(bundle, `${BUNDLE}// rebuilt\n`);
    run('reconcile');
    const after = readdirSync(cacheRoot).sort();
    expect(after).to.have.length(2);
    expect(after).to.include(other);
    expect(after).to.not.include(ours);
  });
});
