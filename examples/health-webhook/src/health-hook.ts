// A webhook when a labeled container turns unhealthy. Opt in with `healthhook.enable=true`.
import type { ContainerResource } from '@dockop/docker';
import { defineController, defineKind, definePlugin } from '@dockop/runtime';

export interface HealthHookSpec {
  enable: boolean;
  severity: 'info' | 'warning' | 'critical';
}

export const HealthHook = defineKind<HealthHookSpec>({
  kind: 'HealthHook',
  group: 'healthhook.examples.dockop.dev',
  prefix: 'healthhook.',
  properties: { severity: { enum: ['info', 'warning', 'critical'], default: 'warning' } },
});

/** The plugin: POSTs `{ container, image, severity }` to `url` on each healthy → unhealthy edge. */
export function healthHookPlugin(url: string | undefined, post: typeof fetch = fetch) {
  // Not echoed: a webhook URL often carries its token.
  if (!/^https?:\/\//.test(url ?? '')) throw new Error(`HEALTHHOOK_URL is not an http(s) URL`);
  return definePlugin(
    HealthHook,
    defineController<ContainerResource<HealthHookSpec>>({
      name: 'health-webhook',
      watches: HealthHook,
      options: { reconcileTimeoutMs: 10_000 }, // aborts ctx.signal: a hung webhook can't block
      reconcile: async (ctx) => {
        const c = ctx.resource;
        if (!c?.status || !ctx.became((r) => r.status?.health === 'unhealthy')) return;
        const body = { container: c.status.name, image: c.status.image, severity: c.spec.severity };
        const res = await post(url!, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: ctx.signal,
        });
        // A throw is retried with backoff, and the edge stays pending until a POST succeeds.
        if (!res.ok) throw new Error(`webhook answered ${res.status}`);
        ctx.recorder.event(ctx.request.key, 'Normal', 'WebhookSent', `${body.container} unhealthy`);
      },
    }),
  );
}
