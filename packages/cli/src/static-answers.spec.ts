import { expect } from 'chai';
import { Command } from 'commander';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildProgram } from './program.js';
import { renderStaticAnswers, staticAnswerVectors } from './static-answers-build.js';
import {
  STATIC_ANSWERS_FILE,
  answerKey,
  lookup,
  writeAnswer,
  type StaticAnswers,
} from './static-answers.cjs';

describe('static answers (static-answers.cts)', () => {
  describe('answerKey', () => {
    it('keys help, version and completion command lines', () => {
      expect(answerKey(['--help'])).to.equal('--help');
      expect(answerKey(['get', 'plans', '-h'])).to.equal('get plans -h');
      expect(answerKey(['version', '-o', 'json'])).to.equal('version -o json');
      expect(answerKey(['completion', 'bash'])).to.equal('completion bash');
    });

    it('lets every other command line go to the program without a look', () => {
      expect(answerKey([])).to.equal(undefined);
      expect(answerKey(['reconcile', '--dry-run'])).to.equal(undefined);
      expect(answerKey(['--config', '/etc/x.json', '--help'])).to.equal(undefined);
      expect(answerKey(['a', 'b', 'c', 'd', '--help'])).to.equal(undefined);
      expect(answerKey(['__proto__', '--help'])).to.equal(undefined);
      expect(answerKey(['help', 'x y'])).to.equal(undefined);
    });
  });

  describe('lookup', () => {
    let dir = '';
    let bundle = '';
    const answers: StaticAnswers = {
      bundleBytes: 5,
      texts: ['HELP\n', 'VERSION\n'],
      answers: { '--help': 0, '-h': 0, version: 1 },
    };

    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'static-answers-'));
      bundle = path.join(dir, 'bundle.cjs');
      writeFileSync(bundle, '12345');
      writeFileSync(path.join(dir, STATIC_ANSWERS_FILE), JSON.stringify(answers));
    });
    afterEach(async () => rm(dir, { recursive: true, force: true }));

    it('answers a stored command line', () => {
      expect(lookup(dir, bundle, ['-h'], {})).to.equal('HELP\n');
      expect(lookup(dir, bundle, ['version'], {})).to.equal('VERSION\n');
    });

    it('leaves unknown lines, inherited names and a switched-off env to the program', () => {
      expect(lookup(dir, bundle, ['help'], {})).to.equal(undefined);
      expect(lookup(dir, bundle, ['help', 'constructor'], {})).to.equal(undefined);
      expect(lookup(dir, bundle, ['--help'], { BACKREST_SIDECAR_STATIC_ANSWERS: '0' })).to.equal(
        undefined,
      );
    });

    it("ignores another build's answers (bundle size differs) and a missing or broken file", () => {
      writeFileSync(bundle, '123456');
      expect(lookup(dir, bundle, ['--help'], {})).to.equal(undefined);
      writeFileSync(bundle, '12345');
      writeFileSync(path.join(dir, STATIC_ANSWERS_FILE), '{"bundleBytes":5,');
      expect(lookup(dir, bundle, ['--help'], {})).to.equal(undefined);
      expect(lookup(path.join(dir, 'none'), bundle, ['--help'], {})).to.equal(undefined);
    });

    it('writeAnswer writes every byte (multi-byte text included)', () => {
      const file = path.join(dir, 'out.txt');
      const fd = openSync(file, 'w');
      const text = `${'ü'.repeat(70_000)}\n`;
      writeAnswer(text, fd);
      closeSync(fd);
      expect(readFileSync(file, 'utf8')).to.equal(text);
    });
  });

  describe('build side', () => {
    it('covers the help of every command and alias, version and each completion shell', () => {
      const keys = staticAnswerVectors(buildProgram()).map((v) => v.join(' '));
      for (const k of [
        '--help',
        '-h',
        'help',
        'help get',
        'get plans --help',
        'get plan -h',
        'describe workloads --help',
        'daemon --help',
        'version',
        'version -o json',
        '--version',
        '-V',
        'completion bash',
        'completion zsh',
        'completion fish',
      ]) {
        expect(keys, k).to.include(k);
      }
      for (const k of keys) expect(answerKey(k.split(' ')), k).to.equal(k);
    });

    it("stores the program's own output, each text once", async () => {
      const a = await renderStaticAnswers(buildProgram, 42);
      expect(a.bundleBytes).to.equal(42);
      const text = (k: string) => a.texts[a.answers[k]!];
      expect(text('--help')).to.match(/^Usage: backrest-sidecar \[options\] \[command\]\n/);
      expect(a.answers['-h']).to.equal(a.answers['--help']);
      expect(a.answers['help get']).to.equal(a.answers['get --help']);
      expect(text('get plans --help')).to.match(/^Usage: backrest-sidecar get plans/);
      expect(text('completion bash')).to.include('complete ');
      expect(text('--version')).to.equal('0.1.0\n');
      expect(new Set(a.texts).size).to.equal(a.texts.length);
      // The same on a 200-column terminal: help does not follow the terminal's width.
      const stdout = { isTTY: process.stdout.isTTY, columns: process.stdout.columns };
      let wide: string;
      try {
        Object.assign(process.stdout, { isTTY: true, columns: 200 });
        wide = buildProgram().helpInformation();
      } finally {
        Object.assign(process.stdout, stdout);
      }
      expect(text('--help')?.startsWith(wide)).to.equal(true);
    });

    it('fails the build for a command line that errors instead of answering', async () => {
      const bare = () => new Command('x').exitOverride().configureOutput({ writeErr: () => {} });
      let error: unknown;
      try {
        await renderStaticAnswers(bare, 0);
      } catch (e) {
        error = e;
      }
      expect(String(error)).to.match(/static answer for `[^`]+`: exit 1/);
    });
  });
});
