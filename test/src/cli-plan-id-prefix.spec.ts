import { expect } from 'chai';
import { readFile, rm, stat } from 'node:fs/promises';
import { requireEngine, runId } from './support/engine.js';
import { runCli, tempConfig } from './support/plan-cli.js';

// The real binary: an empty plan-id prefix would make every hand-made plan "ours" (a --prune run
// with no matching container removes them all). It must be refused before anything is read or
// written: exit 1, a message naming the option, the file's bytes and inode untouched.
describe('backrest-sidecar refuses an empty --plan-id-prefix (integration)', function () {
  this.timeout(120_000);
  const run = runId();
  const dirs: string[] = [];
  const handMade = (id: string) => ({
    id,
    repo: 'default',
    schedule: '0 1 * * *',
    sources: [`/srv/${id}`],
    exclude: [],
    hooks: { pre: [], post: [] },
    retention: { spec: 'last=1' },
  });

  before(async function () {
    // Without the refusal these runs reach Docker and prune; the engine must be there for the
    // test to be able to fail.
    await requireEngine(this);
  });

  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const cases: { name: string; args: string[]; env: Record<string, string> }[] = [
    { name: "--plan-id-prefix ''", args: ['--plan-id-prefix', ''], env: {} },
    { name: 'BACKREST_PLAN_ID_PREFIX=', args: [], env: { BACKREST_PLAN_ID_PREFIX: '' } },
  ];
  for (const c of cases) {
    for (const command of [['reconcile', '--prune'], ['daemon'], ['get', 'plans']]) {
      it(`${command.join(' ')} with ${c.name}: exit 1, file untouched`, async () => {
        const cfg = await tempConfig(['default'], [handMade('db'), handMade('www')]);
        dirs.push(cfg.dir);
        const before = await readFile(cfg.path);
        const st = await stat(cfg.path);
        const r = await runCli(
          [
            ...command,
            '--config',
            cfg.path,
            '--selector',
            `dockop.test.run=${run}`,
            '--log-level',
            'debug',
            ...c.args,
          ],
          { env: c.env, timeoutMs: 30_000 },
        );
        expect(r.code, r.stderr + r.stdout).to.equal(1);
        expect(r.stderr).to.match(/--plan-id-prefix.*empty/);
        expect((await readFile(cfg.path)).equals(before)).to.equal(true);
        const after = await stat(cfg.path);
        expect([after.ino, after.mtimeMs]).to.deep.equal([st.ino, st.mtimeMs]);
      });
    }
  }

  it('backup-once with BACKREST_PLAN_ID_PREFIX= exits 1 before touching Docker', async () => {
    const r = await runCli(
      ['backup-once', '--engine', 'backrest', '--backrest-url', 'http://127.0.0.1:9'],
      { env: { BACKREST_PLAN_ID_PREFIX: '' }, timeoutMs: 30_000 },
    );
    expect(r.code, r.stderr + r.stdout).to.equal(1);
    expect(r.stderr).to.match(/--plan-id-prefix.*empty/);
  });
});
