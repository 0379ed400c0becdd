import path from 'node:path';
import type { DebounceOptions } from '@dockop/runtime';

/** Injection token of the resolved options. */
export const InventoryOptions = Symbol.for('dockop.examples.InventoryOptions');

export interface InventoryOptions {
  /** Where the inventory is written. Default: `INVENTORY_FILE`, else `inventory.json` (working directory). */
  file?: string;
  /** Merge bursts of container changes into one write. Default quiet 500 ms, at most 5000 ms. */
  debounce?: DebounceOptions;
  /** Rewrite check period in ms (repairs a file edited or deleted by hand). Default 60000. */
  resyncPeriodMs?: number;
}

export type ResolvedInventoryOptions = Required<InventoryOptions>;

export const INVENTORY_DEFAULTS = {
  file: 'inventory.json',
  debounce: { quietMs: 500, maxWaitMs: 5_000 },
  resyncPeriodMs: 60_000,
} as const;

/** Options win over the environment, which wins over the defaults; the file becomes absolute. */
export function resolveInventoryOptions(
  options: InventoryOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedInventoryOptions {
  const file = options.file ?? (env['INVENTORY_FILE']?.trim() || INVENTORY_DEFAULTS.file);
  return {
    file: path.resolve(file),
    debounce: options.debounce ?? { ...INVENTORY_DEFAULTS.debounce },
    resyncPeriodMs: options.resyncPeriodMs ?? INVENTORY_DEFAULTS.resyncPeriodMs,
  };
}
