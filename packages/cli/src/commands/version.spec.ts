import { expect } from 'chai';
import { buildInfo } from '../build-info.js';
import { formatVersion } from './version.js';

describe('backrest-sidecar version', () => {
  const info = { version: '1.2.3', commit: 'abc1234', date: '2026-11-30T12:00:00Z' };

  it('prints version, commit and build date as text or JSON', () => {
    expect(formatVersion(info, 'text')).to.equal(
      'backrest-sidecar 1.2.3\ncommit: abc1234\nbuilt: 2026-11-30T12:00:00Z\n',
    );
    expect(JSON.parse(formatVersion(info, 'json'))).to.deep.equal(info);
  });

  it('says so when it runs unbundled (no build stamp)', () => {
    expect(buildInfo('9.9.9')).to.deep.equal({
      version: '9.9.9',
      commit: 'unknown (not bundled)',
      date: 'unknown',
    });
  });
});
