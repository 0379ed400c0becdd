import { expect } from 'chai';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { buildPluginHost, pluginSpecifier, type RunOptions } from './run.js';

const quiet = new Writable({ write: (_c, _e, cb) => cb() });
const base: RunOptions = {
  plugin: [],
  interval: 60_000,
  events: true,
  logLevel: 'error',
  logFormat: 'json',
};

describe('run (generic plugin host)', () => {
  let dir: string;
  let cwd: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'run-spec-'));
    cwd = process.cwd();
    process.chdir(dir);
  });
  afterEach(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes an existing file as a path, anything else as a package name', () => {
    mkdirSync('dist');
    writeFileSync('dist/index.js', '');
    expect(pluginSpecifier('dist/index.js')).to.equal('./dist/index.js');
    expect(pluginSpecifier('dist')).to.equal('dist'); // a directory: not a module file
    expect(pluginSpecifier('./dist/index.js')).to.equal('./dist/index.js');
    expect(pluginSpecifier('/abs/x.js')).to.equal('/abs/x.js');
    expect(pluginSpecifier('@acme/plugin')).to.equal('@acme/plugin');
    expect(pluginSpecifier('some-plugin/sub.js')).to.equal('some-plugin/sub.js');
  });

  it('refuses to start without a plugin, and a plugin that binds no controller', async () => {
    let error = '';
    await buildPluginHost(base, quiet).catch((e: Error) => (error = e.message));
    expect(error).to.equal('run needs at least one --plugin <path-or-package>');
    // A valid ContainerModule with nothing in it (duck-typed: load + numeric id).
    writeFileSync('empty.mjs', 'export default { id: 1, load() {} };\n');
    await buildPluginHost({ ...base, plugin: ['./empty.mjs'] }, quiet).catch(
      (e: Error) => (error = e.message),
    );
    expect(error).to.equal(
      'no controller to run: the plugin(s) ./empty.mjs bind no ControllerContribution',
    );
  });
});
