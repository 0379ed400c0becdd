import 'reflect-metadata';
import { expect } from 'chai';
import { ControllerContribution } from './controller-contribution.js';
import { defineController, type ControllerContext } from './define-controller.js';
import { defineKind } from './define-kind.js';
import { definePlugin } from './define-plugin.js';
import { InMemorySource } from './in-memory-source.js';
import { MemoryLogStream } from './logger.js';
import { createManager, type Manager } from './manager.js';
import { ResourceDefinition } from './resource-definition.js';
import type { Resource } from './resource.js';
import { AjvSchemaRegistry, JsonSchema } from './schema-registry.js';
import { Source } from './source.js';
import { VirtualClock, flushMicrotasks } from './virtual-clock.js';

interface ProbeSpec {
  enable: boolean;
  level: 'low' | 'high';
}
type Probe = Resource<ProbeSpec, { health: string }>;

const ProbeKind = defineKind<ProbeSpec>({
  kind: 'Probe',
  group: 'probe.test.dockop.dev',
  prefix: 'probe.',
  properties: { level: { enum: ['low', 'high'], default: 'low' } },
});

function probe(name: string, health: string, rv: string): Probe {
  return {
    apiVersion: 'probe.test.dockop.dev/v1alpha1',
    kind: 'Probe',
    metadata: {
      name,
      uid: name,
      labels: {},
      annotations: {},
      generation: 1,
      resourceVersion: rv,
      creationTimestamp: '',
    },
    spec: { enable: true, level: 'low' },
    status: { health },
  };
}

async function settle(manager: Manager): Promise<void> {
  for (let idle = 0; idle < 3;) {
    await flushMicrotasks();
    const busy = manager.controllers.some(
      (c) => c.queue.len() > 0 || c.queue.processingCount() > 0,
    );
    idle = busy ? 0 : idle + 1;
  }
}

describe('defineKind', () => {
  it('makes the definition and a closed schema with a shared $id, and an enable property', () => {
    expect(ProbeKind.definition).to.deep.equal({
      group: 'probe.test.dockop.dev',
      version: 'v1alpha1',
      kind: 'Probe',
      plural: 'probes',
      selector: { prefixes: ['probe.'], enableLabel: 'probe.enable' },
      schemaId: 'https://dockop.dev/schemas/probe.test.dockop.dev/v1alpha1/probes.json',
    });
    expect(ProbeKind.schema.$id).to.equal(ProbeKind.definition.schemaId);
    expect(ProbeKind.schema['additionalProperties']).to.equal(false);
    expect(ProbeKind.schema['properties']).to.deep.equal({
      level: { enum: ['low', 'high'], default: 'low' },
      enable: { type: 'boolean' },
    });
    expect(ProbeKind.key('web')).to.equal('Probe/web');
  });

  it('compiles with ajv: label strings coerced, defaults filled, unknown fields refused', () => {
    const registry = new AjvSchemaRegistry();
    registry.add(ProbeKind.schema);
    const ok = registry.validate<ProbeSpec>(ProbeKind.schema.$id, { enable: 'true' });
    expect(ok.valid, JSON.stringify(ok)).to.equal(true);
    expect(ok.value).to.deep.equal({ enable: true, level: 'low' });
    expect(
      registry.validate(ProbeKind.schema.$id, { enable: 'true', level: 'mid' }).valid,
    ).to.equal(false);
  });

  it('refuses a kind that could never work, naming the option', () => {
    expect(() => defineKind({ kind: 'probe', group: 'g', prefix: 'p.' })).to.throw(/CamelCase/);
    expect(() => defineKind({ kind: 'Probe', group: 'g', prefix: 'p' })).to.throw(/ending in "\."/);
    expect(() => defineKind({ kind: 'Probe', group: '', prefix: 'p.' })).to.throw(/group/);
    const open = defineKind({ kind: 'Open', group: 'g', prefix: 'o.', enableLabel: false });
    expect(open.definition.selector).to.deep.equal({ prefixes: ['o.'] });
    expect(open.schema['properties']).to.deep.equal({});
  });
});

describe('defineController + definePlugin', () => {
  let manager: Manager;
  let source: InMemorySource;
  let seen: { key: string; health?: string; previous?: string; became: boolean }[];
  let failNext: boolean;
  const Greeting = Symbol('Greeting');

  beforeEach(async () => {
    seen = [];
    failNext = false;
    source = new InMemorySource('test');
    manager = createManager({
      clock: new VirtualClock(),
      logger: { level: 'error', stream: new MemoryLogStream().writable },
    });
    const controller = defineController<Probe>({
      name: 'probe-watch',
      watches: ProbeKind,
      reconcile: (ctx: ControllerContext<Probe>) => {
        expect(ctx.get<string>(Greeting)).to.equal('hello');
        seen.push({
          key: ctx.request.key,
          ...(ctx.resource ? { health: ctx.resource.status?.health } : {}),
          ...(ctx.previous ? { previous: ctx.previous.status?.health } : {}),
          became: ctx.became((r) => r.status?.health === 'unhealthy'),
        });
        if (failNext) {
          failNext = false;
          throw new Error('webhook down');
        }
      },
    });
    manager.load(
      definePlugin(ProbeKind, controller, (o) => {
        o.bind<string>(Greeting).toConstantValue('hello');
        o.bind<Source>(Source).toConstantValue(source);
      }),
    );
    source.set(probe('a', 'healthy', '1'));
    await manager.start();
    await settle(manager);
  });

  afterEach(() => manager.stop());

  it('binds the kind, its schema and one controller contribution', () => {
    expect(manager.getAll(ResourceDefinition)).to.deep.equal([ProbeKind.definition]);
    expect(manager.getAll<JsonSchema>(JsonSchema).map((s) => s.$id)).to.deep.equal([
      ProbeKind.schema.$id,
    ]);
    expect(
      manager.getAll<ControllerContribution>(ControllerContribution).map((c) => c.name),
    ).to.deep.equal(['probe-watch']);
  });

  it('hands the previous observation to reconcile, so became() fires once per edge', async () => {
    source.set(probe('a', 'unhealthy', '2'));
    await settle(manager);
    source.set({
      ...probe('a', 'unhealthy', '3'),
      metadata: { ...probe('a', '', '3').metadata, labels: { x: 'y' } },
    });
    await settle(manager);
    source.set(probe('a', 'healthy', '4'));
    await settle(manager);
    source.set(probe('a', 'unhealthy', '5'));
    await settle(manager);
    expect(seen).to.deep.equal([
      { key: 'Probe/a', health: 'healthy', became: false },
      { key: 'Probe/a', health: 'unhealthy', previous: 'healthy', became: true },
      { key: 'Probe/a', health: 'unhealthy', previous: 'unhealthy', became: false },
      { key: 'Probe/a', health: 'healthy', previous: 'unhealthy', became: false },
      { key: 'Probe/a', health: 'unhealthy', previous: 'healthy', became: true },
    ]);
  });

  it('keeps the previous observation when a reconcile fails, so the retry sees the same edge', async () => {
    failNext = true;
    source.set(probe('a', 'unhealthy', '2'));
    await settle(manager);
    // The retry waits for the rate limiter's backoff (5 ms) on the virtual clock.
    (manager.clock as VirtualClock).advance(10);
    await settle(manager);
    expect(seen.slice(1)).to.deep.equal([
      { key: 'Probe/a', health: 'unhealthy', previous: 'healthy', became: true },
      { key: 'Probe/a', health: 'unhealthy', previous: 'healthy', became: true },
    ]);
  });

  it('shows a deleted resource its last observation, then forgets it: a new one starts afresh', async () => {
    source.remove('Probe/a');
    await settle(manager);
    source.set(probe('a', 'unhealthy', '9'));
    await settle(manager);
    expect(seen.slice(1)).to.deep.equal([
      { key: 'Probe/a', previous: 'healthy', became: false },
      { key: 'Probe/a', health: 'unhealthy', became: true },
    ]);
  });
});
