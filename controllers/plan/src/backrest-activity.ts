/**
 * Is Backrest running an operation (a backup, prune, check, restore) right now? A restart would
 * kill it, so the restart applier asks first.
 *
 * - With `--backrest-url`: Backrest's own `POST /v1.Backrest/GetOperations` (OpSelector must be
 *   non-nil, `internal/protoutil/opselector.go`; `lastN` returns the newest operations,
 *   `internal/api/backresthandler.go` GetOperations). An operation with status
 *   `STATUS_INPROGRESS` (`proto/v1/operations.proto`) means busy. The API sees only the newest
 *   `lastN` operations, so when it reports idle the process check below is asked too (one
 *   `docker top`); when the API does not answer, the process check alone decides.
 * - Otherwise: the processes in Backrest's container (`docker top`): every operation runs a
 *   `restic` child process.
 */
import type { ContainerActions } from '@dockop/docker';

export interface BackrestActivity {
  /** What Backrest is running (e.g. `backup of plan x`), or undefined when it is idle. */
  busy(signal?: AbortSignal): Promise<string | undefined>;
}

/** A `restic` process in Backrest's container. */
export class ProcessActivity implements BackrestActivity {
  constructor(
    readonly actions: Pick<ContainerActions, 'processes'>,
    readonly container: string,
  ) {}

  async busy(): Promise<string | undefined> {
    const procs = await this.actions.processes(this.container);
    const restic = procs.find((cmd) => isRestic(cmd));
    return restic === undefined ? undefined : `a restic process (${truncate(restic, 120)})`;
  }
}

/** `restic ...`, `/usr/bin/restic ...`, `/bin/restic-0.17 ...`; not `backrest`, not `grep restic`. */
export function isRestic(cmd: string): boolean {
  const argv0 = cmd.trim().split(/\s+/)[0] ?? '';
  const base = argv0.slice(argv0.lastIndexOf('/') + 1);
  return /^restic([-_.][\w.-]*)?$/.test(base);
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

export interface ApiActivityOptions {
  url: string;
  /** Sent as `Authorization`. Never logged. */
  authorization?: string;
  /** Newest operations looked at. Default 200. */
  lastN?: number;
  /** Default 5000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Backrest's GetOperations, with `processes` (when given) asked as well when the API reports
 * idle or does not answer: busy when either sees an operation.
 */
export class ApiActivity implements BackrestActivity {
  readonly #opts: ApiActivityOptions;
  readonly #processes: BackrestActivity | undefined;

  constructor(options: ApiActivityOptions, processes?: BackrestActivity) {
    this.#opts = options;
    this.#processes = processes;
  }

  async busy(signal?: AbortSignal): Promise<string | undefined> {
    let ops: unknown;
    try {
      ops = await this.#getOperations(signal);
    } catch (err) {
      if (this.#processes) return this.#processes.busy(signal);
      throw err;
    }
    const list = isObject(ops) && Array.isArray(ops.operations) ? ops.operations : [];
    for (const op of list) {
      if (!isObject(op) || op.status !== 'STATUS_INPROGRESS') continue;
      const kind = Object.keys(op).find((k) => k.startsWith('operation')) ?? 'operation';
      const what = kind.replace(/^operation/, '').toLowerCase() || 'an operation';
      const plan = typeof op.planId === 'string' && op.planId ? ` of plan ${op.planId}` : '';
      return `${what}${plan} (operation ${String(op.id ?? '?')})`;
    }
    // An operation older than the newest `lastN` is invisible here; its restic process is not.
    return this.#processes?.busy(signal);
  }

  async #getOperations(signal?: AbortSignal): Promise<unknown> {
    const { url, authorization, lastN = 200, timeoutMs = 5000 } = this.#opts;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization) headers.authorization = authorization;
    const timeout = AbortSignal.timeout(timeoutMs);
    const res = await (this.#opts.fetch ?? fetch)(
      `${url.replace(/\/+$/, '')}/v1.Backrest/GetOperations`,
      {
        method: 'POST',
        headers,
        body: JSON.stringify({ selector: {}, lastN: String(lastN) }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      },
    );
    const text = await res.text();
    if (!res.ok) throw new Error(`GetOperations answered HTTP ${res.status}`);
    return JSON.parse(text) as unknown;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
