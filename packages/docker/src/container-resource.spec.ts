import { expect } from 'chai';
import type Dockerode from 'dockerode';
import fc from 'fast-check';
import { ownLabels, type ResourceDefinition } from '@dockop/runtime';
import {
  buildContainerResource,
  composeOf,
  healthFromStatusText,
  observeInspected,
  observeListed,
  plainLabels,
  sameObservation,
  swarmOf,
  type ContainerResource,
} from './container-resource.js';

const def: ResourceDefinition = {
  group: 'example.dockop.io',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  selector: { prefixes: ['widget.'] },
  schemaId: 'widget',
};

const listed = (over: Partial<Dockerode.ContainerInfo> = {}): Dockerode.ContainerInfo =>
  ({
    Id: 'c1',
    Names: ['/web-1'],
    Image: 'nginx:1',
    ImageID: 'sha256:aa',
    Command: 'x',
    Created: 1700000000,
    Ports: [],
    Labels: {
      'widget.a': '1',
      'com.docker.compose.project': 'shop',
      'com.docker.compose.service': 'web',
    },
    State: 'running',
    Status: 'Up 3 minutes (healthy)',
    HostConfig: { NetworkMode: 'none' },
    NetworkSettings: { Networks: {} },
    Mounts: [
      {
        Type: 'volume',
        Name: 'data',
        Source: '/var/lib/docker/volumes/data/_data',
        Destination: '/data',
        Driver: 'local',
        Mode: 'z',
        RW: true,
        Propagation: '',
      },
      {
        Type: 'bind',
        Source: '/etc/app',
        Destination: '/config',
        Mode: 'ro',
        RW: false,
        Propagation: 'rprivate',
      },
    ],
    ...over,
  }) as Dockerode.ContainerInfo;

let rv = 0;
const next = (): string => String(++rv);

describe('container-resource', () => {
  it('builds the status reconcilers need from a list entry', () => {
    const s = observeListed(listed()).status;
    expect(s).to.deep.include({
      id: 'c1',
      name: 'web-1',
      image: 'nginx:1',
      imageId: 'sha256:aa',
      state: 'running',
      health: 'healthy',
    });
    expect(s.compose).to.deep.equal({ project: 'shop', service: 'web' });
    expect(s.mounts).to.deep.equal([
      { type: 'bind', source: '/etc/app', destination: '/config', readOnly: true },
      {
        type: 'volume',
        name: 'data',
        source: '/var/lib/docker/volumes/data/_data',
        destination: '/data',
        readOnly: false,
      },
    ]);
  });

  it('sees the same container from list and inspect, and any observable change', () => {
    const inspected = {
      Id: 'c1',
      Name: '/web-1',
      Image: 'sha256:aa',
      Created: '2023-11-14T22:13:20.123456789Z',
      Config: { Image: 'nginx:1', Labels: listed().Labels },
      State: { Status: 'running', Running: true, Health: { Status: 'healthy' } },
      Mounts: [...(listed().Mounts ?? [])].reverse(),
    } as unknown as Dockerode.ContainerInspectInfo;
    const base = observeListed(listed());
    expect(sameObservation(observeInspected(inspected), base)).to.equal(true);
    // Labels in another order are the same labels.
    const reordered = Object.fromEntries(Object.entries(listed().Labels).reverse());
    expect(sameObservation(observeListed({ ...listed(), Labels: reordered }), base)).to.equal(true);
    const changes: Partial<Dockerode.ContainerInfo>[] = [
      { Labels: { ...listed().Labels, extra: 'x' } },
      { Labels: { ...listed().Labels, 'com.docker.compose.service': 'api' } },
      { Names: ['/web-2'] },
      { Image: 'nginx:2' },
      { ImageID: 'sha256:bb' },
      { State: 'exited' },
      { Status: 'Up 1 hour (unhealthy)' },
      { Created: 1_700_000_001 },
      { Mounts: (listed().Mounts ?? []).slice(1) },
      { Mounts: (listed().Mounts ?? []).map((m) => ({ ...m, RW: !m.RW })) },
      { Mounts: (listed().Mounts ?? []).map((m) => ({ ...m, Source: `${m.Source}x` })) },
    ];
    for (const over of changes) {
      const changed = observeListed({ ...listed(), ...over } as Dockerode.ContainerInfo);
      expect(sameObservation(changed, base), JSON.stringify(over)).to.equal(false);
      expect(sameObservation(base, changed), JSON.stringify(over)).to.equal(false);
    }
    // A label removed and another added (same count) is a change too.
    const swapped: Record<string, string> = { ...listed().Labels, other: 'web' };
    delete swapped['widget.a'];
    expect(sameObservation(observeListed({ ...listed(), Labels: swapped }), base)).to.equal(false);
  });

  it('gives each list entry its own created time, runs of equal ones and invalid ones included', () => {
    const created = [1_700_000_000, 1_700_000_000, 1_700_000_001, 1_700_000_000, 0];
    expect(created.map((c) => observeListed(listed({ Created: c })).created)).to.deep.equal([
      '2023-11-14T22:13:20.000Z',
      '2023-11-14T22:13:20.000Z',
      '2023-11-14T22:13:21.000Z',
      '2023-11-14T22:13:20.000Z',
      '1970-01-01T00:00:00.000Z',
    ]);
    // An invalid time throws every time, not only the first.
    for (let i = 0; i < 2; i++) {
      expect(() => observeListed(listed({ Created: Number.NaN }))).to.throw(RangeError);
      expect(() => observeListed(listed({ Created: 1e20 }))).to.throw(RangeError);
    }
  });

  it('plainLabels copies a label map as a spread does, hostile keys included (property)', () => {
    const key = fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom('__proto__', 'constructor', 'toString', '0', '10', '1.5', '-1', 'a.b'),
    );
    const same = (a: object, b: object): void => {
      expect(Object.getPrototypeOf(a)).to.equal(Object.getPrototypeOf(b));
      expect(Reflect.ownKeys(a)).to.deep.equal(Reflect.ownKeys(b));
      for (const k of Reflect.ownKeys(a)) {
        expect(Object.getOwnPropertyDescriptor(a, k)).to.deep.equal(
          Object.getOwnPropertyDescriptor(b, k),
        );
      }
    };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(key, fc.string({ maxLength: 4 })), { maxLength: 8 }),
        (entries) => {
          // As statuses hold them (null prototype), and as a plain object (another caller's).
          const own = ownLabels(Object.fromEntries(entries));
          same(plainLabels(own), { ...own });
          const plain = Object.fromEntries(entries) as Record<string, string>;
          same(plainLabels(plain), { ...plain });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('observeListed adopting labels keeps the parsed map, as a copy would read, hostile keys included (property)', () => {
    const key = fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom('__proto__', 'constructor', 'toString', '0', '10', '1.5', '-1', 'a.b'),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(key, fc.string({ maxLength: 4 })), { maxLength: 8 }),
        (entries) => {
          // As dockerode hands a list over: parsed JSON (a `__proto__` key is an own property).
          const json = JSON.stringify({ ...listed(), Labels: Object.fromEntries(entries) });
          const copied = observeListed(JSON.parse(json) as Dockerode.ContainerInfo).status;
          const info = JSON.parse(json) as Dockerode.ContainerInfo;
          const parsed = info.Labels;
          const adopted = observeListed(info, true).status;
          expect(adopted.labels).to.equal(parsed);
          expect(Object.getPrototypeOf(adopted.labels)).to.equal(null);
          expect(Reflect.ownKeys(adopted.labels)).to.deep.equal(Reflect.ownKeys(copied.labels));
          expect({ ...adopted, labels: { ...adopted.labels } }).to.deep.equal({
            ...copied,
            labels: { ...copied.labels },
          });
        },
      ),
      { numRuns: 1000 },
    );
    // A value that is not a string (not Docker's JSON): copied without it, the map left alone.
    const odd = { a: '1', b: 2 } as unknown as Record<string, string>;
    const status = observeListed(listed({ Labels: odd }), true).status;
    expect(status.labels).to.not.equal(odd);
    expect(Object.getPrototypeOf(odd)).to.equal(Object.prototype);
    expect({ ...status.labels }).to.deep.equal({ a: '1' });
  });

  it('reads health from the list status text', () => {
    expect(healthFromStatusText('Up 2 seconds (health: starting)')).to.equal('starting');
    expect(healthFromStatusText('Up 1 hour (unhealthy)')).to.equal('unhealthy');
    expect(healthFromStatusText('Exited (0) 3 seconds ago')).to.equal(undefined);
  });

  it('parses compose depends_on in both formats', () => {
    const base = { 'com.docker.compose.project': 'p', 'com.docker.compose.service': 's' };
    expect(
      composeOf({
        ...base,
        'com.docker.compose.depends_on': 'db:service_started:false,cache:service_healthy:true',
      })?.dependsOn,
    ).to.deep.equal(['db', 'cache']);
    expect(
      composeOf({ ...base, 'com.docker.compose.depends_on': 'db:service_started' })?.dependsOn,
    ).to.deep.equal(['db']);
    expect(composeOf({ 'com.docker.compose.project': 'p' })).to.equal(undefined);
  });

  it("reads a Swarm task's service and stack from its labels, not from the task name", () => {
    const task = observeListed(
      listed({
        Names: ['/shop_db.2.q1w2e3r4t5y6u7i8o9p0'],
        Labels: {
          'com.docker.swarm.service.name': 'shop_db',
          'com.docker.stack.namespace': 'shop',
          'com.docker.swarm.task.name': 'shop_db.2.q1w2e3r4t5y6u7i8o9p0',
        },
      }),
    ).status;
    expect(task.swarm).to.deep.equal({ service: 'shop_db', stack: 'shop' });
    expect(task.compose).to.equal(undefined);
    expect(swarmOf({ 'com.docker.swarm.service.name': 'solo' })).to.deep.equal({ service: 'solo' });
    expect(swarmOf({ 'com.docker.stack.namespace': 'shop' })).to.equal(undefined);
    expect(observeListed(listed()).status.swarm).to.equal(undefined);
  });

  describe('buildContainerResource', () => {
    const first = buildContainerResource({
      definition: def,
      container: observeListed(listed()),
      spec: { a: '1' },
      nextResourceVersion: next,
    });

    it('fills apiVersion, kind and metadata', () => {
      expect(first.apiVersion).to.equal('example.dockop.io/v1');
      expect(first.kind).to.equal('Widget');
      expect(first.metadata).to.deep.include({
        name: 'web-1',
        uid: 'c1',
        generation: 1,
        creationTimestamp: '2023-11-14T22:13:20.000Z',
      });
      expect(first.metadata.resourceVersion).to.not.equal('');
    });

    it("follows a definition's group and version, also one changed after its first resource", () => {
      const d = { ...def, group: 'a.dockop.io', version: 'v1' };
      const make = () =>
        buildContainerResource({
          definition: d,
          container: observeListed(listed()),
          spec: {},
          nextResourceVersion: next,
        }).apiVersion;
      expect(make()).to.equal('a.dockop.io/v1');
      // Same length, start and end as the string kept for the old one: only its '/' differs.
      d.group = 'a.dockop.i';
      d.version = '/v1';
      expect(make()).to.equal('a.dockop.i//v1');
      d.version = 'v2';
      expect(make()).to.equal('a.dockop.i/v2');
    });

    it('keeps generation and resourceVersion when nothing changed', () => {
      const again = buildContainerResource({
        definition: def,
        container: observeListed(listed()),
        spec: { a: '1' },
        previous: first,
        nextResourceVersion: next,
      });
      expect(again).to.deep.equal(first);
    });

    it('changes resourceVersion but not generation on a status-only change', () => {
      const stopped = buildContainerResource({
        definition: def,
        container: observeListed(listed({ State: 'exited', Status: 'Exited (0)' })),
        spec: { a: '1' },
        previous: first,
        nextResourceVersion: next,
      });
      expect(stopped.metadata.generation).to.equal(1);
      expect(stopped.metadata.resourceVersion).to.not.equal(first.metadata.resourceVersion);
      expect(stopped.status?.state).to.equal('exited');
    });

    it("takes a copy of the caller's annotations, and an empty object without any", () => {
      expect(first.metadata.annotations).to.deep.equal({});
      const given = { 'a.dockop.io/x': 'y' };
      const annotated = buildContainerResource({
        definition: def,
        container: observeListed(listed()),
        spec: { a: '1' },
        annotations: given,
        nextResourceVersion: next,
      });
      expect(annotated.metadata.annotations).to.deep.equal({ 'a.dockop.io/x': 'y' });
      expect(annotated.metadata.annotations).to.not.equal(given);
      const again = buildContainerResource({
        definition: def,
        container: observeListed(listed()),
        spec: { a: '1' },
        nextResourceVersion: next,
      });
      // Each resource its own object: one can't change another's.
      expect(again.metadata.annotations).to.not.equal(first.metadata.annotations);
    });

    it('bumps generation when the spec changes, also across a recreate (new uid)', () => {
      const recreated: ContainerResource = buildContainerResource({
        definition: def,
        container: observeListed(listed({ Id: 'c2' })),
        spec: { a: '2' },
        previous: first,
        nextResourceVersion: next,
      });
      expect(recreated.metadata.generation).to.equal(2);
      expect(recreated.metadata.uid).to.equal('c2');
    });
  });
});
