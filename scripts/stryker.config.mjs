// Mutation testing (StrykerJS) of the security-critical modules: `npm run mutate` (run from the repository root), not in CI.
// It is slow on 2 cores: scope a run to one module with
//   npm run mutate -- --mutate 'src/grants/**/*.ts,!src/grants/**/*.test.ts'
// Reports: reports/mutation/mutation.html and .json. Figures and survivors: docs/security.md.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner', '@stryker-mutator/typescript-checker'],
  // Mutants that do not type-check are discarded before any test runs.
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: [
    'src/pipeline/**/*.ts',
    '!src/pipeline/**/*.test.ts',
    'src/grants/**/*.ts',
    '!src/grants/**/*.test.ts',
    '!src/grants/presets.ts',
    'src/catalog/matcher.ts',
  ],
  // Module-load code (tables, schemas) would need every test per mutant; presets.ts is data.
  ignoreStatic: true,
  // Each test file runs in its own node process (node:test, TAP), only for the mutants it covers.
  coverageAnalysis: 'perTest',
  tap: {
    // In-process tests only: tests that spawn `ghostgate` run the built dist/, which Stryker does not mutate.
    testFiles: ['src/**/*.test.ts', 'test/gateway.test.ts', 'test/lifecycle.test.ts', 'test/attacks/attacks.test.ts'],
    nodeArgs: ['--import', 'tsx', '--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'],
  },
  // One type-checker process and two test runners on 2 cores.
  concurrency: 3,
  timeoutMS: 30000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  ignorePatterns: ['dist', 'reports', 'bench/results', '.ghostgate', '*.db', '*.db-wal', '*.db-shm'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
