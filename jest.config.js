/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  testMatch: ['**/__tests__/**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  // Sources use NodeNext-style './x.js' specifiers; map relative ones back to the .ts files,
  // but leave the simulator's real .js modules alone.
  moduleNameMapper: { '^(\\.{1,2}/(?!.*simulator/).*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  clearMocks: true,
  // Every request the action sends to the simulator is checked against Adobe's API description.
  setupFilesAfterEnv: ['<rootDir>/__tests__/support/conformance-hook.ts'],
  testTimeout: 30000
}
