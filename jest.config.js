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
  testTimeout: 30000
}
