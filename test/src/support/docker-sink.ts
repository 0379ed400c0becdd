// Helpers of the @dockop/docker integration tests: a sink that records what a source delivers,
// with the wall time of each delivery, and a way to wait for a condition on it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Resource, ResourceDefinition, ResourceSink } from '@dockop/runtime';
import type { ContainerResource } from '@dockop/docker';

export interface SinkRecord {
  at: number;
  op: 'upsert' | 'delete' | 'replace' | 'reject';
  key: string;
  resource?: Resource;
  reason?: string;
  message?: string;
}

export class WatchingSink implements ResourceSink {
  readonly records: SinkRecord[] = [];
  readonly store = new Map<string, ContainerResource>();
  readonly #listeners = new Set<() => void>();

  upsert(resource: Resource): void {
    const key = `${resource.kind}/${resource.metadata.name}`;
    this.store.set(key, resource as ContainerResource);
    this.#record({ at: Date.now(), op: 'upsert', key, resource });
  }
  delete(key: string): void {
    this.store.delete(key);
    this.#record({ at: Date.now(), op: 'delete', key });
  }
  replace(resources: Resource[]): void {
    this.store.clear();
    const at = Date.now();
    for (const r of resources)
      this.store.set(`${r.kind}/${r.metadata.name}`, r as ContainerResource);
    this.#record({ at, op: 'replace', key: `*${resources.length}` });
  }
  reject(key: string, reason: string, message: string): void {
    this.#record({ at: Date.now(), op: 'reject', key, reason, message });
  }

  get(key: string): ContainerResource | undefined {
    return this.store.get(key);
  }

  recordsFor(key: string): SinkRecord[] {
    return this.records.filter((r) => r.key === key);
  }

  /** Resolves with the wall time at which `predicate` first held; rejects after `timeoutMs`. */
  waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<number> {
    if (predicate()) return Promise.resolve(Date.now());
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        cleanup();
        resolve(Date.now());
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
    });
  }

  #record(r: SinkRecord): void {
    this.records.push(r);
    for (const l of [...this.#listeners]) l();
  }
}

/** A ResourceDefinition owning labels `<prefix>.*`, unique to one test run. */
export function testDefinition(
  kind: string,
  prefix: string,
  extra: Partial<ResourceDefinition['selector']> = {},
): ResourceDefinition {
  return {
    group: 'it.dockop.io',
    version: 'v1',
    kind,
    plural: `${kind.toLowerCase()}s`,
    selector: { prefixes: [`${prefix}.`], enableLabel: `${prefix}.enable`, ...extra },
    schemaId: `${kind}.schema`,
  };
}

const exec = promisify(execFile);

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function inBatches<T>(
  items: T[],
  concurrency: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `predicate` every 50 ms; rejects after `timeoutMs` naming `what`. */
export async function until(
  what: string,
  predicate: () => boolean,
  timeoutMs = 10_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
  return Date.now();
}
