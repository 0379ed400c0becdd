// A ResourceSink that keeps what it was given and logs every call, for source/tracker specs.
import type { Resource, ResourceSink } from '@dockop/runtime';
import type { ContainerResource } from '../container-resource.js';

export class RecordingSink implements ResourceSink {
  /** `create|update|delete|reject <key>` and `replace <keys>`, in call order. */
  readonly log: string[] = [];
  readonly store = new Map<string, Resource>();
  readonly rejections: { key: string; reason: string; message: string }[] = [];
  upsert(r: Resource): void {
    const key = `${r.kind}/${r.metadata.name}`;
    this.log.push(`${this.store.has(key) ? 'update' : 'create'} ${key}`);
    this.store.set(key, r);
  }
  delete(key: string): void {
    this.log.push(`delete ${key}`);
    this.store.delete(key);
  }
  replace(resources: Resource[]): void {
    this.log.push(`replace ${resources.map((r) => `${r.kind}/${r.metadata.name}`).join(',')}`);
    this.store.clear();
    for (const r of resources) this.store.set(`${r.kind}/${r.metadata.name}`, r);
  }
  reject(key: string, reason: string, message: string): void {
    this.log.push(`reject ${key} ${reason}`);
    this.rejections.push({ key, reason, message });
  }
  get(key: string): ContainerResource | undefined {
    return this.store.get(key) as ContainerResource | undefined;
  }
}
