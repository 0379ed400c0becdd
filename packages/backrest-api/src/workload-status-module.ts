import { Clock, Logger, Redactor } from '@dockop/runtime';
import { ContainerModule } from 'inversify';
import { WorkloadStatusStore } from './workload-status-store.js';

/**
 * Binds the one `WorkloadStatusStore` of `stateDir` (singleton), on the runtime's clock, logger and
 * redactor when bound. Every controller that writes workload status injects it (`@optional()`:
 * without this module nothing is recorded), so the CLI loads it once for all of them.
 */
export function workloadStatusModule(stateDir: string): ContainerModule {
  return new ContainerModule((o) => {
    o.bind<WorkloadStatusStore>(WorkloadStatusStore)
      .toDynamicValue((ctx) => {
        const clock = ctx.get<Clock>(Clock, { optional: true });
        const logger = ctx.get<Logger>(Logger, { optional: true });
        const redactor = ctx.get<Redactor>(Redactor, { optional: true });
        return new WorkloadStatusStore({
          stateDir,
          ...(clock ? { now: () => clock.now() } : {}),
          ...(logger ? { logger: logger.child({ component: 'workload-status' }) } : {}),
          ...(redactor ? { redactor } : {}),
        });
      })
      .inSingletonScope();
  });
}
