import { ContainerModule } from 'inversify';
import { HealthCheck, MetricsRegistry, Source } from '@dockop/runtime';
import {
  ContainerActions,
  ContainerActionsOptions,
  DockerContainerActions,
} from './container-actions.js';
import { DockerClient, DockerodeClient, type DockerClientOptions } from './docker-client.js';
import { DockerLivenessCheck, DockerReadinessCheck } from './docker-health.js';
import { DockerMetrics, PromDockerMetrics } from './docker-metrics.js';
import { DockerSource, DockerSourceOptions, HostContainerChanges } from './docker-source.js';

/**
 * Options of `dockerModule`. Connection: `socketPath` wins over `host`, which wins over
 * `DOCKER_HOST`; default `/var/run/docker.sock`.
 */
export interface DockerModuleOptions extends DockerClientOptions, DockerSourceOptions {
  // From DockerClientOptions:
  //   socketPath?        unix socket                              default: DOCKER_HOST, else /var/run/docker.sock
  //   host?              unix:// | tcp:// | ssh:// address         default: DOCKER_HOST
  //   apiVersion?        e.g. '1.41'                              default: DOCKER_API_VERSION, else the engine's
  //   requestTimeoutMs?  idle timeout of short requests           default 30000
  // From DockerSourceOptions:
  //   resyncPeriodMs 60000, trustImageLabels false, maxLabelBytes 4096, recreateGraceMs 2000,
  //   livenessGraceMs 120000, reconnect { initialMs 500, factor 2, maxMs 30000, resetAfterMs 30000 }
  /** ContainerActions deadlines: requestTimeoutMs 30000, stopTimeoutSec 10, oneShotTimeoutMs 6 h, pollIntervalMs 250. */
  actions?: ContainerActionsOptions;
  //   watchEvents true (false: no events stream, a relist every resyncPeriodMs)
}

/**
 * Binds Docker as the API server: `DockerClient`, `DockerSource` (as a `Source`, fed by every
 * bound `ResourceDefinition`, and as `HostContainerChanges`), `ContainerActions`, `DockerMetrics` (on the runtime's
 * MetricsRegistry when bound) and readiness/liveness `HealthCheck`s.
 */
export function dockerModule(options: DockerModuleOptions = {}): ContainerModule {
  const { actions, socketPath, host, apiVersion, requestTimeoutMs, ...sourceOptions } = options;
  const clientOptions: DockerClientOptions = {
    ...(socketPath !== undefined ? { socketPath } : {}),
    ...(host !== undefined ? { host } : {}),
    ...(apiVersion !== undefined ? { apiVersion } : {}),
    ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}),
  };
  return new ContainerModule((o) => {
    o.bind<DockerSourceOptions>(DockerSourceOptions).toConstantValue(sourceOptions);
    o.bind<ContainerActionsOptions>(ContainerActionsOptions).toConstantValue({
      ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}),
      ...actions,
    });
    o.bind<DockerMetrics>(DockerMetrics)
      .toDynamicValue(
        (ctx) =>
          new PromDockerMetrics(ctx.get<MetricsRegistry>(MetricsRegistry, { optional: true })),
      )
      .inSingletonScope();
    o.bind<DockerClient>(DockerClient)
      .toDynamicValue(
        (ctx) => new DockerodeClient(clientOptions, ctx.get<DockerMetrics>(DockerMetrics)),
      )
      .inSingletonScope();
    o.bind(DockerSource).toSelf().inSingletonScope();
    o.bind<Source>(Source).toService(DockerSource);
    o.bind<HostContainerChanges>(HostContainerChanges).toService(DockerSource);
    o.bind<ContainerActions>(ContainerActions).to(DockerContainerActions).inSingletonScope();
    o.bind<HealthCheck>(HealthCheck).to(DockerReadinessCheck).inSingletonScope();
    o.bind<HealthCheck>(HealthCheck).to(DockerLivenessCheck).inSingletonScope();
  });
}
