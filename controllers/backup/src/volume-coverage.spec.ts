import { expect } from 'chai';
import type Dockerode from 'dockerode';
import { ONE_SHOT_LABEL } from './backup-options.js';
import { volumeCoverage } from './volume-coverage.js';

function c(
  name: string,
  state: string,
  labels: Record<string, string>,
  mounts: { type: 'volume' | 'bind'; source: string; destination: string }[],
): Dockerode.ContainerInfo {
  return {
    Id: `${name}-id`,
    Names: [`/${name}`],
    State: state,
    Labels: labels,
    Mounts: mounts.map((m) => ({
      Type: m.type,
      ...(m.type === 'volume' ? { Name: m.source } : {}),
      Source: m.type === 'volume' ? `/var/lib/docker/volumes/${m.source}/_data` : m.source,
      Destination: m.destination,
      RW: true,
    })),
  } as unknown as Dockerode.ContainerInfo;
}

describe('volumeCoverage', () => {
  const containers = [
    c(
      'db',
      'running',
      {
        'backrest.enable': 'true',
        'com.docker.compose.project': 'shop',
        'com.docker.compose.service': 'db',
      },
      [
        { type: 'volume', source: 'shop_pg', destination: '/var/lib/postgresql' },
        { type: 'bind', source: '/var/run/docker.sock', destination: '/var/run/docker.sock' },
      ],
    ),
    // Shares db's volume: covered through db's plan, although not opted in itself.
    c('pgadmin', 'running', {}, [{ type: 'volume', source: 'shop_pg', destination: '/pg' }]),
    c('cache', 'running', {}, [{ type: 'volume', source: 'shop_cache', destination: '/data' }]),
    c(
      'web',
      'running',
      { 'restic-compose-backup.volumes': 'true', 'restic-compose-backup.volumes.exclude': 'logs' },
      [
        { type: 'bind', source: '/srv/web/html', destination: '/html' },
        { type: 'bind', source: '/srv/web/logs', destination: '/logs' },
      ],
    ),
    c('old', 'exited', {}, [{ type: 'volume', source: 'old_data', destination: '/d' }]),
    c('restic-run', 'running', { [ONE_SHOT_LABEL]: 'true' }, [
      { type: 'volume', source: 'shop_pg', destination: '/volumes/db' },
    ]),
  ];

  it('marks each mount covered by a plan, UNCOVERED, or used only by stopped containers', () => {
    const rows = volumeCoverage(containers);
    const view = rows.map((r) => [
      r.source,
      r.state,
      r.coveredBy.map((p) => p.planId).join(','),
      r.users.map((u) => u.container).join(','),
    ]);
    expect(view).to.deep.equal([
      ['/srv/web/logs', 'Uncovered', '', 'web'],
      ['shop_cache', 'Uncovered', '', 'cache'],
      ['/srv/web/html', 'Covered', 'backrest_sidecar_web', 'web'],
      ['shop_pg', 'Covered', 'backrest_sidecar_shop_db', 'db,pgadmin'],
      ['old_data', 'StoppedOnly', '', 'old'],
    ]);
  });

  it('--exclude-bind-mounts and --selector narrow what counts as covered', () => {
    const rows = volumeCoverage(containers, {
      excludeBindMounts: true,
      selector: ['backrest.enable=true'],
      planIdPrefix: 'p_',
    });
    const state = (s: string) => rows.find((r) => r.source === s)?.state;
    expect(state('/srv/web/html')).to.equal('Uncovered');
    expect(rows.find((r) => r.source === 'shop_pg')?.coveredBy).to.deep.equal([
      { planId: 'p_shop_db', container: 'db' },
    ]);
  });
});
