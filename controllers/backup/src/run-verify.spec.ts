import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import type { ContainerActions, DockerClient, OneShotSpec } from '@dockop/docker';
import { InMemoryEventRecorder, SecretRedactor, createNullLogger } from '@dockop/runtime';
import { NOT_ATTEMPTED_CHECK_FAILED, runVerify } from './run-verify.js';

// The drill's order with a fake engine and a fake restic (one-shots answered by their command):
// the repository check runs first; a failed check fails the drill at once, with no snapshot
// listing, scratch volume or restore. The real-engine proof is test/src/verify.spec.ts.
describe('runVerify: order of the drill', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'run-verify-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const SECRET = 's3cr3t-repo-passw0rd';
  const SNAP = {
    id: 'a'.repeat(64),
    short_id: 'aaaaaaaa',
    time: '2026-11-30T03:00:00Z',
    paths: ['/volumes/db/data'],
    hostname: 'h',
    tags: ['backrest-sidecar', 'container:db'],
  };

  /** What the fakes saw: restic commands (`check`, `restore`, …), `list-tree` one-shots, volumes. */
  function fakes(checkExit: number): {
    actions: ContainerActions;
    client: DockerClient;
    calls: string[];
  } {
    const calls: string[] = [];
    const answer = (spec: OneShotSpec): { exitCode: number; out: string[]; err: string[] } => {
      if (spec.entrypoint?.[0] === 'sh') {
        const dirs = ['./volumes', './volumes/db', './volumes/db/data'].map(
          (p) => `0|directory|${p}`,
        );
        return { exitCode: 0, out: [...dirs, '4|regular file|./volumes/db/data/t.dat'], err: [] };
      }
      switch (spec.cmd?.[0]) {
        case 'check':
          return checkExit === 0
            ? { exitCode: 0, out: ['no errors were found'], err: [] }
            : {
                exitCode: checkExit,
                out: [],
                err: [
                  `error: pack 1234abcd not found (repo password ${SECRET})`,
                  'Fatal: repository contains errors',
                ],
              };
        case 'snapshots':
          return { exitCode: 0, out: [JSON.stringify([SNAP])], err: [] };
        case 'restore':
          return { exitCode: 0, out: [], err: [] };
        case 'ls':
          return {
            exitCode: 0,
            out: [
              JSON.stringify({ struct_type: 'snapshot', id: SNAP.id }),
              ...['/volumes', '/volumes/db', '/volumes/db/data'].map((p) =>
                JSON.stringify({ struct_type: 'node', path: p, type: 'dir' }),
              ),
              JSON.stringify({
                struct_type: 'node',
                path: '/volumes/db/data/t.dat',
                type: 'file',
                size: 4,
              }),
            ],
            err: [],
          };
        default:
          return { exitCode: 1, out: [], err: [`unexpected command ${String(spec.cmd?.[0])}`] };
      }
    };
    const actions = {
      list: async (): Promise<Dockerode.ContainerInfo[]> => [],
      removeLeftovers: async (): Promise<string[]> => [],
      runOneShot: async (
        spec: OneShotSpec,
        opts: { onLog?: (line: string, stream: 'stdout' | 'stderr') => void },
      ) => {
        calls.push(spec.entrypoint?.[0] === 'sh' ? 'list-tree' : String(spec.cmd?.[0]));
        const a = answer(spec);
        for (const l of a.out) opts.onLog?.(l, 'stdout');
        for (const l of a.err) opts.onLog?.(l, 'stderr');
        return { exitCode: a.exitCode, containerId: 'c1', durationMs: 1 };
      },
    } as unknown as ContainerActions;
    const docker = {
      listVolumes: async () => ({ Volumes: [] }),
      createVolume: async (o: { Name: string }) => {
        calls.push(`volume ${o.Name.replace(/.*-/, '')}`);
      },
      getVolume: () => ({ remove: async () => undefined }),
    };
    const client = {
      request: async <T>(_op: string, fn: (d: unknown) => Promise<T>): Promise<T> => fn(docker),
    } as unknown as DockerClient;
    return { actions, client, calls };
  }

  it('checks the repository before it restores, and passes when both are fine', async () => {
    const { actions, client, calls } = fakes(0);
    const recorder = new InMemoryEventRecorder();
    const report = await runVerify(
      { workloads: ['db'], stateDir: dir, readDataParts: 4 },
      { actions, client, recorder, logger: createNullLogger() },
    );
    expect(report.fatal).to.equal(undefined);
    expect(report.exitCode, JSON.stringify(report)).to.equal(0);
    expect(calls).to.deep.equal([
      'check',
      'snapshots',
      'volume verify',
      'restore',
      'ls',
      'list-tree',
    ]);
    const w = report.workloads[0]!;
    expect(w.passed).to.equal(true);
    expect(w.notAttempted).to.equal(undefined);
    expect(w.checks.map((c) => `${c.name}:${c.ok}`)).to.deep.equal([
      'restore:true',
      'tree:true',
      'repository:true',
    ]);
    expect(recorder.all().map((e) => e.reason)).to.deep.equal(['Verified']);
  });

  it('fails at once when the check fails: no snapshot listing, no scratch volume, no restore', async () => {
    const { actions, client, calls } = fakes(1);
    const recorder = new InMemoryEventRecorder();
    const redactor = new SecretRedactor();
    redactor.addSecretValue(SECRET);
    const report = await runVerify(
      { workloads: ['db', 'web'], stateDir: dir, readDataParts: 4 },
      { actions, client, recorder, redactor, logger: createNullLogger() },
    );
    expect(calls).to.deep.equal(['check']);
    expect(report.exitCode).to.equal(3);
    expect(report.repository?.ok).to.equal(false);
    expect(report.repository?.detail).to.match(
      /^restic check --read-data-subset 1\/4 exited with 1: error: pack 1234abcd not found/,
    );
    expect(report.workloads.map((w) => w.workload)).to.deep.equal(['db', 'web']);
    for (const w of report.workloads) {
      expect(w.passed).to.equal(false);
      expect(w.notAttempted).to.equal(NOT_ATTEMPTED_CHECK_FAILED);
      expect(w.snapshot).to.equal(undefined);
      expect(w.checks.map((c) => c.name)).to.deep.equal(['repository']);
    }
    const events = recorder.all();
    expect(events.map((e) => `${e.type} ${e.reason}`)).to.deep.equal([
      'Warning VerifyFailed',
      'Warning VerifyFailed',
    ]);
    expect(events[0]!.message).to.match(
      /^restore drill FAILED, restore not attempted because the repository check failed; repository FAILED \(restic check --read-data-subset 1\/4 exited with 1: error: pack 1234abcd not found/,
    );
    expect(JSON.stringify(report) + events.map((e) => e.message).join()).to.not.include(SECRET);
  });

  it('the check rotates its slice per run whether it passed or failed', async () => {
    const subsets: string[] = [];
    for (const exit of [1, 0]) {
      const { actions, client } = fakes(exit);
      const report = await runVerify(
        { workloads: ['db'], stateDir: dir, readDataParts: 4 },
        { actions, client },
      );
      subsets.push(/--read-data-subset (\d+\/\d+)/.exec(report.repository!.detail)?.[1] ?? '');
    }
    expect(subsets).to.deep.equal(['1/4', '2/4']);
  });
});
