/**
 * Apply mode `api`: plans go through Backrest's own API instead of the file, so no restart is
 * needed. `POST /v1.Backrest/GetConfig` returns the config (protojson); `SetConfig` is refused
 * unless the body's `modno` equals the current one, then saved as modno+1. A concurrent edit
 * (someone in the UI) therefore makes SetConfig fail: we re-read and re-apply, a bounded number of
 * times.
 */
import {
  applyChanges,
  lineDiff,
  ConfigError,
  fromBackrestPlan,
  renderConfig,
  validateConfig,
  validatePlanSpecs,
  type CommitResult,
  type LoadedConfig,
  type PlanChanges,
} from '@backrest-sidecar/config-sink';

import type { PlanStore } from './plan-store.js';

export interface BackrestApiStoreOptions {
  /** e.g. `http://backrest:9898`. */
  url: string;
  /** Sent as `Authorization` when set (e.g. `Basic dXNlcjpwYXNz`). Never logged. */
  authorization?: string;
  /** Per request. Default 10000. */
  timeoutMs?: number;
  /** SetConfig attempts on a modno conflict. Default 3. */
  attempts?: number;
  /** Injected for tests; default global fetch. */
  fetch?: typeof fetch;
}

interface BackrestConfigDoc {
  modno?: number;
  repos?: { id?: string }[];
  plans?: object[];
  [k: string]: unknown;
}

export class BackrestApiStore implements PlanStore {
  readonly #opts: BackrestApiStoreOptions;
  #previous: BackrestConfigDoc | undefined;

  constructor(options: BackrestApiStoreOptions) {
    this.#opts = options;
  }

  get url(): string {
    return this.#opts.url;
  }

  async load(): Promise<LoadedConfig> {
    const raw = await this.#getConfig();
    const plans = (raw.plans ?? []).map((p) => fromBackrestPlan(p));
    return {
      format: 'backrest',
      exists: true,
      repoIds: (raw.repos ?? []).map((r) => r.id ?? '').filter((id) => id !== ''),
      plans,
      planIds: plans.map((p) => p.id),
      modno: raw.modno ?? 0,
      raw,
    };
  }

  preview(changes: PlanChanges): Promise<CommitResult> {
    return this.#run(changes, false);
  }

  commit(changes: PlanChanges): Promise<CommitResult> {
    return this.#run(changes, true);
  }

  async rollback(): Promise<boolean> {
    const previous = this.#previous;
    if (!previous) return false;
    const current = await this.#getConfig();
    await this.#setConfig({ ...previous, modno: current.modno ?? 0 });
    this.#previous = undefined;
    return true;
  }

  async #run(changes: PlanChanges, write: boolean): Promise<CommitResult> {
    const attempts = this.#opts.attempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      const current = await this.#getConfig();
      const newProblems = problemsBeyond(current);
      const { changes: valid, warnings } = screenPlans(current, changes, newProblems);
      const next = applyChanges(current, 'backrest', valid) as BackrestConfigDoc;
      const problems = newProblems(next);
      if (problems.length > 0) {
        // Not one plan's fault (e.g. the removals): SetConfig would refuse the whole batch.
        throw new ConfigError(
          'Refused',
          this.#opts.url,
          'Backrest would refuse the config',
          problems,
        );
      }
      // SetConfig wants the modno we read; Backrest stores modno+1 itself.
      next.modno = current.modno ?? 0;
      const before = renderConfig(current, 'backrest');
      const after = renderConfig(next, 'backrest');
      const changed = before !== after;
      const result: CommitResult = {
        changed,
        written: false,
        format: 'backrest',
        path: this.#opts.url,
        before,
        after,
        diff: changed ? lineDiff(before, after, 'backrest-api') : '',
        warnings,
        merged: attempt > 1,
      };
      if (!write || !changed) return result;
      try {
        await this.#setConfig(next);
        this.#previous = current;
        return { ...result, written: true };
      } catch (err) {
        if (attempt >= attempts || !isModnoConflict(err)) throw err;
      }
    }
  }

  async #getConfig(): Promise<BackrestConfigDoc> {
    const body = await this.#post('GetConfig', {});
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new ConfigError('InvalidConfig', this.#opts.url, 'GetConfig did not return an object');
    }
    return body as BackrestConfigDoc;
  }

  async #setConfig(doc: BackrestConfigDoc): Promise<void> {
    await this.#post('SetConfig', doc);
  }

  async #post(method: 'GetConfig' | 'SetConfig', body: unknown): Promise<unknown> {
    const doFetch = this.#opts.fetch ?? fetch;
    const url = `${this.#opts.url.replace(/\/+$/, '')}/v1.Backrest/${method}`;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#opts.authorization) headers.authorization = this.#opts.authorization;
    let res: Response;
    try {
      res = await doFetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new ConfigError(
        'WriteFailed',
        this.#opts.url,
        `${method} failed: ${(err as Error).message}`,
        [],
        {
          cause: err,
        },
      );
    }
    const text = await res.text();
    if (!res.ok) {
      throw new ApiError(method, res.status, text.slice(0, 500), this.#opts.url);
    }
    try {
      return text === '' ? {} : JSON.parse(text);
    } catch (err) {
      throw new ConfigError('InvalidJson', this.#opts.url, `${method} returned invalid JSON`, [], {
        cause: err,
      });
    }
  }
}

/** A non-2xx answer of Backrest's API (Connect protocol: JSON `{code, message}`). */
export class ApiError extends ConfigError {
  constructor(
    readonly method: string,
    readonly status: number,
    readonly body: string,
    url: string,
  ) {
    super(status >= 500 ? 'WriteFailed' : 'Refused', url, `${method} answered HTTP ${status}`, [
      body,
    ]);
  }
}

/** Backrest answers a stale modno with an error mentioning the modno (Connect code failed_precondition / invalid_argument). */
function isModnoConflict(err: unknown): boolean {
  return err instanceof ApiError && /modno/i.test(err.body);
}

/**
 * A check for the problems a config has that `current` (what Backrest runs now) does not;
 * `current` is validated once, not once per screened plan. GetConfig's answer is sanitized for
 * the network (no identity private key, password hashes masked), and so is what we derive from it.
 */
function problemsBeyond(current: BackrestConfigDoc): (next: BackrestConfigDoc) => string[] {
  const validate = (doc: BackrestConfigDoc): string[] =>
    validateConfig(doc, 'backrest', { networkSanitized: true });
  const before = new Set(validate(current));
  return (next) => validate(next).filter((p) => !before.has(p));
}

/**
 * Backrest's SetConfig refuses a whole config for one bad plan, so each upserted plan is checked
 * against the sink's validator on its own first: a plan that would make Backrest refuse the config
 * is left out (its old version, if any, stays) with a warning naming it; the others go through.
 *
 * The whole batch is checked once first: when it passes, every plan does (the rules are per plan,
 * or uniqueness, which a subset keeps), and the per-plan pass, one full validation per plan
 * (O(plans²): ~4.5 s at 2,000 plans), runs only to find the culprits of a batch that fails.
 */
function screenPlans(
  current: BackrestConfigDoc,
  changes: PlanChanges,
  newProblems: (next: BackrestConfigDoc) => string[],
): { changes: PlanChanges; warnings: string[] } {
  const problemsOf = (upsert: PlanChanges['upsert']): string[] => [
    ...validatePlanSpecs(upsert),
    // Shallow: only validated (a deep copy of the whole config per call was most of its time).
    ...newProblems(
      applyChanges(
        current,
        'backrest',
        { upsert, remove: [] },
        { copy: 'shallow' },
      ) as BackrestConfigDoc,
    ),
  ];
  if (changes.upsert.length === 0) return { changes, warnings: [] };
  if (changes.upsert.length > 1 && problemsOf(changes.upsert).length === 0) {
    return { changes, warnings: [] };
  }
  const warnings: string[] = [];
  const upsert = changes.upsert.filter((plan) => {
    const problems = problemsOf([plan]);
    if (problems.length === 0) return true;
    warnings.push(
      `plan "${plan.id}" not sent to Backrest (it would refuse the whole config): ${problems.join('; ')}`,
    );
    return false;
  });
  return { changes: { ...changes, upsert }, warnings };
}
