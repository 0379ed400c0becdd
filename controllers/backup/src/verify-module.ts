import { LifecycleHook } from '@dockop/runtime';
import { ContainerModule } from 'inversify';
import { VerifyScheduler, VerifySchedulerOptions } from './verify-scheduler.js';

/**
 * The daemon's restore-drill module (`--verify-schedule`): binds VerifyScheduler as a
 * LifecycleHook; it registers the last-verified gauge and seeds it from the status files.
 */
export function verifyModule(options: VerifySchedulerOptions): ContainerModule {
  return new ContainerModule((o) => {
    o.bind<VerifySchedulerOptions>(VerifySchedulerOptions).toConstantValue(options);
    o.bind(VerifyScheduler).toSelf().inSingletonScope();
    o.bind<LifecycleHook>(LifecycleHook).toService(VerifyScheduler);
  });
}
