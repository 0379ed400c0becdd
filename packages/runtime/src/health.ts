import type { Clock } from './clock.js';
import type { HealthCheck } from './lifecycle.js';

export interface HealthCheckResult {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface HealthReport {
  ok: boolean;
  checks: HealthCheckResult[];
}

export interface HealthServiceOptions {
  /** Read on every request, so checks bound late (plugins) are included. */
  checks: () => HealthCheck[];
  /** Default: none. A check slower than this fails (needs a clock). Default 5000 ms. */
  checkTimeoutMs?: number;
  clock?: Clock;
}

/**
 * Runs named checks for `/healthz` (kind `liveness`) and `/readyz` (kind `readiness`). A check
 * fails when it throws, returns false or times out; a string return is reported as detail.
 */
export class HealthService {
  readonly #checks: () => HealthCheck[];
  readonly #timeoutMs: number;
  readonly #clock: Clock | undefined;

  constructor(options: HealthServiceOptions) {
    this.#checks = options.checks;
    this.#timeoutMs = options.checkTimeoutMs ?? 5000;
    this.#clock = options.clock;
  }

  liveness(): Promise<HealthReport> {
    return this.#run('liveness');
  }

  readiness(): Promise<HealthReport> {
    return this.#run('readiness');
  }

  async #run(kind: HealthCheck['kind']): Promise<HealthReport> {
    const checks = this.#checks().filter((c) => c.kind === kind);
    const results = await Promise.all(checks.map((c) => this.#one(c)));
    return { ok: results.every((r) => r.ok), checks: results };
  }

  async #one(check: HealthCheck): Promise<HealthCheckResult> {
    const timer = new AbortController();
    try {
      const pending = Promise.resolve().then(() => check.check());
      const raced = this.#clock
        ? Promise.race([
            pending,
            this.#clock.sleep(this.#timeoutMs, timer.signal).then(() => {
              throw new Error(`timed out after ${this.#timeoutMs} ms`);
            }),
          ])
        : pending;
      const r = await raced;
      if (typeof r === 'string') return { name: check.name, ok: true, detail: r };
      return r
        ? { name: check.name, ok: true }
        : { name: check.name, ok: false, detail: 'check failed' };
    } catch (err) {
      return {
        name: check.name,
        ok: false,
        detail: err instanceof Error ? err.message : String(err),
      };
    } finally {
      timer.abort();
    }
  }
}

/** Plain-text body in the style of Kubernetes' verbose health endpoints. */
export function formatHealthReport(report: HealthReport): string {
  const lines = report.checks.map(
    (c) =>
      `[${c.ok ? '+' : '-'}]${c.name} ${c.ok ? 'ok' : 'failed'}${c.detail ? `: ${c.detail}` : ''}`,
  );
  lines.push(report.ok ? 'healthy' : 'unhealthy');
  return lines.join('\n') + '\n';
}
