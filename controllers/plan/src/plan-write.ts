import type { ReconcileContext } from '@dockop/runtime';
import type { ApplyState } from './apply-state.js';
import type { CommitResult, PlanChanges, PlanStore } from './plan-store.js';

export interface PlanWriteOptions {
  dryRun: boolean;
  /** For the log line and the event. */
  configPath: string;
  /** Where the `ApplyRefused` Warning goes (the config's key). */
  configKey: string;
}

/**
 * Step 4, write: a dry run previews (nothing written); otherwise the store commits (it writes only
 * when the canonical bytes differ). Bytes that took Backrest down once are not written again until
 * the desired config changes: that preview is returned as unchanged, with a Warning; any other
 * config is written normally (and the refusal forgotten). Store errors propagate.
 */
export async function writePlans(
  store: PlanStore,
  apply: ApplyState,
  changes: PlanChanges,
  opts: PlanWriteOptions,
  ctx: Pick<ReconcileContext, 'logger' | 'recorder'>,
): Promise<CommitResult> {
  if (opts.dryRun) return store.preview(changes);
  const refused = apply.refused;
  if (refused !== undefined) {
    const preview = await store.preview(changes);
    if (preview.after === refused) {
      const message =
        'not writing the config again: the same content took Backrest down and was rolled back; change the labels to retry';
      ctx.logger.warn('config.refused', { config: opts.configPath });
      ctx.recorder.event(opts.configKey, 'Warning', 'ApplyRefused', message);
      return { ...preview, changed: false, written: false, diff: '' };
    }
    apply.clearRefused();
  }
  return store.commit(changes);
}
