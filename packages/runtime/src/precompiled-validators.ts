/**
 * The validators built into this program. None in the tsc output: the CLI's bundler
 * (packages/cli/scripts/bundle.mjs) replaces this module with ajv standalone code generated from
 * the schemas the CLI registers. See docs/adr/0005-bundled-cli.md.
 */
import type { PrecompiledValidators } from './schema-registry.js';

export const precompiledValidators: PrecompiledValidators | undefined = undefined;
