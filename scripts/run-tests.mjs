#!/usr/bin/env node
// Runs every test with Node's own test runner (TypeScript through tsx).
//   npm test             unit tests, then the e2e suite against the lab's real Ghost
//   npm run test:unit    unit tests only
// Unit tests sit beside the code (src/**/*.test.ts); e2e tests live in test/e2e.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

const unitOnly = process.argv.includes('--unit');
const e2eDir = join('test', 'e2e');
const unit = [...find('src'), ...find('test').filter((f) => !f.startsWith(e2eDir))];
const e2e = unitOnly ? [] : find(e2eDir);
const tap = join(mkdtempSync(join(tmpdir(), 'ghostgate-test-')), 'results.tap');
const args = [
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=1',
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  '--test-reporter=tap',
  `--test-reporter-destination=${tap}`,
  ...unit,
  ...e2e,
];
const r = spawnSync(process.execPath, args, {
  stdio: 'inherit',
  env: { ...process.env, GHOSTGATE_LOG_LEVEL: process.env.GHOSTGATE_LOG_LEVEL ?? 'silent' },
});
// One plain closing line for CI and people: "N passed, N failed, N skipped".
let counts = '';
try {
  const text = readFileSync(tap, 'utf8');
  const n = (k) => Number((new RegExp(`^# ${k} (\\d+)$`, 'm').exec(text) ?? [])[1] ?? 0);
  counts = `${n('pass')} passed, ${n('fail') + n('cancelled')} failed, ${n('skipped') + n('todo')} skipped`;
} catch {
  counts = '0 passed, 1 failed';
}
console.log(`\n${counts}`);
process.exit(r.status ?? 1);
