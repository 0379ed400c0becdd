import { expect } from 'chai';
import { SecretRedactor } from '@dockop/runtime';
import type { ExecOptions, ExecResult } from '@dockop/docker';
import { DumpReadiness, type ObservedDumpWorkload } from './dump-readiness.js';

/** A fake `docker exec` of the requirement check: prints `missing …` for `missing` entries. */
function fakeExec(missing: string[], calls: string[][]) {
  return (target: string, argv: string[], _opts: ExecOptions): Promise<ExecResult> => {
    calls.push([target, ...argv.slice(4)]);
    const stdout = argv
      .slice(4)
      .filter((spec) => missing.includes(spec))
      .map((spec) => `missing ${spec.replace(':', ' ')}\n`)
      .join('');
    return Promise.resolve({ exitCode: 0, stdout, stderr: '', stdoutBytes: 0, durationMs: 1 });
  };
}

const pg = (over: Partial<ObservedDumpWorkload> = {}): ObservedDumpWorkload => ({
  name: 'db',
  id: 'c1',
  state: 'running',
  spec: { enable: true, dump: { preset: 'postgres', passwordEnv: 'DB_PASSWORD' } } as never,
  ...over,
});

describe('DumpReadiness', () => {
  it('names container and label for a missing tool and credential; changed only when news', async () => {
    const calls: string[][] = [];
    let now = 0;
    const r = new DumpReadiness(
      { exec: fakeExec(['tool:pg_dump', 'env:DB_PASSWORD'], calls), now: () => now },
      { recheckMs: 60_000 },
    );
    const first = await r.check(pg());
    expect(first).to.deep.equal({
      preset: 'postgres',
      ready: false,
      changed: true,
      problems: [
        'container db: backrest.dump=postgres needs pg_dump in the container, and it has none',
        'container db: backrest.dump.password-env needs the variable DB_PASSWORD set in the container, and it is not',
      ],
    });
    // Within recheckMs: the cached result, no exec, no news.
    now = 30_000;
    expect((await r.check(pg()))?.changed).to.equal(false);
    expect(calls).to.have.length(1);
    // After recheckMs: checked again; the same result is no news.
    now = 61_000;
    expect((await r.check(pg()))?.changed).to.equal(false);
    expect(calls).to.have.length(2);
    // A recreated container (new id) is checked at once.
    expect((await r.check(pg({ id: 'c2' })))?.changed).to.equal(true);
    expect(calls).to.have.length(3);
  });

  it('a stopped container is not checked; no dump label is nothing to say', async () => {
    const calls: string[][] = [];
    const r = new DumpReadiness({ exec: fakeExec([], calls) });
    expect(await r.check(pg({ state: 'exited' }))).to.equal(undefined);
    expect(await r.check(pg({ spec: { enable: true } as never }))).to.equal(undefined);
    expect(calls).to.deep.equal([]);
    const ok = await r.check(pg());
    expect(ok).to.include({ ready: true, changed: true });
  });

  it('sqlite without its file label is not ready, without any exec', async () => {
    const calls: string[][] = [];
    const r = new DumpReadiness({ exec: fakeExec([], calls) });
    const res = await r.check(pg({ spec: { enable: true, dump: { preset: 'sqlite' } } as never }));
    expect(res?.ready).to.equal(false);
    expect(res?.problems[0]).to.contain('backrest.dump=sqlite needs backrest.dump.database');
    expect(calls).to.deep.equal([]);
  });

  it('learns the container secrets first and masks them in what the check printed', async () => {
    const redactor = new SecretRedactor();
    const r = new DumpReadiness({
      exec: () =>
        Promise.resolve({
          exitCode: 2,
          stdout: '',
          stderr: 'sh: secret-value-123 unexpected',
          stdoutBytes: 0,
          durationMs: 1,
        }),
      inspectEnv: () => Promise.resolve(['DB_PASSWORD=secret-value-123']),
      redactor,
    });
    const res = await r.check(pg());
    expect(res?.problems.join()).to.contain('the requirement check exited with 2');
    expect(res?.problems.join()).to.not.contain('secret-value-123');
  });
});
