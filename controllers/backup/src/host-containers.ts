import { isOptedIn, workloadFromContainerInfo, type WorkloadTarget } from '@backrest-sidecar/api';
import type { ContainerActions, HostContainerChanges } from '@dockop/docker';
import { ONE_SHOT_LABEL } from './backup-options.js';

/**
 * The list view of a container can lag its event by a moment (Docker logs `die` before the list
 * shows the container exited): containers listed this soon after their change are listed again
 * on the next pass.
 */
export const LIST_LAG_MS = 2_000;

/** More changed containers than this: one full list is cheaper than id-filtered ones. */
const ID_LIST_MAX = 200;
/** Ids per id-filtered list call (the filter travels in the query string). */
const ID_LIST_BATCH = 50;

/**
 * Every container on the host (not only the labeled ones the shared cache holds), as the volume
 * coverage needs them, kept up to date from Docker's events (`HostContainerChanges`): a pass
 * with no container event since the last one costs nothing, one with a few lists only those
 * containers by id, and one after a reconnect (or without events) lists the host. Our own
 * one-shot containers are left out; a container that is not opted in keeps no labels (the
 * coverage reads only its name, state and mounts).
 */
export class HostContainers {
  readonly #actions: ContainerActions;
  readonly #changes: HostContainerChanges | undefined;
  readonly #byId = new Map<string, WorkloadTarget>();
  /** The events revision the map is complete up to; undefined: list the host. */
  #revision: number | undefined;

  constructor(actions: ContainerActions, changes?: HostContainerChanges) {
    this.#actions = actions;
    this.#changes = changes;
  }

  /**
   * The host's containers now, and whether the coverage may have changed since the previous call (false: the
   * coverage computed from the previous answer still holds). `lagMs` > 0: a change this recent may
   * be missing from the lists; asking again that much later lists it again.
   */
  async current(
    now: number,
  ): Promise<{ targets: WorkloadTarget[]; changed: boolean; lagMs: number }> {
    const at = this.#changes?.hostChanges();
    if (at !== undefined && this.#revision === at.revision) {
      return { targets: [...this.#byId.values()], changed: false, lagMs: 0 };
    }
    const ids =
      at !== undefined && this.#revision !== undefined
        ? this.#changes?.changedSince(this.#revision)
        : undefined;
    // Only containers with a volume or bind mount, before or after, count: the others use no
    // volume and cover none (churn of mount-less containers recounts nothing).
    let changed = false;
    if (ids !== undefined && ids.length <= ID_LIST_MAX) {
      for (let i = 0; i < ids.length; i += ID_LIST_BATCH) {
        const batch = ids.slice(i, i + ID_LIST_BATCH);
        const listed = await this.#actions.list({ id: batch });
        for (const id of batch) {
          const before = this.#byId.get(id);
          if (before && hasVolumeMount(before)) changed = true;
          this.#byId.delete(id);
        }
        if (this.#keep(listed)) changed = true;
      }
    } else {
      const listed = await this.#actions.list({});
      this.#byId.clear();
      this.#keep(listed);
      changed = true;
    }
    // Listed right after a change: the list may not show it yet; ask again next time.
    const lagMs = at === undefined ? 0 : Math.max(0, at.lastChangeAt + LIST_LAG_MS - now);
    if (at !== undefined && lagMs === 0) this.#revision = at.revision;
    else if (this.#revision === undefined || ids === undefined) this.#revision = undefined;
    return { targets: [...this.#byId.values()], changed, lagMs };
  }

  /** Keeps the listed containers; true when one of them has a volume or bind mount. */
  #keep(listed: Awaited<ReturnType<ContainerActions['list']>>): boolean {
    let mounts = false;
    for (const info of listed) {
      const t = workloadFromContainerInfo(info);
      if (t.labels[ONE_SHOT_LABEL] !== undefined) continue;
      this.#byId.set(t.id, isOptedIn(t) ? t : { ...t, labels: {} });
      if (hasVolumeMount(t)) mounts = true;
    }
    return mounts;
  }
}

/** A mount the coverage counts (volumeCoverageOf reads volume and bind mounts only). */
function hasVolumeMount(t: WorkloadTarget): boolean {
  return t.mounts.some((m) => m.type === 'volume' || m.type === 'bind');
}
