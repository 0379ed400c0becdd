import type { ImageLabelTrust } from '@dockop/docker';
import { backupWorkloadDefinition } from './backup-workload.js';
import type { WorkloadTarget } from './workload-target.js';

/**
 * Decides which of a workload's labels may steer the one-shot modes (forget, backup-once). A label
 * an image sets (a LABEL in someone else's Dockerfile) must not choose what `restic forget`
 * deletes: it is trusted only when the container itself sets it, or the operator opted in.
 */
export interface WorkloadLabelTrust {
  /** The keys among `keys` that are not trusted for `target` (sorted). */
  untrusted(target: WorkloadTarget, keys: readonly string[]): Promise<string[]>;
}

/**
 * WorkloadLabelTrust over @dockop/docker's ImageLabelTrust (the rule the Docker source applies to
 * every resource): a sensitive label whose value comes from the image is untrusted unless
 * `trustImageLabels` (`--trust-image-labels`, default false).
 */
export class ImageWorkloadLabelTrust implements WorkloadLabelTrust {
  readonly #trust: Pick<ImageLabelTrust, 'filter'>;
  readonly #trustImageLabels: boolean;

  constructor(trust: Pick<ImageLabelTrust, 'filter'>, trustImageLabels = false) {
    this.#trust = trust;
    this.#trustImageLabels = trustImageLabels;
  }

  async untrusted(target: WorkloadTarget, keys: readonly string[]): Promise<string[]> {
    // Decided on the spec paths `keys` decode to, so every alias of the same field counts
    // (`backrest.keep` and `restic-compose-backup.keep` alike).
    const selector = {
      ...backupWorkloadDefinition.selector,
      sensitivePaths: [],
      sensitiveLabels: [...keys],
    };
    const { untrusted } = await this.#trust.filter(
      selector,
      { labels: target.labels, imageId: target.imageId },
      this.#trustImageLabels,
    );
    return [...untrusted].sort();
  }
}

/** Trusts every label: only for tests and callers that checked trust themselves. */
export const trustAllLabels: WorkloadLabelTrust = { untrusted: async () => [] };
