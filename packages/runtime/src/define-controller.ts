/**
 * The plain-function controller form: a name, what to watch and one `reconcile(ctx)` function,
 * instead of an injectable reconciler class, a `ControllerContribution` class and their bindings.
 * The context carries the resource as it is now and as this controller last saw it, so
 * edge-triggered work ("turned unhealthy") needs no baseline map of its own.
 */
import type { ContainerModuleLoadOptions, ServiceIdentifier } from 'inversify';
import {
  ControllerContribution,
  type ControllerOptions,
  type Watch,
} from './controller-contribution.js';
import type { ResourceKind } from './define-kind.js';
import type {
  ReconcileContext,
  ReconcileRequest,
  ReconcileResult,
  Reconciler,
} from './reconciler.js';
import type { Resource, ResourceKey } from './resource.js';

export interface ControllerContext<R extends Resource = Resource> extends ReconcileContext {
  request: ReconcileRequest;
  /** The resource behind `request.key` as the cache holds it now; undefined once it is gone or refused. */
  resource: R | undefined;
  /**
   * The resource as this controller saw it at the key's last successful reconcile: undefined on
   * the key's first reconcile since start and after it was gone. A failed reconcile (thrown
   * error) leaves it as it was, so its retry sees the same transition.
   */
  previous: R | undefined;
  /**
   * True when `test` holds for `resource` and did not hold for `previous`: the edge of a change
   * (`ctx.became((r) => r.status?.health === 'unhealthy')`). A resource already matching at the
   * controller's start counts as an edge (nothing was seen before it).
   */
  became(test: (resource: R) => boolean): boolean;
  /** A service bound in the manager's container (your options, `ContainerActions`, ...). */
  get<T>(token: ServiceIdentifier<T>): T;
}

export type ReconcileFunction<R extends Resource> = (
  ctx: ControllerContext<R>,
) => Promise<ReconcileResult | void> | ReconcileResult | void;

/** What to watch: a kind (its resources' own keys are reconciled), a kind name, or a full `Watch`. */
export type WatchSpec = ResourceKind<never> | ResourceKind | string | Watch;

export interface ControllerSpec<R extends Resource = Resource> {
  /** Unique; the `controller` label of metrics and logs. */
  name: string;
  watches: WatchSpec | WatchSpec[];
  /** Queue and worker options (debounce, resync, concurrency...). Default: the runtime's. */
  options?: ControllerOptions;
  reconcile: ReconcileFunction<R>;
}

/** A controller ready to be bound: `definePlugin` calls `bind`. */
export interface ControllerDefinition {
  readonly name: string;
  bind(options: ContainerModuleLoadOptions): void;
}

function toWatch(spec: WatchSpec): Watch {
  if (typeof spec === 'string') return { kind: spec };
  if ('definition' in spec) return { kind: spec.kind };
  return spec;
}

/** The `Reconciler` behind a function controller; one per manager (singleton binding). */
export class FunctionReconciler<R extends Resource> implements Reconciler {
  readonly #reconcile: ReconcileFunction<R>;
  readonly #get: <T>(token: ServiceIdentifier<T>) => T;
  /** Last successfully reconciled version per key; a key is never reconciled twice at once. */
  readonly #observed = new Map<ResourceKey, R>();

  constructor(reconcile: ReconcileFunction<R>, get: <T>(token: ServiceIdentifier<T>) => T) {
    this.#reconcile = reconcile;
    this.#get = get;
  }

  async reconcile(
    request: ReconcileRequest,
    rc: ReconcileContext,
  ): Promise<ReconcileResult | void> {
    const resource = rc.cache.get<R>(request.key);
    const previous = this.#observed.get(request.key);
    const ctx: ControllerContext<R> = {
      ...rc,
      request,
      resource,
      previous,
      became: (test) =>
        resource !== undefined && test(resource) && !(previous !== undefined && test(previous)),
      get: this.#get,
    };
    const result = await this.#reconcile(ctx);
    if (resource === undefined) this.#observed.delete(request.key);
    else this.#observed.set(request.key, resource);
    return result;
  }
}

/**
 * A controller from a function:
 * `defineController({ name: 'hooks', watches: HealthHook, reconcile: async (ctx) => ... })`.
 */
export function defineController<R extends Resource = Resource>(
  spec: ControllerSpec<R>,
): ControllerDefinition {
  if (!spec.name) throw new Error('defineController: name is required');
  const watches = (Array.isArray(spec.watches) ? spec.watches : [spec.watches]).map(toWatch);
  if (watches.length === 0) throw new Error(`defineController(${spec.name}): nothing to watch`);
  return {
    name: spec.name,
    bind(o) {
      o.bind<ControllerContribution>(ControllerContribution)
        .toDynamicValue((context) => ({
          name: spec.name,
          watches,
          ...(spec.options ? { options: spec.options } : {}),
          reconciler: new FunctionReconciler<R>(spec.reconcile, (token) => context.get(token)),
        }))
        .inSingletonScope();
    },
  };
}
