import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { AjvSchemaRegistry } from '@dockop/runtime';
import { backupWorkloadDefinition, BACKUP_WORKLOAD_SCHEMA_ID } from './backup-workload.js';
import { backupWorkloadSchema } from './backup-workload-schema.js';
import { backupWorkloadFormats } from './formats.js';

const published = new URL('../../../crd-like-schemas/backup-workload.schema.json', import.meta.url);

function registry(): AjvSchemaRegistry {
  const r = new AjvSchemaRegistry();
  for (const f of backupWorkloadFormats()) r.addFormat(f);
  r.add(backupWorkloadSchema as never);
  return r;
}

describe('BackupWorkload schema', () => {
  it('is published unchanged as crd-like-schemas/backup-workload.schema.json', () => {
    expect(JSON.parse(readFileSync(published, 'utf8'))).to.deep.equal(backupWorkloadSchema);
  });

  it('the definition points at the schema and maps the rcb keys explicitly', () => {
    expect(backupWorkloadDefinition.schemaId).to.equal(BACKUP_WORKLOAD_SCHEMA_ID);
    expect(backupWorkloadSchema.$id).to.equal(BACKUP_WORKLOAD_SCHEMA_ID);
    expect(backupWorkloadDefinition.selector.paths).to.deep.equal({
      'restic-compose-backup.quiesce': 'rcb.quiesce',
      'restic-compose-backup.volumes': 'rcb.volumes.enabled',
      'restic-compose-backup.volumes.include': 'rcb.volumes.include',
      'restic-compose-backup.volumes.exclude': 'rcb.volumes.exclude',
      'backrest.dump': 'dump.preset',
      'backrest.dump.database': 'dump.database',
      'backrest.dump.user': 'dump.user',
      'backrest.dump.password-env': 'dump.passwordEnv',
      'backrest.dump.args': 'dump.args',
      'backrest.dump.only': 'dump.only',
    });
    expect(backupWorkloadDefinition.selector.sensitivePaths).to.have.members([
      'pre',
      'post',
      'paths.include',
      'keep',
      'dump.args',
      'dump.only',
    ]);
  });

  it('coerces the seed example labels (strings) into the typed spec', () => {
    const r = registry().validate(BACKUP_WORKLOAD_SCHEMA_ID, {
      enable: 'true',
      repo: 'default',
      schedule: '15 3 * * *',
      keep: 'daily=7,weekly=4,monthly=6',
      paths: { include: '/data, /config', exclude: '/var/lib/postgresql/data/pg_wal' },
      pre: "sh -c 'docker stop $SELF'",
      post: "sh -c 'docker start $SELF'",
      rcb: { quiesce: 'true', volumes: { enabled: 'true', include: 'media,files' } },
    });
    expect(r.errors).to.deep.equal([]);
    expect(r.valid).to.equal(true);
    expect(r.value).to.deep.equal({
      enable: true,
      repo: 'default',
      schedule: '15 3 * * *',
      keep: 'daily=7,weekly=4,monthly=6',
      paths: { include: ['/data', '/config'], exclude: ['/var/lib/postgresql/data/pg_wal'] },
      pre: ["sh -c 'docker stop $SELF'"],
      post: ["sh -c 'docker start $SELF'"],
      rcb: { quiesce: true, volumes: { enabled: true, include: ['media', 'files'] } },
    });
  });

  const invalid: [string, Record<string, unknown>, string, RegExp][] = [
    ['a bad cron', { schedule: '61 * * * *' }, 'schedule', /format: cron/],
    [
      'a relative include path',
      { paths: { include: 'data' } },
      'paths.include[0]',
      /absolute-path/,
    ],
    [
      'a traversal in an exclude',
      { paths: { exclude: '/data/../../etc' } },
      'paths.exclude[0]',
      /absolute-path/,
    ],
    ['a bad keep spec', { keep: 'daily=seven' }, 'keep', /keep-spec/],
    ['a non-boolean enable', { enable: 'maybe' }, 'enable', /type/],
  ];
  for (const [what, spec, path, rule] of invalid) {
    it(`refuses ${what}, naming the field`, () => {
      const r = registry().validate(BACKUP_WORKLOAD_SCHEMA_ID, { enable: 'true', ...spec });
      expect(r.valid).to.equal(false);
      const err = r.errors.find((e) => e.path === path);
      expect(err, JSON.stringify(r.errors)).to.not.equal(undefined);
      expect(err?.rule).to.match(rule);
    });
  }

  it('drops unknown keys with a warning instead of failing', () => {
    const r = registry().validate(BACKUP_WORKLOAD_SCHEMA_ID, { enable: 'true', colour: 'blue' });
    expect(r.valid).to.equal(true);
    expect(r.value).to.deep.equal({ enable: true });
    expect(r.warnings.join(' ')).to.include('colour');
  });
});
