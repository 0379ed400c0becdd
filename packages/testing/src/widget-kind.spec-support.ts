// A small kind and controller the kit's own tests run against (not exported).
import {
  ControllerContribution,
  JsonSchema,
  ResourceDefinition,
  type ControllerOptions,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
  type Reconciler,
  type Watch,
} from '@dockop/runtime';
import { ContainerModule } from 'inversify';

export const WIDGET_KIND = 'Widget';

export const widgetDefinition: ResourceDefinition = {
  group: 'testing.dockop.dev',
  version: 'v1',
  kind: WIDGET_KIND,
  plural: 'widgets',
  selector: {
    prefixes: ['widget.'],
    enableLabel: 'widget.enable',
    sensitiveLabels: ['widget.command'],
  },
  schemaId: 'https://dockop.dev/schemas/testing/widget.json',
};

export const widgetSchema: JsonSchema = {
  $id: 'https://dockop.dev/schemas/testing/widget.json',
  type: 'object',
  properties: {
    enable: { type: 'boolean' },
    size: { type: 'integer', minimum: 1 },
    command: { type: 'string' },
    nested: { type: 'object', properties: { a: { type: 'string' } } },
  },
  additionalProperties: false,
};

/** What the recording reconciler saw, per call. */
export interface Seen {
  key: string;
  at: number;
  exists: boolean;
}

export class RecordingReconciler implements Reconciler {
  readonly seen: Seen[] = [];
  /** Return value (or throw) per call; default: success. */
  behaviour: (req: ReconcileRequest, ctx: ReconcileContext) => Promise<ReconcileResult | void> =
    async () => {};

  async reconcile(req: ReconcileRequest, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    this.seen.push({
      key: req.key,
      at: ctx.clock.now(),
      exists: ctx.cache.get(req.key) !== undefined,
    });
    return this.behaviour(req, ctx);
  }
}

export function widgetModule(
  reconciler: RecordingReconciler,
  options: ControllerOptions = {},
): ContainerModule {
  const contribution: ControllerContribution = {
    name: 'widgets',
    watches: [{ kind: WIDGET_KIND } satisfies Watch],
    options,
    reconciler,
  };
  return new ContainerModule((o) => {
    o.bind<ResourceDefinition>(ResourceDefinition).toConstantValue(widgetDefinition);
    o.bind<JsonSchema>(JsonSchema).toConstantValue(widgetSchema);
    o.bind<ControllerContribution>(ControllerContribution).toConstantValue(contribution);
  });
}
