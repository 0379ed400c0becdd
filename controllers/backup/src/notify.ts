import { Backoff, redactUrl, SecretRedactor, type Logger, type Redactor } from '@dockop/runtime';
import type { BackupOnceReport } from './backup-result.js';
import { notifyRequest, type NotifyEvent, type NotifyRequest } from './notify-message.js';
import { parseNotifyUrl, type NotifyTarget } from './notify-url.js';

export interface NotifyOptions {
  /** Total attempts. Default 4. */
  attempts?: number;
  /** First backoff in ms, doubled after each failure. Default 1000. */
  initialBackoffMs?: number;
  /** Per-attempt timeout in ms. Default 10000. */
  timeoutMs?: number;
  /** Injectable for tests (virtual time). Default: a real timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Default global fetch. */
  fetch?: typeof fetch;
  logger?: Logger;
  /**
   * Applied to the payload before it is sent and to every logged error. Default: a new
   * SecretRedactor (rules only); pass the run's one so env-file values are masked too.
   */
  redactor?: Redactor;
}

export interface NotifyResult {
  delivered: boolean;
  attempts: number;
  /** Last HTTP status or error message. */
  last: string;
  /** The target as logs show it (`ntfy https://host/[REDACTED]`); unset for notifyWebhook. */
  target?: string;
}

/**
 * Sends one request, retrying network errors, 429 and 5xx with exponential backoff (1 s, 2 s,
 * 4 s by default). A 4xx other than 429 is not retried (the receiver refused it). Each failed
 * attempt is logged at debug; a notification that is finally not delivered is logged once, as a
 * warning (a failing notifier never fails the backup). `display` is what logs show of the URL.
 */
export async function sendNotification(
  request: NotifyRequest,
  display: string,
  options: NotifyOptions = {},
): Promise<NotifyResult> {
  const attempts = Math.max(1, options.attempts ?? 4);
  // No jitter: one sender per run, and the doubling (1 s, 2 s, 4 s) is what the docs promise.
  const backoff = new Backoff({
    initialMs: options.initialBackoffMs ?? 1000,
    factor: 2,
    maxMs: 5 * 60_000,
    jitter: false,
  });
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const doFetch = options.fetch ?? fetch;
  const redactor = options.redactor ?? new SecretRedactor();
  let last = '';
  for (let i = 1; i <= attempts; i++) {
    let retry = true;
    try {
      const res = await doFetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      last = `HTTP ${res.status}`;
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        options.logger?.info('notify.delivered', { url: display, attempts: i });
        return { delivered: true, attempts: i, last };
      }
      retry = res.status === 429 || res.status >= 500;
    } catch (err) {
      // fetch errors can quote the URL (and its token): never the raw message.
      last = redactor.redactString(
        (err as Error).message.split(request.url).join(redactUrl(request.url)),
      );
    }
    if (!retry || i === attempts) {
      options.logger?.warn('notify.failed', { url: display, attempts: i, last });
      return { delivered: false, attempts: i, last };
    }
    options.logger?.debug('notify.retry', { url: display, attempt: i, of: attempts, last });
    await sleep(backoff.next());
  }
  return { delivered: false, attempts, last };
}

/**
 * POSTs `payload` as JSON to `url` (the plain webhook), with sendNotification's retries. The
 * payload goes through the redactor (a webhook receiver is a third party); the URL is logged as
 * scheme and host only (the path and query of a webhook are its token).
 */
export async function notifyWebhook(
  url: string,
  payload: unknown,
  options: NotifyOptions = {},
): Promise<NotifyResult> {
  const redactor = options.redactor ?? new SecretRedactor();
  return sendNotification(
    {
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', 'user-agent': 'backrest-sidecar' },
      body: JSON.stringify(redactor.redact(payload)),
    },
    redactUrl(url),
    { ...options, redactor },
  );
}

/** Registers every credential of `urls` with `redactor`; returns the parsed targets. */
export function registerNotifySecrets(urls: readonly string[], redactor: Redactor): NotifyTarget[] {
  return urls.map((u) => {
    // The whole URL first (longest wins), then its parts.
    redactor.addSecretValue(u);
    const target = parseNotifyUrl(u);
    for (const s of target.secrets) redactor.addSecretValue(s);
    return target;
  });
}

/**
 * The run's notifiers: every `--notify-url`, told of the start (healthchecks only) and of the
 * outcome, in parallel. Never throws: an undeliverable notification is a warning in the log and
 * a `delivered: false` in the report.
 */
export class Notifiers {
  readonly #targets: NotifyTarget[];
  readonly #options: NotifyOptions & { redactor: Redactor };

  constructor(urls: readonly string[], options: NotifyOptions & { redactor: Redactor }) {
    this.#options = options;
    this.#targets = registerNotifySecrets(urls, options.redactor);
  }

  get size(): number {
    return this.#targets.length;
  }

  /** Start pings: one quick attempt (a down monitor must not hold the backup up for long). */
  async start(runId?: string): Promise<NotifyResult[]> {
    return this.#send(
      { phase: 'start', ...(runId ? { runId } : {}) },
      {
        attempts: 1,
        timeoutMs: Math.min(this.#options.timeoutMs ?? 5_000, 5_000),
      },
    );
  }

  async finish(report: BackupOnceReport): Promise<NotifyResult[]> {
    return this.#send({ phase: 'finish', report }, {});
  }

  async #send(event: NotifyEvent, override: NotifyOptions): Promise<NotifyResult[]> {
    const sends = this.#targets.map(async (t) => {
      const request = notifyRequest(t, event, this.#options.redactor);
      if (!request) return undefined;
      try {
        const r = await sendNotification(request, t.display, { ...this.#options, ...override });
        return { ...r, target: t.display };
      } catch (err) {
        // A bug of ours (a header fetch refuses) must not fail the backup either.
        const last = this.#options.redactor.redactString((err as Error).message);
        this.#options.logger?.warn('notify.failed', { url: t.display, attempts: 0, last });
        return { delivered: false, attempts: 0, last, target: t.display };
      }
    });
    return (await Promise.all(sends)).filter((r): r is NonNullable<typeof r> => r !== undefined);
  }
}
