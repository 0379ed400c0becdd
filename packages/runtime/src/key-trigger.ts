import type { ResourceKey } from './resource.js';

/**
 * Keys fired by code instead of resource events (controller-runtime's `source.Channel`): one
 * controller hands work to another through it, and the receiving controller's queue (dedup,
 * debounce, requeue, metrics) does the rest. Keys fired while no controller listens (one-shot
 * mode runs controllers one after the other) are kept and delivered to the first subscriber.
 */
export class KeyTrigger {
  /**
   * Replaced, never changed in place: `fire` iterates the array it read, so a listener
   * (un)subscribing during a fire takes effect from the next key, without a copy per fire (an
   * aggregate reconcile fires thousands of keys at once).
   */
  #listeners: ReadonlyArray<(key: ResourceKey) => void> = [];
  readonly #pending = new Set<ResourceKey>();

  constructor(readonly name: string) {}

  fire(key: ResourceKey): void {
    const listeners = this.#listeners;
    if (listeners.length === 0) {
      this.#pending.add(key);
      return;
    }
    for (const l of listeners) l(key);
  }

  /** Starts delivering keys (pending ones first); returns the unsubscribe function. */
  subscribe(listener: (key: ResourceKey) => void): () => void {
    // A listener subscribed twice is called once per key (and one unsubscribe removes it).
    if (!this.#listeners.includes(listener)) this.#listeners = [...this.#listeners, listener];
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const k of pending) listener(k);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }
}
