/**
 * The config validators built into this program. None in the tsc output: the CLI's bundler
 * (packages/cli/scripts/bundle.mjs) replaces this module with ajv standalone code generated from
 * crd-like-schemas/. See docs/adr/0005-bundled-cli.md.
 */
import type { PrecompiledConfigValidators } from './validate-config.js';

export const precompiledConfigValidators: PrecompiledConfigValidators | undefined = undefined;
