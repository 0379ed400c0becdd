import { expect } from 'chai';
import { InMemoryEventRecorder, createNullLogger } from '@dockop/runtime';
import type { WorkloadTarget } from '@backrest-sidecar/api';
import { warnDumpsNotRun } from './dump-backup.js';

const target = (name: string, labels: Record<string, string>): WorkloadTarget =>
  ({ name, id: `id-${name}`, labels, mounts: [], state: 'running' }) as unknown as WorkloadTarget;

describe('warnDumpsNotRun (--engine rcb)', () => {
  it('warns once per dump-labelled workload, naming container and label; others say nothing', () => {
    const recorder = new InMemoryEventRecorder();
    const messages = warnDumpsNotRun(
      [
        target('db', { 'backrest.enable': 'true', 'backrest.dump': 'postgres' }),
        target('web', { 'backrest.enable': 'true' }),
        target('odd', { 'backrest.dump': 'x\u202e --password=hunter2pw' }),
      ],
      'rcb',
      { logger: createNullLogger(), recorder },
    );
    expect(messages).to.have.length(2);
    expect(messages[0]).to.match(
      /^container db: label backrest.dump="postgres" is not run by --engine rcb .*backed up without the dump/,
    );
    expect(recorder.list('BackupWorkload/db').map((e) => [e.type, e.reason])).to.deep.equal([
      ['Warning', 'DumpNotRun'],
    ]);
    expect(recorder.list('BackupWorkload/web')).to.deep.equal([]);
    // A hostile value is quoted with its bidi control escaped and a secret shape masked.
    expect(messages[1]).to.contain('\\u202e').and.not.contain('hunter2pw');
  });
});
