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
  testTimeout: 30000,
  // Pinned, not jest's default (one fewer than the cores: 1 on a 2-core machine, 3 on a 4-core
  // GitHub runner), so the suite takes as long everywhere. Two files at a time keep two cores
  // busy, as most runs are in-process and the rest mostly wait on sockets, timers and child
  // processes; three only add contention (see CONTRIBUTING.md "Tests" for the times).
  maxWorkers: 2,
  // With --coverage (npm run test:coverage, .ci/run, CI). The e2e-* tests run the bundle in child
  // processes, which coverage does not see; each index.ts is only a bundle's entry line.
  collectCoverageFrom: ['src/**/*.ts', '!src/**/index.ts'],
  coverageReporters: ['text', 'text-summary', 'json-summary'],
  // Set below what the suite reaches (see CONTRIBUTING.md), so that a change that leaves new
  // code untested fails, while ordinary changes keep some slack.
  coverageThreshold: { global: { lines: 85, branches: 75 } }
}
