// ESLint: typescript-eslint's strict type-checked rules over all TypeScript, run by `npm test` (npm run lint).
// The few rules relaxed below each say why; README "Design" says why this set.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeTest = {
  from: 'package',
  package: 'node:test',
  name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'reports/**', '.stryker-tmp/**', 'bench/results/**', '**/*.js', '**/*.mjs', 'quickstart/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Numbers and booleans in messages print as expected; objects and undefined are still caught.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // node:test's test() and describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [nodeTest] }],
      // tsconfig has noUncheckedIndexedAccess: `!` marks an index the line before just checked (a regex group, a
      // split of known length). A runtime check there would be an unreachable branch.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `a && b()` as a statement is the short form of an if; a bare expression statement is still an error.
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      // A variable a closure reads before its one assignment (wiring in main.ts) cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests read Ghost's and the gateway's JSON answers as untyped data and index arrays they just checked.
    // So do the tools beside the product (the lab, the probe, benchmarks, the demo).
    files: ['**/*.test.ts', 'test/**/*.ts', 'src/store/store.contract.ts', 'src/{lab,probe,bench,demo}/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // They also build text from that data and feed crafted values (strings spread into characters, fake requests).
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/restrict-plus-operands': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-misused-spread': 'off',
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      // Casts of JSON answers document what a test expects to read.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Tests assert at run time what the types say, and fakes implement async ports without awaiting.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/require-await': 'off',
      // A failing assert.ok or assert() without a message makes node rebuild the expression from the source file at
      // the call's position in tsx's generated code, read against the .ts file: that parse can run for minutes,
      // synchronously, beyond node:test's timeouts (seen under a mutant of the redact step). So every one says what it checks.
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "CallExpression[arguments.length=1]:matches([callee.object.name='assert'][callee.property.name='ok'], [callee.name='assert'])",
          message: 'Give assert.ok/assert a message: without one a failing check can hang instead of failing.',
        },
      ],
    },
  },
  {
    // The SQLite driver is synchronous behind async ports: `async` turns a thrown driver error into the rejection
    // the port promises.
    files: ['src/store/sqlite/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
);
