import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { VirtualClock, createLogger, SecretRedactor } from '@dockop/runtime';
import { Writable } from 'node:stream';
import lockfile from 'proper-lockfile';
import type { WorkloadStatus } from './workload-status.js';
import { WorkloadStatusStore } from './workload-status-store.js';

function capture(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', format: 'json', stream }), lines };
}

describe('WorkloadStatusStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'workload-status-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('persists a status across store instances (restarts), one 0600 file per workload', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 5));
    const a = new WorkloadStatusStore({ stateDir: dir, now: () => clock.now() });
    await a.update('app-1', (s) => {
      s.lastBackup = {
        time: new Date(clock.now()).toISOString(),
        engine: 'restic',
        source: 'run',
        snapshotId: 'abc123',
        filesTotal: 3,
        bytesTotal: 42,
      };
      a.applyCondition(s, {
        type: 'BackedUp',
        status: 'True',
        reason: 'BackupSucceeded',
        message: 'snapshot abc123',
      });
    });
    const b = new WorkloadStatusStore({ stateDir: dir, now: () => clock.now() });
    const got = await b.get('app-1');
    expect(got?.lastBackup).to.deep.include({
      snapshotId: 'abc123',
      filesTotal: 3,
      bytesTotal: 42,
    });
    expect(got?.conditions).to.deep.equal([
      {
        type: 'BackedUp',
        status: 'True',
        reason: 'BackupSucceeded',
        message: 'snapshot abc123',
        lastTransitionTime: '2026-01-05T00:00:00.000Z',
      },
    ]);
    expect((await stat(b.fileOf('app-1'))).mode & 0o777).to.equal(0o600);
    expect((await b.list()).map((s) => s.name)).to.deep.equal(['app-1']);
  });

  it("keeps other writers' conditions and the transition time while a status does not change", async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 5));
    const store = new WorkloadStatusStore({ stateDir: dir, now: () => clock.now() });
    await store.setCondition('db', {
      type: 'BackedUp',
      status: 'True',
      reason: 'BackupSucceeded',
      message: 'one',
    });
    // Another controller (restore verification) adds its own type to the same status.
    await store.setCondition('db', {
      type: 'Verified',
      status: 'True',
      reason: 'RestoreVerified',
      message: 'ok',
    });
    clock.advance(60_000);
    await store.setCondition('db', {
      type: 'BackedUp',
      status: 'True',
      reason: 'BackupSucceeded',
      message: 'two',
    });
    let s = await store.get('db');
    expect(s?.conditions.map((c) => [c.type, c.message, c.lastTransitionTime])).to.deep.equal([
      ['BackedUp', 'two', '2026-01-05T00:00:00.000Z'],
      ['Verified', 'ok', '2026-01-05T00:00:00.000Z'],
    ]);
    clock.advance(60_000);
    await store.setCondition('db', {
      type: 'BackedUp',
      status: 'False',
      reason: 'BackupFailed',
      message: 'x',
    });
    s = await store.get('db');
    expect(s?.conditions[0]?.lastTransitionTime).to.equal('2026-01-05T00:02:00.000Z');
  });

  it('serializes concurrent updates of one workload (none is lost)', async () => {
    const store = new WorkloadStatusStore({ stateDir: dir });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.update('w', (s) => store.applyEvent(s, 'Normal', `R${i}`, 'm')),
      ),
    );
    expect((await store.get('w'))?.events).to.have.length(20);
  });

  it('aggregates repeated events and keeps only the newest ones', async () => {
    const store = new WorkloadStatusStore({ stateDir: dir, maxEvents: 3 });
    await store.update('w', (s) => {
      for (const r of ['A', 'B', 'A', 'C', 'D']) store.applyEvent(s, 'Warning', r, 'msg');
    });
    const events = (await store.get('w'))!.events;
    expect(events.map((e) => `${e.reason}x${e.count}`)).to.deep.equal([
      'A' + 'x2',
      'C' + 'x1',
      'D' + 'x1',
    ]);
  });

  it('redacts messages of conditions and events', async () => {
    const redactor = new SecretRedactor();
    redactor.addSecretValue('hunter2-secret');
    const store = new WorkloadStatusStore({ stateDir: dir, redactor });
    await store.update('w', (s) => {
      store.applyCondition(s, {
        type: 'BackedUp',
        status: 'False',
        reason: 'BackupFailed',
        message: 'password hunter2-secret refused',
      });
      store.applyEvent(s, 'Warning', 'BackupFailed', 'url s3://user:pw@host/bucket');
    });
    const text = await readFile(store.fileOf('w'), 'utf8');
    expect(text).to.not.contain('hunter2-secret').and.not.contain('user:pw');
  });

  it('a corrupt or foreign file is a warning naming it, read as no status, replaced on update', async () => {
    const { logger, lines } = capture();
    const store = new WorkloadStatusStore({ stateDir: dir, logger });
    await mkdir(store.dir, { recursive: true });
    await writeFile(store.fileOf('bad'), '{"name": "bad", "firstSeen": ');
    await writeFile(
      store.fileOf('other'),
      JSON.stringify({ name: 'someone-else', firstSeen: '2026-01-01T00:00:00Z' }),
    );
    expect(await store.get('bad')).to.equal(undefined);
    expect(await store.get('other')).to.equal(undefined);
    expect(await store.list()).to.deep.equal([]);
    const warnings = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(
      warnings.some((w) => w.action === 'status.unreadable' && String(w.file).endsWith('bad.json')),
    ).to.equal(true);
    expect(warnings.some((w) => String(w.error).includes('someone-else'))).to.equal(true);
    await store.setCondition('bad', {
      type: 'Stale',
      status: 'False',
      reason: 'RecentBackup',
      message: '',
    });
    expect((await store.get('bad'))?.conditions).to.have.length(1);
  });

  it('reads own properties of the expected types only', async () => {
    const store = new WorkloadStatusStore({ stateDir: dir });
    await mkdir(store.dir, { recursive: true });
    const hostile = JSON.parse(
      '{"name":"h","firstSeen":"2026-01-01T00:00:00Z","__proto__":{"lastBackup":{"time":"2026-01-02T00:00:00Z"}},' +
        '"snapshots":{"count":"7","observedAt":"x"},"conditions":[{"type":"Stale","status":"Maybe","lastTransitionTime":"t"},' +
        '{"type":"BackedUp","status":"True","reason":"R","message":"m","lastTransitionTime":"t","extra":1}],"events":"no"}',
    ) as unknown;
    await writeFile(store.fileOf('h'), JSON.stringify(hostile));
    const s = (await store.get('h'))!;
    expect(s.lastBackup).to.equal(undefined);
    expect(s.snapshots).to.equal(undefined);
    expect(s.events).to.deep.equal([]);
    expect(s.conditions).to.deep.equal([
      { type: 'BackedUp', status: 'True', reason: 'R', message: 'm', lastTransitionTime: 't' },
    ]);
  });

  it('refuses a name that is not a container name (no path outside the directory)', () => {
    const store = new WorkloadStatusStore({ stateDir: dir });
    expect(() => store.fileOf('../etc/passwd')).to.throw(/not a container name/);
    expect(() => store.fileOf('')).to.throw(/not a container name/);
  });

  it('onWritten: after each write, with what was written, before update resolves; not for a no-op', async () => {
    const { logger, lines } = capture();
    const store = new WorkloadStatusStore({ stateDir: dir, logger });
    const seen: string[] = [];
    const off = store.onWritten(async (name, s) => {
      const onDisk = await readFile(store.fileOf(name), 'utf8');
      seen.push(`${name} ${s.lastFailure?.message} ${onDisk.includes(s.lastFailure!.message)}`);
    });
    // A listener's failure is logged; the update still succeeds.
    store.onWritten(() => {
      throw new Error('a failing listener');
    });
    const fail = (message: string) => (s: WorkloadStatus) => {
      s.lastFailure = { time: '2026-01-05T00:00:00.000Z', engine: 'restic', reason: 'X', message };
    };
    await store.update('app', fail('one'));
    expect(seen).to.deep.equal(['app one true']);
    await store.update('app', fail('one')); // changes nothing: no write
    expect(seen).to.have.length(1);
    off();
    await store.update('app', fail('two'));
    expect(seen).to.have.length(1);
    expect((await store.get('app'))?.lastFailure?.message).to.equal('two');
    expect(lines.filter((l) => l.includes('status.listener_failed'))).to.have.length(2);
  });

  it('readOnly: updates are visible to get and list but nothing is written', async () => {
    const store = new WorkloadStatusStore({ stateDir: dir, readOnly: true });
    await store.setCondition('w', {
      type: 'Stale',
      status: 'True',
      reason: 'NeverBackedUp',
      message: '',
    });
    expect((await store.get('w'))?.conditions[0]?.status).to.equal('True');
    expect((await store.list()).map((s) => s.name)).to.deep.equal(['w']);
    expect(await new WorkloadStatusStore({ stateDir: dir }).get('w')).to.equal(undefined);
  });
});

describe('WorkloadStatusStore across processes', function () {
  // Two node processes start and race; generous for a loaded 2-core machine.
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'workload-status-lock-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * A writer process: `count` updates of workload `w`, each adding one event of its own and
   * setting its own condition, as the daemon and a one-shot `backup-once` do on a shared state dir.
   */
  function writer(tag: string, count: number): Promise<{ code: number | null; err: string }> {
    const storeUrl = new URL('./workload-status-store.js', import.meta.url).href;
    const code = `
      const { WorkloadStatusStore } = await import(${JSON.stringify(storeUrl)});
      const store = new WorkloadStatusStore({ stateDir: ${JSON.stringify(dir)}, maxEvents: 1000 });
      for (let i = 0; i < ${count}; i++) {
        await store.update('w', (s) => {
          store.applyEvent(s, 'Normal', 'Wrote', '${tag}-' + i);
          store.applyCondition(s, { type: 'Writer${tag}', status: 'True', reason: 'Wrote', message: String(i) });
        });
      }`;
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('close', (exit) => resolve({ code: exit, err }));
    });
  }

  it('two processes updating one workload at once lose no event and no condition', async () => {
    const count = 40;
    const results = await Promise.all([writer('A', count), writer('B', count)]);
    for (const r of results) expect(r, r.err).to.deep.include({ code: 0 });
    const s = (await new WorkloadStatusStore({ stateDir: dir }).get('w'))!;
    const messages = s.events.map((e) => e.message).sort();
    const expected = ['A', 'B'].flatMap((t) =>
      Array.from({ length: count }, (_, i) => `${t}-${i}`),
    );
    expect(messages).to.deep.equal(expected.sort());
    expect(s.conditions.map((c) => [c.type, c.message])).to.deep.include.members([
      ['WriterA', String(count - 1)],
      ['WriterB', String(count - 1)],
    ]);
  });

  it('waits for a lock another process holds, then fails naming the file', async () => {
    const store = new WorkloadStatusStore({ stateDir: dir, lockWaitMs: 300 });
    await mkdir(store.dir, { recursive: true });
    const file = store.fileOf('w');
    const release = await lockfile.lock(file, { realpath: false, lockfilePath: `${file}.lock` });
    try {
      const started = Date.now();
      const err = await store
        .update('w', () => undefined)
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      expect(err?.message).to.contain(`cannot lock the workload status ${file}`);
      expect(Date.now() - started).to.be.at.least(250);
      await stat(file).then(
        () => expect.fail('nothing may be written without the lock'),
        () => undefined,
      );
    } finally {
      await release();
    }
    // Released: the next update goes through.
    await store.update('w', (s) => store.applyEvent(s, 'Normal', 'Wrote', 'after'));
    expect((await store.get('w'))?.events.map((e) => e.message)).to.deep.equal(['after']);
  });

  it('waits for a lock another process holds briefly, then writes', async () => {
    const store = new WorkloadStatusStore({ stateDir: dir, lockWaitMs: 5_000 });
    await mkdir(store.dir, { recursive: true });
    const file = store.fileOf('w');
    const release = await lockfile.lock(file, { realpath: false, lockfilePath: `${file}.lock` });
    const held = Date.now();
    setTimeout(() => void release(), 300);
    // The first attempt finds the lock held (ELOCKED); the retries wait for its release.
    await store.update('w', (s) => store.applyEvent(s, 'Normal', 'Wrote', 'after the wait'));
    expect(Date.now() - held).to.be.at.least(250);
    expect((await store.get('w'))?.events.map((e) => e.message)).to.deep.equal(['after the wait']);
  });

  it('an update that changes nothing takes no lock: it does not wait for a held one', async () => {
    const store = new WorkloadStatusStore({ stateDir: dir, lockWaitMs: 5_000 });
    await store.update('w', (s) => store.applyEvent(s, 'Normal', 'Wrote', 'x'));
    const file = store.fileOf('w');
    const release = await lockfile.lock(file, { realpath: false, lockfilePath: `${file}.lock` });
    try {
      const started = Date.now();
      const s = await store.update('w', (st) => {
        st.name = 'w'; // the same content
      });
      expect(s.events).to.have.length(1);
      expect(Date.now() - started).to.be.below(2_000);
      // A real change still waits for the lock (and fails here, as it is never released).
      const quick = new WorkloadStatusStore({ stateDir: dir, lockWaitMs: 200 });
      await quick
        .update('w', (st) => quick.applyEvent(st, 'Normal', 'Wrote', 'y'))
        .then(
          () => expect.fail('a change must not be written without the lock'),
          (e: Error) => expect(e.message).to.contain('cannot lock'),
        );
    } finally {
      await release();
    }
  });

  it("takes over a crashed writer's stale lock", async () => {
    const store = new WorkloadStatusStore({ stateDir: dir, lockWaitMs: 2000 });
    const file = store.fileOf('w');
    await mkdir(`${file}.lock`, { recursive: true });
    const old = new Date(Date.now() - 60_000);
    await utimes(`${file}.lock`, old, old);
    await store.update('w', (s) => store.applyEvent(s, 'Normal', 'Wrote', 'x'));
    expect((await store.get('w'))?.events).to.have.length(1);
  });
});
