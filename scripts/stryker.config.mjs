// Mutation testing (StrykerJS) of the security-critical modules: `npm run mutate` (run from the repository root), not in CI.
// It is slow on 2 cores: scope a run to one module with
//   npm run mutate -- --mutate 'src/grants/**/*.ts,!src/grants/**/*.test.ts'
// Cheaper reruns: name the tests that exercise the module (comma-separated globs) and keep an incremental file, e.g.
//   GHOSTGATE_MUTATE_NAME=matcher GHOSTGATE_MUTATE_TESTS='src/catalog/matcher.test.ts,src/pipeline/resolve-route/*.test.ts' \
//     npm run mutate -- --mutate src/catalog/matcher.ts --incremental
// Reports: reports/mutation/mutation.html and .json. Figures and survivors: docs/security.md.
const allTests = ['src/**/*.test.ts', 'test/gateway.test.ts', 'test/lifecycle.test.ts', 'test/attacks/attacks.test.ts'];
const chosenTests = process.env.GHOSTGATE_MUTATE_TESTS?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
// A name for a scoped run keeps its report and incremental file apart from the others'.
const run = process.env.GHOSTGATE_MUTATE_NAME ?? 'mutation';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner', '@stryker-mutator/typescript-checker', './scripts/stryker-message-text.mjs'],
  // Mutants in message text (the words of refusals, `explain` descriptions) are skipped: see stryker-message-text.mjs.
  ignorers: ['message-text'],
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
    '!src/**/*.test.support.ts',
    'src/catalog/matcher.ts',
    // The audit chain's format. Its test on the writer thread is in test/ (not run here): the thread runs these
    // functions' source, and their instrumented source cannot run there.
    'src/store/audit-chain.ts',
  ],
  // Mutants only module loading reaches would need every test per mutant; presets.ts is data. Tables the tests reach
  // are still mutated (the copy tables of personal-data.ts were: docs/security.md, eighth run).
  ignoreStatic: true,
  // Each test file runs in its own node process (node:test, TAP), only for the mutants it covers.
  coverageAnalysis: 'perTest',
  tap: {
    // In-process tests only: tests that spawn `ghostgate` run the built dist/, which Stryker does not mutate.
    testFiles: chosenTests?.length ? chosenTests : allTests,
    nodeArgs: ['--import', 'tsx', '--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'],
  },
  // 2 shared cores.
  concurrency: 2,
  timeoutMS: 30000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${run}.html` },
  jsonReporter: { fileName: `reports/mutation/${run}.json` },
  ignorePatterns: ['dist', 'reports', 'bench/results', '.ghostgate', '*.db', '*.db-wal', '*.db-shm'],
  incrementalFile: `reports/stryker-incremental-${run}.json`,
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
