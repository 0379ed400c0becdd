import type { BackupWorkloadSpec } from '@backrest-sidecar/api';
import type { PlanSpec } from '@backrest-sidecar/config-sink';
import type { Resource } from '@dockop/runtime';
import type { PlanOutcome, WorkloadInput, WorkloadStatus } from './plan-builder.js';
import { samePlan } from './plan-entries.js';
import { fingerprintPart, workloadInputOf } from './plan-inputs.js';

type WorkloadResource = Resource<BackupWorkloadSpec, WorkloadStatus>;

interface Remembered {
  uid: string | undefined;
  version: string;
  input: WorkloadInput;
  /** `inputsFingerprint`'s part for this resource. */
  part: string;
}

/**
 * Daemon: what each unchanged workload gave the previous reconcile (its builder input, its own
 * outcome, its fingerprint part, whether its plan matched the config's), so a churn event among
 * 500 workloads rebuilds the one that changed. Rebuilding all of them on every pass was ~3.5 of
 * the ~4.8 MiB a reconcile allocated at 500 workloads, and that rate is what made V8 grow its
 * young generation under churn (docs/adr/0010-daemon-memory-under-churn.md).
 *
 * Keyed by the cache's resource objects (a WeakMap: a destroyed workload's entry goes with its
 * resource) and checked against their uid and resourceVersion (the source bumps the version
 * whenever anything in a resource changes; a resource without one is never remembered). An
 * outcome also depends on the config's repo ids: a change of those forgets every outcome. The
 * remembered plans are frozen: they are shared by every later reconcile's entries and report.
 */
export class PlanMemo {
  #resources = new WeakMap<WorkloadResource, Remembered>();
  #outcomes = new WeakMap<WorkloadInput, PlanOutcome>();
  #repoIds: string | undefined;
  /** Per built plan: the config's plan it was last compared with, and the answer. */
  #same = new WeakMap<PlanSpec, { existing: PlanSpec; same: boolean }>();

  #remembered(r: WorkloadResource): Remembered | undefined {
    const version = r.metadata.resourceVersion;
    if (version === undefined) return undefined;
    const known = this.#resources.get(r);
    if (known && known.version === version && known.uid === r.metadata.uid) return known;
    const fresh: Remembered = {
      uid: r.metadata.uid,
      version,
      input: workloadInputOf(r),
      part: fingerprintPart(r),
    };
    this.#resources.set(r, fresh);
    return fresh;
  }

  /** The builder's input for `r`: the same object as long as `r` is unchanged. */
  input(r: WorkloadResource): WorkloadInput {
    return this.#remembered(r)?.input ?? workloadInputOf(r);
  }

  /** `r`'s part of the inputs' fingerprint (see `inputsFingerprint`). */
  part(r: WorkloadResource): string {
    return this.#remembered(r)?.part ?? fingerprintPart(r);
  }

  /**
   * The outcomes of this reconcile: `build` for an input not seen since the repo ids last
   * changed, the remembered outcome otherwise.
   */
  outcomes(
    repoIds: readonly string[],
  ): (w: WorkloadInput, build: () => PlanOutcome) => PlanOutcome {
    const key = repoIds.join('\0');
    if (key !== this.#repoIds) {
      this.#repoIds = key;
      this.#outcomes = new WeakMap();
    }
    const outcomes = this.#outcomes;
    return (w, build) => {
      let outcome = outcomes.get(w);
      if (outcome === undefined) {
        outcome = deepFreeze(build());
        outcomes.set(w, outcome);
      }
      return outcome;
    };
  }

  /** `samePlan(existing, built)`, remembered while both objects are the same. */
  samePlan(existing: PlanSpec | undefined, built: PlanSpec): boolean {
    if (!existing) return false;
    const known = this.#same.get(built);
    if (known?.existing === existing) return known.same;
    const same = samePlan(existing, built);
    this.#same.set(built, { existing, same });
    return same;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
