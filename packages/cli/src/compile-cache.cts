/**
 * Runs the CLI's CommonJS bundle with V8's code cache kept on disk.
 *
 * Parsing and compiling the ~1.3 MB bundle is a third of `--help` and a fifth of a dry run. V8 can
 * serialize what it compiled and take it back on the next start (the mechanism behind Node's
 * CommonJS loader and Node ≥ 22's `module.enableCompileCache`). Node 20 has no on-disk cache at
 * all, and Node ≥ 22's caches only what is compiled before the first line runs; this one is taken
 * at exit (`script.createCachedData()`), so it also holds every function the command called.
 * Different commands call different functions, hence one cache file per command (the top-level
 * command name the program reports, compile-cache-command.ts).
 *
 * Layout: `<root>/<place>-<build>/<command>.v8`, root `$NODE_COMPILE_CACHE/backrest-sidecar` or
 * `<tmpdir>/backrest-sidecar-compile-cache-<uid>`; place is a hash of the bundle's path and of
 * the Node flags of this process (command line and NODE_OPTIONS: V8 rejects a cache made under
 * other V8 flags, so `node bin …` and the bin's own shebang flags each keep theirs instead of
 * replacing each other's at every alternation; several checkouts or installs do not evict each
 * other either), build is V8's version, the arch and the bundle's size and mtime, so a rebuilt
 * bundle never meets an old cache (V8 itself checks only the source length). Writing a new
 * build's cache removes the same place's older builds of the same V8 version, not another Node's:
 * a host that runs the bin under two Node versions keeps a cache for each instead of removing the
 * other's at every alternation.
 * `NODE_DISABLE_COMPILE_CACHE=1` (Node's own switch) turns it off.
 *
 * A code cache is code: it is read only from a directory that is ours (owner = this uid, not
 * writable by group or others, not a symlink); otherwise the bundle just compiles from source.
 * Any cache problem (read-only disk, rejected data) costs speed, never the command.
 */
import {
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import vm from 'node:vm';

export interface BundleRunOptions {
  /** The command line after `node bin` (default `process.argv.slice(2)`); picks the cache file. */
  readonly argv?: readonly string[];
  /** Environment (default `process.env`): `NODE_COMPILE_CACHE`, `NODE_DISABLE_COMPILE_CACHE`. */
  readonly env?: NodeJS.ProcessEnv;
  /** V8's version (default `process.versions.v8`): picks the run-time flags and the exit. */
  readonly v8Version?: string;
}

/** Where the program reports the command it runs (compile-cache-command.ts, in the bundle). */
const COMMAND = Symbol.for('backrest-sidecar.compile-cache.command');

type Holder = { [COMMAND]?: string };

/** The command a bare `backrest-sidecar [options]` runs, and the cache `--help` borrows. */
const DEFAULT_COMMAND = 'reconcile';

/** A cache file name: a command name as commander spells it, nothing a path could hide in. */
const COMMAND_NAME = /^[a-z][a-z0-9-]{0,39}$/;

/** The commands that run until they are stopped; every other one is done in a few seconds. */
const LONG_RUNNING: ReadonlySet<string> = new Set(['daemon', 'run']);

/**
 * The V8 flags `runBundle` sets at run time for `command` (the first word of the command line),
 * on V8 `v8Version`, before the bundle runs. V8 takes a code cache back under these as under its
 * defaults (checked on Node 20, 24 and 26; the daemon's too), so they need no cache of their own.
 *
 * The daemon (docs/adr/0010-daemon-memory-under-churn.md, ninth pass): a young generation held at
 * its initial 1 MiB semi-spaces (`--semi-space-growth-factor=1`) and V8's memory-saving heap
 * growth (`--optimize-for-size`). V8 lets old space grow to at least its live size plus 8 MiB plus
 * the young generation's capacity (16–32 MiB at its default sizes) before a major GC, so under
 * container churn a daemon's RSS climbed from wherever it was sampled first. With these the slack
 * is 1.3 × live or live + 2 MiB, plus 1 MiB: 90–101 MiB after 1,000 churn cycles on Node 24
 * and 26, +1.8 to +7.6 % from the first sample (where a sample falls on V8's ~5 MiB sawtooth
 * decides most of that), against 119–183 MiB and +7–58 % before, for ~5–9 % more
 * CPU under churn and ~0.3 s more at a start over 2,000 containers (the ADR's figures), none at
 * rest. Flags the operator gave (command line or NODE_OPTIONS) that size the heap win: then none
 * of these is set (`operatorSizesHeap`).
 * `run` (plugins on the framework alone) keeps V8's defaults: its controllers are not ours to
 * measure.
 *
 * Every other command is done in seconds:
 *
 * - No incremental marking. With it, V8 starts a major GC once old space passes ~25 MB (a
 *   2,000-container dry run does, shortly before its end): marking steps, their write barrier and
 *   a final pause (~30 ms there) free memory the process exits before using. Without it V8 still
 *   collects everything when old space reaches its limit, in one pause.
 * - A young generation that grows 8-fold where V8 would double it
 *   (`--semi-space-growth-factor=8`): from its 1 MiB semi-spaces to 8 MiB at its first growth,
 *   which comes when more has survived its scavenges than it holds, as in a one-shot's start-up,
 *   and on to V8's maximum (16 MiB on Node 20, 64 on Node 24) at the next. Each scavenge costs a
 *   fixed part (roots, the old-to-new slots of everything promoted so far) besides its copying,
 *   and on Node 26 every scavenge also shrinks the old-space limit V8 starts with, by the share
 *   that survived, until a major GC comes (~20 ms). A 2,000-container dry run held at 1 MiB (as
 *   from session 15 to 20) ran ~30 scavenges and that major GC: 61–64 ms of GC on Node 20 and 26;
 *   grown 8-fold, 5–6 scavenges and no major GC: 27–31 ms. The price is fresh pages: ~2,500
 *   more faults (3.4–4.3 µs each on our VMs now, 17 µs when session 15 measured the other way)
 *   and peak RSS +9–13 MiB. 16-fold measured as fast, with 4–8 MiB more RSS.
 *   Interleaved rounds, docs/adr/0005-bundled-cli.md.
 * - Node 20 (V8 11): a 16 times larger interrupt budget (V8's default is 66 KiB of bytecode run per
 *   tier-up check), so TurboFan optimises only what stays hot. A one-shot's per-container code
 *   runs a few thousand times and exits: TurboFan's compile jobs and the deoptimisations that
 *   follow cost more there than the optimised code saves (2,000-container dry run: ~250 ms less
 *   CPU). Newer V8s have no such flag (they count invocations) and their default tiering measured
 *   as well as any cap (Node 24: `--max-opt=1`/`2` within noise of the default).
 */
export function v8FlagsFor(
  command: string,
  v8Version = process.versions.v8,
  nodeFlags: readonly string[] = nodeFlagsOf(process.env),
): readonly string[] {
  if (command === 'daemon') {
    return operatorSizesHeap(nodeFlags)
      ? []
      : ['--semi-space-growth-factor=1', '--optimize-for-size'];
  }
  if (LONG_RUNNING.has(command)) return [];
  const flags = ['--no-incremental-marking', '--semi-space-growth-factor=8'];
  return v8Version.startsWith('11.') ? [...flags, `--interrupt-budget=${16 * 66 * 1024}`] : flags;
}

/** V8 flags that size the heap: given by the operator, the daemon sets none of its own. */
const HEAP_SIZING_FLAG =
  /^--(?:no-)?(?:(?:min|max)[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor|optimize[-_]for[-_]size)(?:=|$)/;

/** True when `nodeFlags` (command line, then NODE_OPTIONS) holds a flag that sizes the heap. */
export function operatorSizesHeap(nodeFlags: readonly string[]): boolean {
  return nodeFlags.some((f) => HEAP_SIZING_FLAG.test(f));
}

/** This process's Node flags: its command line's, then `env`'s NODE_OPTIONS (split on white space). */
function nodeFlagsOf(env: NodeJS.ProcessEnv): string[] {
  return [...process.execArgv, ...(env['NODE_OPTIONS'] ?? '').split(/\s+/).filter(Boolean)];
}

/**
 * The built-in modules the bundle loads at its top level, whatever the command, loaded before
 * `v8FlagsFor`'s flags are set. Node's code cache of its own modules was made under V8's default
 * flags, and V8 takes no code cache made under other flags: a built-in first loaded after the
 * flags changed compiles from source, about 3 times slower (`http` and `fs/promises`, with `net`
 * and `stream`: ~5 → ~17 ms of a dry run's start here). `cli-startup.spec` checks the bundle's
 * start loads no other built-in after the flags. One loaded later, on first use (`crypto`, `zlib`
 * of `dockop-lazy-builtins`), pays the slower compile only when a command uses it.
 */
export const BUNDLE_BUILTINS: readonly string[] = [
  'node:http',
  'node:fs/promises',
  'node:path/posix',
  'node:process',
  'node:timers/promises',
];

/**
 * How the bundle's text begins and ends: the function wrapper Node's CommonJS loader puts around
 * a file, plus `__dockopImport` (Node 20 drops a vm.Script's `importModuleDynamically` when the
 * script comes from a code cache, so the bundle imports `--plugin` modules through this module's
 * `import()`; see the bundler). The bundler writes both into the file, so `runBundle` compiles the
 * string it read as it is: a wrapper added here made a second string that V8 copied whole before
 * compiling (the 1.4 MB bundle: ~10 ms of every start on a 2-core VM, where fresh memory is slow).
 */
export const BUNDLE_PREFIX =
  '(function (exports, require, module, __filename, __dirname, __dockopImport) {';
export const BUNDLE_SUFFIX = '\n})';

/** Runs the CommonJS bundle `file` as the main program, with the code cache when it can. */
export function runBundle(file: string, options: BundleRunOptions = {}): void {
  const env = options.env ?? process.env;
  const argv = options.argv ?? process.argv.slice(2);
  // latin1, not utf8: the bundler writes ASCII only (it checks), for which both give the same
  // string, and latin1 skips the UTF-8 decoder (2-3 ms of a 1.3 MB bundle at every start).
  const bytes = readFileSync(file);
  const source = bytes.toString('latin1');
  const v8Version = options.v8Version ?? process.versions.v8;
  if (fastExitIsSafe(v8Version)) exitWithoutTeardown();
  const cache = env['NODE_DISABLE_COMPILE_CACHE'] ? undefined : CodeCache.for(file, env);
  const first = argv[0] ?? '';
  const guess = COMMAND_NAME.test(first) ? first : DEFAULT_COMMAND;
  const bundleRequire = createRequire(file);
  const flags = v8FlagsFor(guess, v8Version, nodeFlagsOf(env));
  if (flags.length > 0) {
    for (const builtin of BUNDLE_BUILTINS) bundleRequire(builtin);
    for (const flag of flags) setFlagsFromString(flag);
  }
  // A command without a cache of its own yet starts from the default command's: most code is shared.
  // Read into the bundle's bytes, no longer needed: memory a process touches for the first time
  // costs a page fault per 4 KiB, ~17 µs each on our 2-core VMs (~5 ms for a 1.1 MB cache).
  const loaded = cache?.read(guess, bytes) ?? cache?.read(DEFAULT_COMMAND, bytes);
  // The bundler writes the wrapper into the file; anything else (a bundle from before, a test's)
  // is wrapped here.
  const wrapped = source.startsWith(BUNDLE_PREFIX)
    ? source
    : `${BUNDLE_PREFIX} ${source}${BUNDLE_SUFFIX}`;
  const script = new vm.Script(wrapped, { filename: file, cachedData: loaded?.data });
  if (cache) {
    process.once('exit', () => {
      const ran = (globalThis as Holder)[COMMAND];
      if (ran === undefined || !COMMAND_NAME.test(ran)) return;
      if (loaded?.command === ran && !script.cachedDataRejected) return;
      cache.write(ran, script.createCachedData());
    });
  }
  const run = script.runInThisContext() as (
    exports: object,
    require: NodeJS.Require,
    module: { exports: object },
    filename: string,
    dirname: string,
    dockopImport: (specifier: string) => Promise<unknown>,
  ) => void;
  const module = { exports: {} };
  const dockopImport = (specifier: string): Promise<unknown> => import(specifier);
  run.call(
    module.exports,
    module.exports,
    bundleRequire,
    module,
    file,
    path.dirname(file),
    dockopImport,
  );
}

/**
 * Whether `exitWithoutTeardown` may end the process on V8 `v8Version`: on V8 11 (Node 20) only.
 * `process.exit` joins V8's worker threads before the isolate is torn down. From Node 22 on,
 * Maglev and concurrent Sparkplug compile on those threads and allocate on the heap; a job that
 * needs a GC at that moment waits for the main thread, which waits for it, and the process never
 * exits (nodejs/node#54918). Node 24, 2,000-container dry runs: 5 of 160 hung that way; with
 * Node's own teardown, which wakes such a job first, none of 200. Node 20 compiles nothing on the
 * heap off the main thread (both are off there): none of 200 hung with the fast exit.
 */
export function fastExitIsSafe(v8Version = process.versions.v8): boolean {
  return v8Version.startsWith('11.');
}

/**
 * Once the program is done (the event loop ran dry, every 'exit' listener ran), ends the process
 * with `process.exit` instead of Node's teardown, which frees the environment and the whole V8
 * heap page by page first: ~5 ms of every one-shot command on this 2-core machine. Nothing is
 * pending at that point (a pending write would have kept the loop alive; stdout and stderr are
 * synchronous for files, pipes and terminals). Registered before the bundle runs, so it comes
 * before the program's 'exit' listeners: it runs them, in order, then exits with
 * `process.exitCode` as Node would. Not after an uncaught exception: Node prints it after the 'exit' listeners.
 */
function exitWithoutTeardown(): void {
  let fatal = false;
  process.on('uncaughtExceptionMonitor', () => (fatal = true));
  // Listeners from before (a preloaded module's): Node already ran them before this one.
  const earlier = new Set(process.rawListeners('exit'));
  process.once('exit', (code) => {
    if (fatal) return;
    for (const listener of process.rawListeners('exit')) {
      if (!earlier.has(listener)) listener.call(process, code);
    }
    process.exit();
  });
}

/** The cache files of one build of the bundle. */
class CodeCache {
  readonly #root: string;
  /** The start of this place's builds under this V8 version: the ones a new build replaces. */
  readonly #sameNode: string;
  readonly #dir: string;

  private constructor(root: string, place: string, build: string) {
    this.#root = root;
    this.#sameNode = `${place}-${process.versions.v8}-`;
    this.#dir = path.join(root, `${place}-${build}`);
  }

  static for(bundle: string, env: NodeJS.ProcessEnv): CodeCache | undefined {
    try {
      const { size, mtimeMs } = statSync(bundle);
      const uid = process.getuid?.() ?? 0;
      const root = env['NODE_COMPILE_CACHE']
        ? path.join(path.resolve(env['NODE_COMPILE_CACHE']), 'backrest-sidecar')
        : path.join(tmpdir(), `backrest-sidecar-compile-cache-${uid}`);
      const build = `${process.versions.v8}-${process.arch}-${size}-${Math.trunc(mtimeMs)}`;
      const flags = `${process.execArgv.join('\0')}\0${env['NODE_OPTIONS'] ?? ''}`;
      return new CodeCache(root, fnv1a(`${path.resolve(bundle)}\0${flags}`), build);
    } catch {
      return undefined;
    }
  }

  /** A command's cache, read into `spare` when it fits there (its bytes are overwritten). */
  read(command: string, spare?: Buffer): { command: string; data: Buffer } | undefined {
    let fd: number | undefined;
    try {
      if (!ours(this.#root)) return undefined;
      fd = openSync(path.join(this.#dir, `${command}.v8`), 'r');
      const size = fstatSync(fd).size;
      const data =
        spare !== undefined && size <= spare.length
          ? spare.subarray(0, size)
          : Buffer.allocUnsafe(size);
      for (let at = 0; at < size;) {
        const n = readSync(fd, data, at, size - at, at);
        if (n === 0) return undefined;
        at += n;
      }
      return { command, data };
    } catch {
      return undefined;
    } finally {
      // Not allowed to throw either: a cache problem never fails the command.
      if (fd !== undefined) closeQuietly(fd);
    }
  }

  write(command: string, data: Buffer): void {
    try {
      mkdirSync(this.#root, { recursive: true, mode: 0o700 });
      if (!ours(this.#root)) return;
      for (const old of readdirSync(this.#root)) {
        if (old.startsWith(this.#sameNode) && old !== path.basename(this.#dir)) {
          rmSync(path.join(this.#root, old), { recursive: true, force: true });
        }
      }
      mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
      const file = path.join(this.#dir, `${command}.v8`);
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, data, { mode: 0o600 });
      renameSync(tmp, file);
    } catch {
      // A read-only or full disk: the next start compiles from source again.
    }
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing left to do with it.
  }
}

/** A directory only this user can write: a planted cache would be code run as this user. */
function ours(dir: string): boolean {
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  return st.isDirectory() && (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;
}

/** 32-bit FNV-1a, hex: a short stable name for a path (node:crypto costs a few ms to load). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
