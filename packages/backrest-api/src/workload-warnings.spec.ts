import { expect } from 'chai';
import type { LogFields } from '@dockop/runtime';
import { findPathCollisions } from './path-collisions.js';
import { partitionSafeTargets, type WorkloadTarget } from './workload-target.js';
import { warnPathCollision, warnUnsafeNames } from './workload-warnings.js';

function capture() {
  const lines: [string, string, LogFields | undefined][] = [];
  const events: [string, string, string][] = [];
  return {
    lines,
    events,
    sink: {
      logger: {
        warn: (m: string, f?: LogFields) => void lines.push(['warn', m, f]),
        error: (m: string, f?: LogFields) => void lines.push(['error', m, f]),
      },
      recorder: {
        event: (key: string, _type: string, reason: string, message: string) =>
          void events.push([key.replace(/^BackupWorkload\//, ''), reason, message]),
      },
    },
  };
}

const t = (name: string, project: string, service: string): WorkloadTarget => ({
  name,
  id: name,
  imageId: '',
  state: 'running',
  labels: {},
  mounts: [],
  compose: { project, service, dependsOn: [] },
});

describe('workload warnings (one reporter for the one-shot modes)', () => {
  it('UnsafeName: one line <component>.unsafe_name and one Warning naming the container', () => {
    const c = capture();
    const { refused } = partitionSafeTargets([t('evil', 'p', '../usr'), t('ok', 'p', 'db')]);
    warnUnsafeNames(c.sink as never, 'retention', refused);
    expect(c.lines.map(([l, m, f]) => [l, m, f?.['container']])).to.deep.equal([
      ['warn', 'retention.unsafe_name', 'evil'],
    ]);
    expect(c.events.map(([n, r]) => [n, r])).to.deep.equal([['evil', 'UnsafeName']]);
    expect(c.events[0]![2]).to.include('../usr');
  });

  it('PathCollision: an error line with path and both containers, a Warning on each (or one)', () => {
    const c = capture();
    const [collision] = findPathCollisions(
      [t('a', 'prod', 'db'), t('b', 'zz', 'db')],
      false,
    ).values();
    warnPathCollision(c.sink as never, 'backup', collision!);
    expect(c.lines[0]![0]).to.equal('error');
    expect(c.lines[0]![1]).to.equal('backup.path_collision');
    expect(c.lines[0]![2]).to.include({ path: '/volumes/db' });
    expect(c.events.map(([n, r]) => [n, r])).to.deep.equal([
      ['a', 'PathCollision'],
      ['b', 'PathCollision'],
    ]);
    warnPathCollision(c.sink as never, 'backup', collision!, 'b');
    expect(c.events.slice(2).map(([n]) => n)).to.deep.equal(['b']);
  });
});
