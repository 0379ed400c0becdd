/**
 * The bin's early container list. A one-shot command that lists the labeled containers
 * (`reconcile`, `get plans`, `describe plan`) spends ~70 ms loading the
 * program before it asks the engine, and the engine then takes 150–400 ms to list 2,000
 * containers while the program waits. So the bin sends that one request first, then loads the
 * program while the engine works; the Docker informer's `prefetch` takes the answer
 * (`@dockop/docker`'s early-container-list.ts holds the contract and the global slot).
 *
 * The command line is read here only for what the request depends on: the engine's socket
 * (`--docker-sock`, `DOCKER_HOST`) and `--selector`. The program takes the answer only when it
 * would have asked the same socket with the same filters itself, so a wrong guess here costs one
 * list and never changes an answer. Anything unsure (`--plugin`, whose resource definitions add
 * lists; an API version; a tcp/ssh engine) sends nothing. The request never keeps the process
 * alive on its own, and any failure here leaves the program to list as before.
 * `BACKREST_SIDECAR_EARLY_LIST=0` turns it off. The request is one HTTP/1.0 GET whose answer is
 * read straight into one buffer (unix-http-get.cts), not through `node:http`. While it is pending,
 * the bin warms the young generation up (heap-warmup.cts; `BACKREST_SIDECAR_HEAP_WARMUP=0` turns
 * that off).
 */
import { warmHeapUntil } from './heap-warmup.cjs';
import { unixHttpGet } from './unix-http-get.cjs';

/** `@dockop/docker`'s EARLY_CONTAINER_LIST (a global symbol: this file loads before any package). */
const EARLY_CONTAINER_LIST = Symbol.for('dockop.earlyContainerList');

/**
 * The enable label of the one resource definition the CLI binds without plugins (BackupWorkload):
 * the informer lists with `label=[enable label, ...selector pairs]`. early-list.spec.ts checks it
 * against the definitions the built program binds.
 */
export const EARLY_LIST_ENABLE_LABEL = 'backrest.enable';

/** options.ts's default `--docker-sock`. */
const DEFAULT_SOCKET = '/var/run/docker.sock';

/**
 * The command paths (aliases included) whose program lists through the informer's `prefetch`:
 * the one-shot reconcile and the preview runs (`previewRun` in app.ts). `get|describe workload`
 * list through the container actions instead, with other filters.
 */
const LISTING_COMMANDS: readonly (readonly string[])[] = [
  ['reconcile'],
  ['get', 'plans'],
  ['get', 'plan'],
  ['describe', 'plan'],
  ['describe', 'plans'],
];

/** Same as the engine's own request timeout (docker-client.ts). */
const TIMEOUT_MS = 30_000;

/** The list `startEarlyList` sent, while this process has one. */
let pending: Promise<unknown> | undefined;
/** Whether the program has taken it (`ref`): the process then waits for its answer anyway. */
let taken = false;

export interface EarlyListRequest {
  readonly socketPath: string;
  /** The `filters` query parameter, as JSON. */
  readonly filters: string;
}

/** The list the program would make first for `argv`, or undefined when unsure. No I/O. */
export function earlyListRequest(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): EarlyListRequest | undefined {
  if (env['BACKREST_SIDECAR_EARLY_LIST'] === '0' || env['DOCKER_API_VERSION']) return undefined;
  // A first long option runs the default command, reconcile (program.ts, `commandOf`).
  const command = argv[0]?.startsWith('--')
    ? []
    : LISTING_COMMANDS.find((words) => words.every((w, i) => argv[i] === w));
  if (!command) return undefined;
  let sock = env['DOCKER_HOST'];
  // Built as options.ts's parseSelector builds it (a later pair of the same key wins).
  const selector: Record<string, string> = {};
  for (let i = command.length; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (flag === '--plugin') return undefined;
    if (flag !== '--selector' && flag !== '--docker-sock') continue;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) return undefined;
    if (flag === '--docker-sock') {
      sock = value;
      continue;
    }
    const pairEq = value.indexOf('=');
    if (pairEq <= 0) return undefined;
    selector[value.slice(0, pairEq)] = value.slice(pairEq + 1);
  }
  const socketPath = unixSocketOf(sock);
  if (socketPath === undefined) return undefined;
  const label = [EARLY_LIST_ENABLE_LABEL, ...Object.entries(selector).map(([k, v]) => `${k}=${v}`)];
  return { socketPath, filters: JSON.stringify({ label }) };
}

/** options.ts's dockerConnection, for a unix socket only. */
function unixSocketOf(sock: string | undefined): string | undefined {
  const s = sock?.trim();
  if (!s) return DEFAULT_SOCKET;
  if (s.startsWith('unix://')) return s.slice('unix://'.length);
  return /^[a-z]+:\/\//.test(s) ? undefined : s;
}

/**
 * Sends the early list for `argv` and puts it in the global slot. True when a request went out:
 * the caller then lets the event loop turn once (connect, write) before it loads the program.
 */
export function startEarlyList(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  const request = earlyListRequest(argv, env);
  if (!request) return false;
  const get = unixHttpGet(
    request.socketPath,
    `/containers/json?all=true&filters=${encodeURIComponent(request.filters)}`,
    { timeoutMs: TIMEOUT_MS },
  );
  const list = get.body.then((body) => JSON.parse(body.toString('utf8')) as unknown);
  // Whoever takes it handles its failure; nobody may take it.
  list.catch(() => undefined);
  pending = list;
  taken = false;
  (globalThis as Record<symbol, unknown>)[EARLY_CONTAINER_LIST] = {
    socketPath: request.socketPath,
    filters: request.filters,
    list,
    ref: () => {
      taken = true;
      get.ref();
    },
    abandon: () => get.abandon(),
  };
  return true;
}

/**
 * Warms the young generation up until the early list settles (heap-warmup.cts). The bin calls it
 * once the program has loaded: from then on the process only waits for the engine. Its slices
 * keep the process alive only once the program has taken the list. Does nothing (undefined)
 * without an early list or with `BACKREST_SIDECAR_HEAP_WARMUP=0`; else resolves with the bytes it
 * allocated.
 */
export function warmHeapWhileListing(
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> | undefined {
  if (pending === undefined || env['BACKREST_SIDECAR_HEAP_WARMUP'] === '0') return undefined;
  return warmHeapUntil(pending, { keepsAlive: () => taken });
}
