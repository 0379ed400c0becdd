import { expect } from 'chai';
import { isSlashJoined, keyOf, makeKey, splitKey } from './resource.js';

describe('resource keys', () => {
  it('makeKey, keyOf and splitKey agree on <kind>/<name>', () => {
    expect(makeKey('Widget', 'a/b')).to.equal('Widget/a/b');
    expect(keyOf({ kind: 'Widget', metadata: { name: 'a' } } as never)).to.equal('Widget/a');
    expect(splitKey('Widget/a/b')).to.deep.equal({ kind: 'Widget', name: 'a/b' });
    expect(() => splitKey('/a')).to.throw(/malformed/);
  });

  it('isSlashJoined is `s === head + "/" + tail` without building it', () => {
    const cases: [string, string, string][] = [
      ['Widget/a', 'Widget', 'a'],
      ['Widget/a', 'Widget', 'b'],
      ['Widget/a', 'Widge', 't/a'],
      ['Widget/a/b', 'Widget', 'a/b'],
      ['Widget/a/b', 'Widget/a', 'b'],
      ['Widget-a', 'Widget', 'a'],
      ['Widget/ab', 'Widget', 'a'],
      ['/v1', '', 'v1'],
      ['apps.example.io/v1', 'apps.example.io', 'v1'],
      ['apps.example.io/v2', 'apps.example.io', 'v1'],
      ['', '', ''],
      ['/', '', ''],
    ];
    for (const [s, head, tail] of cases) {
      expect(isSlashJoined(s, head, tail), `${s} ${head} ${tail}`).to.equal(
        s === `${head}/${tail}`,
      );
    }
  });
});
