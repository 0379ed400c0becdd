import { expect } from 'chai';
import type Dockerode from 'dockerode';
import { isEnabled, isOptedIn, listOptedInWorkloads } from './workload-target.js';

/** A Docker list with Docker's label filter semantics: `key` = present, `key=value` = exact. */
function dockerList(infos: Dockerode.ContainerInfo[]) {
  const calls: string[][] = [];
  return {
    calls,
    async list(filters: Record<string, string[]>): Promise<Dockerode.ContainerInfo[]> {
      const wanted = filters['label'] ?? [];
      calls.push(wanted);
      return infos.filter((i) =>
        wanted.every((f) => {
          const eq = f.indexOf('=');
          const labels = i.Labels ?? {};
          return eq < 0 ? Object.hasOwn(labels, f) : labels[f.slice(0, eq)] === f.slice(eq + 1);
        }),
      );
    },
  };
}

const info = (name: string, labels: Record<string, string>): Dockerode.ContainerInfo =>
  ({
    Id: `${name}-id`,
    Names: [`/${name}`],
    State: 'running',
    Labels: labels,
    Mounts: [],
  }) as unknown as Dockerode.ContainerInfo;

describe('opt-in (the label schema rule)', () => {
  it('reads backrest.enable as the kind selector does: trimmed, any case', () => {
    for (const v of ['true', 'TRUE', ' true ', 'True'])
      expect(isEnabled({ labels: { 'backrest.enable': v } }), v).to.equal(true);
    for (const v of ['false', 'yes', '1', '', 'truee'])
      expect(isEnabled({ labels: { 'backrest.enable': v } }), v).to.equal(false);
    expect(isOptedIn({ labels: { 'restic-compose-backup.volumes': ' TRUE' } })).to.equal(true);
    expect(isOptedIn({ labels: { 'restic-compose-backup.volumes': 'false' } })).to.equal(false);
  });

  it('lists TRUE and " true " (a Docker key=value filter would miss them), not false, by name', async () => {
    const docker = dockerList([
      info('b-upper', { 'backrest.enable': 'TRUE' }),
      info('a-spaced', { 'backrest.enable': ' true ' }),
      info('c-off', { 'backrest.enable': 'false' }),
      info('d-rcb', { 'restic-compose-backup.volumes': 'True', team: 'x' }),
      info('e-none', {}),
    ]);
    const names = (await listOptedInWorkloads(docker)).map((t) => t.name);
    expect(names).to.deep.equal(['a-spaced', 'b-upper', 'd-rcb']);
    // Listed by presence: no exact `=true` filter is ever sent.
    expect(docker.calls.flat().some((f) => f.startsWith('backrest.enable='))).to.equal(false);
    const scoped = await listOptedInWorkloads(docker, ['team=x']);
    expect(scoped.map((t) => t.name)).to.deep.equal(['d-rcb']);
  });
});
