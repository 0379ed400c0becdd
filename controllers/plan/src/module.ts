import { ConfigSink } from '@backrest-sidecar/config-sink';
import { ContainerActions, DockerClient } from '@dockop/docker';
import { Clock, ControllerContribution } from '@dockop/runtime';
import { ContainerModule, type ResolutionContext } from 'inversify';
import { CommandApplier, ConfigApplier, NoopApplier, RestartApplier } from './apply.js';
import { BackrestApiStore } from './backrest-api-store.js';
import { PlanController } from './plan-controller.js';
import { PlanControllerOptions } from './plan-controller-options.js';
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
    ...(docker ? { instanceHostName: () => engineHostName(docker) } : {}),
  });
}

/**
 * The Docker engine's host name (`docker info` Name): the default `instance` of a native config
 * we create. Inside a container our own host name is a random container id; the engine's is the
 * host's, stable across recreations (the same "this host" as restic's --host).
 */
async function engineHostName(docker: DockerClient): Promise<string> {
  const info = (await docker.request('system.info', (d) => d.info())) as { Name?: unknown };
  if (typeof info.Name !== 'string' || info.Name === '') throw new Error('docker info has no Name');
  return info.Name;
}

function applierFor(ctx: ResolutionContext): ConfigApplier {
  const opts = ctx.get<PlanControllerOptions>(PlanControllerOptions);
  const apply = opts.apply;
  if (opts.dryRun || !apply) return new NoopApplier();
  switch (apply.mode) {
    case 'restart':
      return new RestartApplier(
        ctx.get<ContainerActions>(ContainerActions),
        ctx.get<PlanStore>(PlanStore),
        ctx.get<Clock>(Clock),
        {
          container: apply.container ?? 'backrest',
          ...(apply.cooldownMs !== undefined ? { cooldownMs: apply.cooldownMs } : {}),
          ...(apply.stableMs !== undefined ? { stableMs: apply.stableMs } : {}),
        },
      );
    case 'command':
      if (!apply.command) throw new Error('apply mode "command" needs --reload-cmd');
      return new CommandApplier({ command: apply.command });
    case 'api':
    case 'none':
      return new NoopApplier();
  }
}

/**
 * The plan controller as a plugin: needs `PlanControllerOptions` bound first (the CLI does it),
 * plus the runtime's Clock and, for `--apply`, the Docker module's ContainerActions.
 */
export const planControllerModule = new ContainerModule((options) => {
  options.bind<PlanReport>(PlanReport).toConstantValue(new PlanReport());
  options.bind<PlanStore>(PlanStore).toDynamicValue(storeFor).inSingletonScope();
  options.bind<ConfigApplier>(ConfigApplier).toDynamicValue(applierFor).inSingletonScope();
  options
    .bind<ControllerContribution>(ControllerContribution)
    .to(PlanController)
    .inSingletonScope();
});

export default planControllerModule;
