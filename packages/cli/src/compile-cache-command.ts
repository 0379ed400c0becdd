/**
 * How the program tells the bin's code cache (compile-cache.cts) which command ran: each command
 * gets a cache of its own. A global, read by the bin's copy of the loader; the key is spelled the
 * same there. Kept apart from compile-cache.cts so the bundle carries only this line of it.
 */
const COMMAND = Symbol.for('backrest-sidecar.compile-cache.command');

/** Called once the program knows which command runs (commander's preAction). */
export function noteCommand(name: string): void {
  (globalThis as { [COMMAND]?: string })[COMMAND] = name;
}
