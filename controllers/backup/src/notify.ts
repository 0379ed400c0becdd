import { redactUrl, SecretRedactor, type Logger, type Redactor } from '@dockop/runtime';

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
}

/**
 * POSTs `payload` as JSON to `url`, retrying network errors, 429 and 5xx with exponential backoff
 * (1 s, 2 s, 4 s by default). A 4xx other than 429 is not retried (the receiver refused it). The
 * payload goes through the redactor (a webhook receiver is a third party); the URL is logged as
 * scheme and host only (the path and query of a webhook are its token).
 */
export async function notifyWebhook(
  url: string,
  payload: unknown,
  options: NotifyOptions = {},
): Promise<NotifyResult> {
  const attempts = Math.max(1, options.attempts ?? 4);
  let backoff = options.initialBackoffMs ?? 1000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const doFetch = options.fetch ?? fetch;
  const safeUrl = redactUrl(url);
  const redactor = options.redactor ?? new SecretRedactor();
  const body = JSON.stringify(redactor.redact(payload));
  let last = '';
  for (let i = 1; i <= attempts; i++) {
    let retry = true;
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'backrest-sidecar' },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      last = `HTTP ${res.status}`;
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        options.logger?.info('notify.delivered', { url: safeUrl, attempts: i });
        return { delivered: true, attempts: i, last };
      }
      retry = res.status === 429 || res.status >= 500;
    } catch (err) {
      // fetch errors can quote the URL (and its token): never the raw message.
      last = redactor.redactString((err as Error).message.split(url).join(safeUrl));
    }
    options.logger?.warn('notify.failed', { url: safeUrl, attempt: i, of: attempts, last });
    if (!retry || i === attempts) return { delivered: false, attempts: i, last };
    await sleep(backoff);
    backoff *= 2;
  }
  return { delivered: false, attempts, last };
}
