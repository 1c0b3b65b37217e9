// ESLint (flat config): typescript-eslint's type-aware recommended rules for the TypeScript that
// tsconfig.json includes, ESLint's recommended rules for the plain JavaScript. Formatting is
// Prettier's job (`npm run format:check`); none of the presets below has a formatting rule.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Node's globals (ES globals come with ecmaVersion 'latest'), and CommonJS's on top.
const node = {
  process: 'readonly',
  console: 'readonly',
  Buffer: 'readonly',
  URL: 'readonly',
  URLSearchParams: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  setInterval: 'readonly',
  clearInterval: 'readonly',
  setImmediate: 'readonly',
  clearImmediate: 'readonly',
};
const commonjs = { ...node, require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly', __filename: 'readonly' };
const browserBundle = '__tests__/support/**/dockerfile-apps/frontend/src/**/*.js';

export default defineConfig(
  { ignores: ['**/node_modules/', 'cdktf.out/', '.gen/', 'coverage/', '.e2e-work/'] },

  js.configs.recommended,
  {
    rules: {
      // Terraform expressions ('${docker_network.net.name}', '${var.x}') are plain strings on purpose.
      'no-template-curly-in-string': 'off',
    },
  },

  // TypeScript: every file must be in tsconfig.json's include list (a parse error says when not).
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  {
    files: ['__tests__/**/*.ts'],
    rules: {
      // @types/jest types the asymmetric matchers (expect.objectContaining, arrayContaining, any, ...)
      // as `any`, so every toMatchObject({ x: expect.any(String) }) is an "unsafe assignment".
      // Untyped JSON.parse results are still caught by no-unsafe-member-access/-call/-argument.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },

  // Plain JavaScript: jest.config.js and the test images' apps (Node runs them in the containers)
  // are CommonJS; the stand-in frontend's browser modules and this ES module file get their own globals.
  {
    files: ['**/*.js', '**/*.cjs'],
    ignores: [browserBundle],
    languageOptions: { sourceType: 'commonjs', globals: commonjs },
  },
  {
    // Browser modules: build.js joins them into one script (api.js exports API to index.js) and
    // replaces process.env.REACT_APP_* with literals.
    files: [browserBundle],
    languageOptions: { sourceType: 'module', globals: { document: 'readonly', window: 'readonly', process: 'readonly', API: 'readonly' } },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: node },
  },
);
