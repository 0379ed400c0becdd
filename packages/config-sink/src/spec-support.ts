// Helpers shared by this package's specs (not exported from index.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PlanSpec } from './plan-spec.js';

/** packages/config-sink (the specs run from dist/). */
export const PACKAGE_DIR = path.resolve(import.meta.dirname, '..');
export const REPO_ROOT = path.resolve(PACKAGE_DIR, '..', '..');
export const FIXTURES = path.join(PACKAGE_DIR, 'testdata', 'fixtures');
export const GOLDEN = path.join(PACKAGE_DIR, 'testdata', 'golden');

export function fixture(name: string): string {
  return readFileSync(path.join(FIXTURES, name), 'utf8');
}

/** A fresh real directory on disk; remove it with the returned function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'config-sink-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function plan(id: string, over: Partial<PlanSpec> = {}): PlanSpec {
  return {
    id,
    repo: 'default',
    schedule: '0 2 * * *',
    sources: [`/var/lib/docker/volumes/${id}/_data`],
    exclude: [],
    hooks: { pre: [], post: [] },
    retention: { spec: 'daily=7,weekly=4' },
    ...over,
  };
}

export const SIDECAR_WITH_DEFAULT = JSON.stringify({
  repos: [{ id: 'default', type: 'local', url: '/srv/restic' }],
  plans: [],
});

export const BACKREST_WITH_DEFAULT = JSON.stringify({
  modno: 5,
  version: 6,
  instance: 'test',
  repos: [
    {
      id: 'default',
      uri: '/srv/restic',
      guid: '37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f',
    },
  ],
  plans: [],
});
