// Two projects: `unit` (pure and synthesized-JSON tests, seconds) and `e2e` (a real Docker
// Engine and real Terraform, minutes). Type-checking runs separately (`tsc --noEmit`), so
// ts-jest only transpiles.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/__tests__/unit/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/__tests__/support/jest-setup.ts'],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/__tests__/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/__tests__/support/e2e-global-setup.ts',
      setupFilesAfterEnv: ['<rootDir>/__tests__/support/jest-setup.ts', '<rootDir>/__tests__/support/e2e-setup.ts'],
    },
  ],
};
