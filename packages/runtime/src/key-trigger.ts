import type { ResourceKey } from './resource.js';

/**
 * Keys fired by code instead of resource events (controller-runtime's `source.Channel`): one
 * controller hands work to another through it, and the receiving controller's queue (dedup,
 * debounce, requeue, metrics) does the rest. Keys fired while no controller listens (one-shot
 * mode runs controllers one after the other) are kept and delivered to the first subscriber.
 */
export class KeyTrigger {
  readonly #listeners = new Set<(key: ResourceKey) => void>();
  readonly #pending = new Set<ResourceKey>();

  constructor(readonly name: string) {}

  fire(key: ResourceKey): void {
    if (this.#listeners.size === 0) {
      this.#pending.add(key);
      return;
    }
    for (const l of [...this.#listeners]) l(key);
  }

  /** Starts delivering keys (pending ones first); returns the unsubscribe function. */
  subscribe(listener: (key: ResourceKey) => void): () => void {
    this.#listeners.add(listener);
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const k of pending) listener(k);
    return () => this.#listeners.delete(listener);
  }
}
