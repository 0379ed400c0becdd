// Flat config: typescript-eslint recommended rules on sources, specs and scripts.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

// Package boundaries (ADR 0009). One no-restricted-imports entry per layer: flat config replaces a
// rule's options per matching block instead of merging them, so each block states its layer's
// complete list. Covers `import`, `import type` and `export … from`.
const DEEP = {
  group: [
    '@dockop/*/**',
    '@backrest-sidecar/*/**',
    '!@backrest-sidecar/config-sink/backrest-oracle',
  ],
  message:
    "Import a package's public entry point (its index.ts), never its dist/ or src/ files. (config-sink/backrest-oracle is a declared export.)",
};
const ESCAPE = {
  group: ['../../**'],
  message: "A relative import must stay inside its package: import the other package's name.",
};
const CONTROLLERS = {
  group: ['@backrest-sidecar/controller-*'],
  message:
    'Controllers do not import each other, and no library package imports a controller: put what they share in @backrest-sidecar/api, @backrest-sidecar/restic or @backrest-sidecar/backrest-model.',
};
const CLI = { group: ['@backrest-sidecar/cli'], message: 'Nothing imports the CLI.' };
const BACKREST = {
  group: ['@backrest-sidecar/*'],
  message: 'The framework (@dockop/*) knows nothing of Backrest.',
};
const DOCKER = {
  group: ['dockerode', 'docker-modem', '@dockop/docker', '@dockop/testing'],
  message: '@dockop/runtime knows nothing of Docker: Docker lives in @dockop/docker.',
};
const restrict = (...patterns) => ['error', { patterns }];
const boundaries = [
  { files: ['**/*.ts', '**/*.mjs', '**/*.js'], rules: { 'no-restricted-imports': restrict(DEEP) } },
  {
    files: ['packages/runtime/**/*.ts'],
    rules: { 'no-restricted-imports': restrict(DEEP, ESCAPE, DOCKER, BACKREST) },
  },
  {
    files: ['packages/docker/**/*.ts', 'packages/testing/**/*.ts'],
    rules: { 'no-restricted-imports': restrict(DEEP, ESCAPE, BACKREST) },
  },
  {
    // Leaves under the API package: they know restic or Backrest's plan model, not workloads.
    files: ['packages/restic/**/*.ts', 'packages/backrest-model/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(DEEP, ESCAPE, {
        group: ['@backrest-sidecar/*'],
        message:
          'A leaf package: it imports no other @backrest-sidecar package (the API, the sink and controllers import it).',
      }),
    },
  },
  {
    files: ['packages/backrest-api/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(DEEP, ESCAPE, CONTROLLERS, CLI, {
        group: ['@backrest-sidecar/config-sink'],
        message:
          'The API package imports nothing of the config sink: shared plan knowledge lives in @backrest-sidecar/backrest-model.',
      }),
    },
  },
  {
    files: ['packages/config-sink/**/*.ts'],
    rules: { 'no-restricted-imports': restrict(DEEP, ESCAPE, CONTROLLERS, CLI) },
  },
  {
    files: ['controllers/**/*.ts'],
    rules: { 'no-restricted-imports': restrict(DEEP, ESCAPE, CONTROLLERS, CLI) },
  },
  {
    // The CLI: controllers' index.ts only (DEEP), never a relative path into them (ESCAPE).
    files: ['packages/cli/src/**/*.ts'],
    rules: { 'no-restricted-imports': restrict(DEEP, ESCAPE) },
  },
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', '**/*.d.ts'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      // dockerode sends every create option (Env included) in the URL query string as well.
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "CallExpression[callee.type='MemberExpression'][callee.property.name='createContainer']",
          message:
            'Use createContainer() from @dockop/docker: dockerode puts every create option, Env included, in the request URL.',
        },
      ],
    },
  },
  ...boundaries,
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
  {
    // CommonJS (packages/cli/bin/package.json): the CLI's entry, started a few ms sooner than ESM.
    files: ['packages/cli/bin/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
