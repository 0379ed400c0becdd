import { expect } from 'chai';
import type { WorkloadTarget } from '@backrest-sidecar/api';
import { QUIESCE_EXCLUDE_LABEL, quiesceExclusion } from './quiesce-exclusions.js';

const id = (c: string): string => c.repeat(64);
function t(name: string, extra: Partial<WorkloadTarget> = {}): WorkloadTarget {
  return { name, id: id('a'), imageId: '', state: 'running', labels: {}, mounts: [], ...extra };
}

describe('quiesceExclusion', () => {
  const none = { selfId: null };

  it('never stops our own container (full id or the short id a default hostname gives)', () => {
    expect(quiesceExclusion(t('sidecar'), { selfId: id('a') })).to.include('this sidecar');
    expect(quiesceExclusion(t('sidecar'), { selfId: 'aaaaaaaaaaaa' })).to.include('this sidecar');
    expect(quiesceExclusion(t('db', { id: id('b') }), { selfId: id('a') })).to.equal(undefined);
  });

  it("never stops Backrest's container, by name or id", () => {
    expect(quiesceExclusion(t('backrest'), { ...none, backrestContainer: 'backrest' })).to.include(
      '--backrest-container backrest',
    );
    expect(quiesceExclusion(t('x'), { ...none, backrestContainer: 'aaaaaaaaaaaa' })).to.include(
      'Backrest',
    );
    expect(quiesceExclusion(t('backrest-db'), { ...none, backrestContainer: 'backrest' })).to.equal(
      undefined,
    );
  });

  it('never stops a socket proxy (image heuristic) or a container that opts out by label', () => {
    for (const image of [
      'tecnativa/docker-socket-proxy:latest',
      'ghcr.io/linuxserver/socket-proxy',
      'docker-socket-proxy',
      'registry:5000/ops/docker-socket-proxy@sha256:abc',
    ]) {
      expect(quiesceExclusion(t('proxy', { image }), none), image).to.include('socket proxy');
    }
    expect(quiesceExclusion(t('db', { image: 'postgres:16' }), none)).to.equal(undefined);
    expect(quiesceExclusion(t('db', { image: 'proxy-sockets:1' }), none)).to.equal(undefined);
    expect(
      quiesceExclusion(t('vpn', { labels: { [QUIESCE_EXCLUDE_LABEL]: 'True' } }), none),
    ).to.include(`${QUIESCE_EXCLUDE_LABEL}=true`);
  });
});
