// Rename the kind, the label prefix and the controller; keep the shape.
import type { ContainerResource } from '@dockop/docker';
import { defineController, defineKind, definePlugin } from '@dockop/runtime';

export interface StopNoticeSpec {
  enable: boolean;
  /** `myplugin.team=payments` */
  team: string;
}

/** Containers labeled `myplugin.enable=true`; `myplugin.*` labels are validated against this. */
export const StopNotice = defineKind<StopNoticeSpec>({
  kind: 'StopNotice',
  group: 'myplugin.example.com',
  prefix: 'myplugin.',
  properties: { team: { type: 'string', pattern: '^[a-z0-9-]{1,40}$', default: 'ops' } },
});

/** A Warning event (and a log line) each time a labeled container stops. */
export function stopNoticePlugin() {
  return definePlugin(
    StopNotice,
    defineController<ContainerResource<StopNoticeSpec>>({
      name: 'stop-notice',
      watches: StopNotice,
      reconcile: (ctx) => {
        const c = ctx.resource;
        if (!c || !ctx.became((r) => r.status?.state === 'exited')) return;
        ctx.logger.warn('container.stopped', { container: c.metadata.name, team: c.spec.team });
        ctx.recorder.event(ctx.request.key, 'Warning', 'Stopped', `stopped (team ${c.spec.team})`);
      },
    }),
  );
}
