import { ContainerModule, type ContainerModuleLoadOptions } from 'inversify';
import { Registry } from 'prom-client';
import { Cache } from './cache.js';
import { Clock } from './clock.js';
import { ConditionStore, InMemoryConditionStore } from './conditions.js';
import { EventRecorder, InMemoryEventRecorder } from './event-recorder.js';
import { createLogger, Logger } from './logger.js';
import { ManagerOptions } from './manager-options.js';
import { MetricsRegistry, PrometheusMetrics, RuntimeMetrics } from './metrics.js';
import { Redactor, SecretRedactor } from './redactor.js';
import { ResourceCache } from './resource-cache.js';
import { ResourceDefinition } from './resource-definition.js';
import { AjvSchemaRegistry, SchemaRegistry } from './schema-registry.js';
import { SystemClock } from './system-clock.js';

// The runtime's DI defaults: every service a module did not bind, in one place.

function isLogger(v: unknown): v is Logger {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Logger).info === 'function' &&
    typeof (v as Logger).child === 'function'
  );
}

/**
 * The runtime's ContainerModule: binds every runtime service that is not bound yet, as a
 * singleton. The manager loads it at `start`/`runOnce`, after your modules.
 */
export function createRuntimeModule(options: ManagerOptions = {}): ContainerModule {
  return new ContainerModule((o: ContainerModuleLoadOptions) => {
    const bindOnce = <T>(
      token: symbol,
      make: (get: <U>(t: symbol) => U, getAll: <U>(t: symbol) => U[]) => T,
    ): void => {
      if (o.isBound(token)) return;
      o.bind<T>(token)
        .toDynamicValue((ctx) =>
          make(
            (t) => ctx.get(t),
            (t) => ctx.getAll(t),
          ),
        )
        .inSingletonScope();
    };
    bindOnce(ManagerOptions, () => options);
    bindOnce(Clock, () => options.clock ?? new SystemClock());
    bindOnce(Redactor, () => new SecretRedactor());
    bindOnce(Logger, (get) =>
      isLogger(options.logger)
        ? options.logger
        : createLogger({
            ...options.logger,
            redactor: get<Redactor>(Redactor),
            clock: get<Clock>(Clock),
          }),
    );
    bindOnce(SchemaRegistry, () => new AjvSchemaRegistry());
    bindOnce(MetricsRegistry, () => new Registry());
    bindOnce(RuntimeMetrics, (get) => new PrometheusMetrics(get<Registry>(MetricsRegistry)));
    bindOnce(
      ConditionStore,
      (get) => new InMemoryConditionStore(get<Clock>(Clock), get<Redactor>(Redactor)),
    );
    bindOnce(
      EventRecorder,
      (get) =>
        new InMemoryEventRecorder({
          clock: get<Clock>(Clock),
          logger: get<Logger>(Logger),
          redactor: get<Redactor>(Redactor),
        }),
    );
    bindOnce(
      Cache,
      (get, getAll) =>
        new ResourceCache({
          schemas: get<SchemaRegistry>(SchemaRegistry),
          definitions: () => getAll<ResourceDefinition>(ResourceDefinition),
          conditions: get<ConditionStore>(ConditionStore),
          recorder: get<EventRecorder>(EventRecorder),
          logger: get<Logger>(Logger),
        }),
    );
  });
}
