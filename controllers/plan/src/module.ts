import { ConfigSink } from '@backrest-sidecar/config-sink';
import { ContainerActions, DockerClient, engineHostName } from '@dockop/docker';
import { Clock, ControllerContribution, MetricsRegistry, makeKey } from '@dockop/runtime';
import { ContainerModule, type ResolutionContext } from 'inversify';
import { CommandApplier, ConfigApplier, NoopApplier, RestartApplier } from './apply.js';
import { ApplyController } from './apply-controller.js';
import { ApplyMetrics } from './apply-metrics.js';
import { ApplyState } from './apply-state.js';
import { ApiActivity, ProcessActivity, type BackrestActivity } from './backrest-activity.js';
import { BackrestApiStore } from './backrest-api-store.js';
import { PlanController } from './plan-controller.js';
import { CONFIG_KIND, PlanControllerOptions } from './plan-controller-options.js';
import { PlanMetrics } from './plan-metrics.js';
import { PlanReport } from './plan-report.js';
import { PlanStore } from './plan-store.js';

function storeFor(ctx: ResolutionContext): PlanStore {
  const opts = ctx.get<PlanControllerOptions>(PlanControllerOptions);
  if (opts.apply?.mode === 'api') {
    if (!opts.apply.url) throw new Error('apply mode "api" needs --backrest-url');
    return new BackrestApiStore({
      url: opts.apply.url,
      ...(opts.apply.authorization ? { authorization: opts.apply.authorization } : {}),
    });
  }
  const docker = ctx.get<DockerClient>(DockerClient, { optional: true });
  return new ConfigSink({
    path: opts.configPath,
    ...(opts.configFormat ? { format: opts.configFormat } : {}),
    ...(opts.writeMode ? { writeMode: opts.writeMode } : {}),
    ...(opts.instance ? { instance: opts.instance } : {}),
    // The default `instance` of a native config we create: the engine's host name, the same
    // "this host" as restic's --host.
    ...(docker ? { instanceHostName: () => engineHostName(docker) } : {}),
  });
}

/** Where the apply worker's state lives: one target (the container, URL or command). */
function stateFor(ctx: ResolutionContext): ApplyState {
  const opts = ctx.get<PlanControllerOptions>(PlanControllerOptions);
  const apply = opts.apply;
  const target =
    apply?.mode === 'restart'
      ? (apply.container ?? 'backrest')
      : apply?.mode === 'api'
        ? (apply.url ?? 'api')
        : (apply?.mode ?? 'none');
  const clock = ctx.get<Clock>(Clock);
  return new ApplyState(
    target,
    () => clock.now(),
    opts.applyStatusFile ? { path: opts.applyStatusFile, config: opts.configPath } : undefined,
  );
}

function metricsFor(ctx: ResolutionContext): ApplyMetrics {
  // A bare container without the runtime module: no metrics.
  return new ApplyMetrics(ctx.get<MetricsRegistry>(MetricsRegistry, { optional: true }));
}

function applierFor(ctx: ResolutionContext): ConfigApplier {
  const opts = ctx.get<PlanControllerOptions>(PlanControllerOptions);
  const apply = opts.apply;
  if (opts.dryRun || !apply) return new NoopApplier();
  switch (apply.mode) {
    case 'restart': {
      const container = apply.container ?? 'backrest';
      const actions = ctx.get<ContainerActions>(ContainerActions);
      const processes = new ProcessActivity(actions, container);
      const activity: BackrestActivity = apply.url
        ? new ApiActivity(
            {
              url: apply.url,
              ...(apply.authorization ? { authorization: apply.authorization } : {}),
            },
            processes,
          )
        : processes;
      const metrics = ctx.get<ApplyMetrics>(ApplyMetrics);
      return new RestartApplier(
        actions,
        ctx.get<PlanStore>(PlanStore),
        ctx.get<Clock>(Clock),
        activity,
        {
          container,
          ...(apply.cooldownMs !== undefined ? { cooldownMs: apply.cooldownMs } : {}),
          ...(apply.stableMs !== undefined ? { stableMs: apply.stableMs } : {}),
          ...(apply.stopTimeoutSec !== undefined ? { stopTimeoutSec: apply.stopTimeoutSec } : {}),
          ...(apply.maxDeferMs !== undefined ? { maxDeferMs: apply.maxDeferMs } : {}),
        },
        (c, deferred) => metrics.deferred.set({ container: c }, deferred ? 1 : 0),
      );
    }
    case 'command':
      if (!apply.command) throw new Error('apply mode "command" needs --reload-cmd');
      return new CommandApplier({ command: apply.command });
    case 'api':
    case 'none':
      return new NoopApplier();
  }
}

function applyControllerFor(ctx: ResolutionContext): ApplyController {
  const opts = ctx.get<PlanControllerOptions>(PlanControllerOptions);
  const applier = ctx.get<ConfigApplier>(ConfigApplier);
  const state = ctx.get<ApplyState>(ApplyState);
  const metrics = ctx.get<ApplyMetrics>(ApplyMetrics);
  const counted: ConfigApplier = {
    name: applier.name,
    ...(applier.cooldownMs !== undefined ? { cooldownMs: applier.cooldownMs } : {}),
    apply: async (c, r) => {
      const outcome = await applier.apply(c, r);
      metrics.applies.inc({ container: state.target, outcome: outcome.status });
      return outcome;
    },
  };
  return new ApplyController(
    counted,
    state,
    ctx.get<PlanReport>(PlanReport),
    makeKey(CONFIG_KIND, opts.configPath),
    opts.applyDebounce ? { debounce: opts.applyDebounce } : {},
  );
}

/**
 * The plan controller as a plugin: needs `PlanControllerOptions` bound first (the CLI does it),
 * plus the runtime's Clock and, for `--apply`, the Docker module's ContainerActions. Two
 * controllers: `plan` writes the config, `backrest-apply` applies it (restart, command).
 */
export const planControllerModule = new ContainerModule((options) => {
  options
    .bind<PlanReport>(PlanReport)
    .toDynamicValue((ctx) => {
      const report = new PlanReport();
      const metrics = new PlanMetrics(
        ctx.get<MetricsRegistry>(MetricsRegistry, { optional: true }),
      );
      report.onRecord((summary) => metrics.observe(summary));
      return report;
    })
    .inSingletonScope();
  options.bind<PlanStore>(PlanStore).toDynamicValue(storeFor).inSingletonScope();
  options.bind<ApplyState>(ApplyState).toDynamicValue(stateFor).inSingletonScope();
  options.bind<ApplyMetrics>(ApplyMetrics).toDynamicValue(metricsFor).inSingletonScope();
  options.bind<ConfigApplier>(ConfigApplier).toDynamicValue(applierFor).inSingletonScope();
  options
    .bind<ControllerContribution>(ControllerContribution)
    .to(PlanController)
    .inSingletonScope();
  options
    .bind<ControllerContribution>(ControllerContribution)
    .toDynamicValue(applyControllerFor)
    .inSingletonScope();
});

export default planControllerModule;
