import type Dockerode from 'dockerode';
import { matchesLabelFilter } from '@dockop/docker';
import {
  isOptedIn,
  planIdFor,
  workloadFromContainerInfo,
  type WorkloadTarget,
} from '@backrest-sidecar/api';
import { ONE_SHOT_LABEL } from './backup-options.js';
import { selectMounts } from './backup-workloads.js';

export type VolumeCoverageState =
  /** A running container uses it and a plan backs it up. */
  | 'Covered'
  /** A running container uses it and no plan backs it up. */
  | 'Uncovered'
  /** Only stopped containers use it (reported separately: it may be a leftover). */
  | 'StoppedOnly';

export interface VolumeUser {
  container: string;
  /** Docker state: running, exited, created... */
  state: string;
  destination: string;
  readOnly: boolean;
}

export interface VolumeCoverage {
  type: 'volume' | 'bind';
  /** Volume name, or the bind mount's host path. */
  source: string;
  state: VolumeCoverageState;
  users: VolumeUser[];
  /** Plans (and their containers) that back this volume up; empty when uncovered. */
  coveredBy: { planId: string; container: string }[];
}

export interface VolumeCoverageOptions {
  /** The plan id prefix (`--plan-id-prefix`). Default `backrest_sidecar_`. */
  planIdPrefix?: string;
  /** `--exclude-bind-mounts`: bind mounts are never backed up. Default false. */
  excludeBindMounts?: boolean;
  /** Only opted-in containers carrying these labels (`key` or `key=value`) cover volumes. */
  selector?: string[];
}

const ACTIVE = new Set(['running', 'restarting', 'paused']);

/** A bind of the Docker socket is access, not data: never listed. */
function isDockerSocket(source: string): boolean {
  return /(^|\/)docker\.sock$/.test(source);
}

/**
 * Every volume and bind mount of every container on the host, and which plan backs it up: a
 * mount is covered when an opted-in workload (`backrest.enable=true` or rcb's
 * `volumes=true`, within the selector) mounts the same volume or host path and keeps it after its
 * include/exclude and `--exclude-bind-mounts` filters (the backup engines' rules). Our own
 * one-shot containers and Docker socket binds are left out. Sorted: uncovered first, then by name.
 */
export function volumeCoverage(
  containers: readonly Dockerode.ContainerInfo[],
  options: VolumeCoverageOptions = {},
): VolumeCoverage[] {
  return volumeCoverageOf(containers.map(workloadFromContainerInfo), options);
}

/** `volumeCoverage` of containers already read as workload targets (`HostContainers`). */
export function volumeCoverageOf(
  all: readonly WorkloadTarget[],
  options: VolumeCoverageOptions = {},
): VolumeCoverage[] {
  const byKey = new Map<string, VolumeCoverage>();
  const keyOf = (type: string, source: string) => `${type}\u0000${source}`;
  const targets = all.filter((t) => t.labels[ONE_SHOT_LABEL] === undefined);
  for (const t of targets) {
    for (const m of t.mounts) {
      if (m.type !== 'volume' && m.type !== 'bind') continue;
      const source = m.type === 'volume' ? (m.name ?? m.source) : m.source;
      if (!source || (m.type === 'bind' && isDockerSocket(source))) continue;
      const key = keyOf(m.type, source);
      let row = byKey.get(key);
      if (!row) {
        row = { type: m.type, source, state: 'StoppedOnly', users: [], coveredBy: [] };
        byKey.set(key, row);
      }
      row.users.push({
        container: t.name,
        state: t.state,
        destination: m.destination,
        readOnly: m.readOnly,
      });
    }
  }
  const selector = options.selector ?? [];
  for (const t of targets) {
    if (!isOptedIn(t) || !matchesLabelFilter(t.labels, selector)) continue;
    let planId: string;
    try {
      planId = planIdFor(
        { name: t.name, compose: t.compose },
        options.planIdPrefix !== undefined ? { prefix: options.planIdPrefix } : {},
      );
    } catch {
      continue; // a prefix the plan controller refuses: it makes no plan either
    }
    for (const m of selectMounts(t, options.excludeBindMounts === true)) {
      const source = m.type === 'volume' ? (m.name ?? m.source) : m.source;
      const row = byKey.get(keyOf(m.type, source));
      if (row && !row.coveredBy.some((c) => c.planId === planId)) {
        row.coveredBy.push({ planId, container: t.name });
      }
    }
  }
  const order: Record<VolumeCoverageState, number> = { Uncovered: 0, Covered: 1, StoppedOnly: 2 };
  return [...byKey.values()]
    .map((row) => {
      const running = row.users.some((u) => ACTIVE.has(u.state));
      row.state = !running ? 'StoppedOnly' : row.coveredBy.length > 0 ? 'Covered' : 'Uncovered';
      row.users.sort((a, b) => a.container.localeCompare(b.container));
      return row;
    })
    .sort((a, b) => order[a.state] - order[b.state] || a.source.localeCompare(b.source));
}
