import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { GHOST_VERSION, NODE_VERSION, type LabPaths } from './paths.js';

/**
 * Brings Node 22 and Ghost 6.65 from the npm registry (the `ghost` package is ghost/core as published; its package.json engines: Node ^22.23.1 || ^24.20.0):
 *  1. `npm pack node-linux-<arch>@22` -> bin/node and include/node headers;
 *  2. `npm pack ghost@6.65.0` -> the ghost/core package;
 *  3. `npm install --omit=dev` run with Node 22 first on PATH and
 *     `--nodedir` pointing at its headers, so the native modules
 *     (better-sqlite3, re2) compile once, for the Node that runs Ghost.
 * A marker file is written last: an interrupted install starts again.
 */
export type Progress = (line: string) => void;

export class LabError extends Error {
  override name = 'LabError';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; logFile: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(opts.logFile, { flags: 'a' });
    log.write(`\n$ ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('error', (e) => {
      log.end();
      reject(e);
    });
    child.on('close', (code) => {
      log.end();
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`));
    });
  });
}

async function tail(file: string, lines = 25): Promise<string> {
  const { readFileSync } = await import('node:fs');
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function nodePackage(): string {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  if (process.platform !== 'linux')
    throw new LabError(`the lab installs node-linux-* packages; ${process.platform} is not supported`, 'run the lab on Linux');
  return `node-linux-${arch}@${NODE_VERSION}`;
}

export function isInstalled(p: LabPaths): boolean {
  return existsSync(p.installedMarker) && existsSync(p.nodeBin) && existsSync(join(p.ghostDir, 'index.js'));
}

/** Installs when needed; prints progress through `progress`. Returns true when it installed. */
export async function ensureInstalled(p: LabPaths, progress: Progress): Promise<boolean> {
  if (isInstalled(p)) return false;
  mkdirSync(p.home, { recursive: true });
  const logFile = join(p.home, 'install.log');
  const started = Date.now();
  const secs = () => `${Math.round((Date.now() - started) / 1000)}s`;
  const npmEnv = { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' };

  const step = async (label: string, fn: () => Promise<void>, hint: string) => {
    progress(`${label} [${secs()}]`);
    try {
      await fn();
    } catch (e) {
      throw new LabError(`${label} failed: ${(e as Error).message}\n--- ${logFile} (tail) ---\n${await tail(logFile)}`, hint);
    }
  };

  const nodeParent = join(p.home, `node-${NODE_VERSION}`);
  if (!existsSync(p.nodeBin)) {
    await step(
      `lab 1/3: fetching Node ${NODE_VERSION} (${nodePackage()}) from the npm registry`,
      async () => {
        rmSync(nodeParent, { recursive: true, force: true });
        mkdirSync(nodeParent, { recursive: true });
        await run('npm', ['pack', nodePackage(), '--silent'], { cwd: nodeParent, env: npmEnv, logFile });
        const tgz = readdirSync(nodeParent).find((f) => f.endsWith('.tgz'));
        if (!tgz) throw new Error('npm pack produced no tarball');
        await run('tar', ['xzf', tgz], { cwd: nodeParent, logFile });
        rmSync(join(nodeParent, tgz));
      },
      'check that the npm registry is reachable, then run `ghostgate lab up` again',
    );
  } else progress(`lab 1/3: Node ${NODE_VERSION} already present`);

  await step(
    `lab 2/3: fetching ghost@${GHOST_VERSION} from the npm registry`,
    async () => {
      rmSync(p.ghostRoot, { recursive: true, force: true });
      mkdirSync(p.ghostRoot, { recursive: true });
      await run('npm', ['pack', `ghost@${GHOST_VERSION}`, '--silent'], { cwd: p.ghostRoot, env: npmEnv, logFile });
      const tgz = readdirSync(p.ghostRoot).find((f) => f.endsWith('.tgz'));
      if (!tgz) throw new Error('npm pack produced no tarball');
      await run('tar', ['xzf', tgz], { cwd: p.ghostRoot, logFile });
      rmSync(join(p.ghostRoot, tgz));
    },
    'check that the npm registry is reachable, then run `ghostgate lab up` again',
  );

  // Node 22 first on PATH: npm's own scripts and node-gyp then run on, and build for, Node 22.
  const ghostEnv = { ...npmEnv, PATH: `${join(p.nodeDir, 'bin')}:${process.env.PATH ?? ''}`, npm_config_nodedir: p.nodeDir };
  const heartbeat = setInterval(() => {
    let n = 0;
    try {
      n = readdirSync(join(p.ghostDir, 'node_modules')).length;
    } catch {
      /* not yet */
    }
    progress(`lab 3/3: still installing Ghost's dependencies: ${n} top-level packages so far [${secs()}]`);
  }, 20_000);
  try {
    await step(
      "lab 3/3: installing Ghost's dependencies and compiling better-sqlite3 and re2 for Node 22 (a few minutes, once)",
      () =>
        run(
          'npm',
          ['install', '--omit=dev', '--no-audit', '--no-fund', '--legacy-peer-deps', '--loglevel=warn', `--nodedir=${p.nodeDir}`],
          {
            cwd: p.ghostDir,
            env: ghostEnv,
            logFile,
          },
        ),
      'a native module build failed: check python3, make and g++ are installed, then run `ghostgate lab up` again',
    );
  } finally {
    clearInterval(heartbeat);
  }
  for (const mod of ['better-sqlite3', 're2']) {
    const dir = join(p.ghostDir, 'node_modules', mod, 'build', 'Release');
    if (!existsSync(dir) || !readdirSync(dir).some((f) => f.endsWith('.node'))) {
      throw new LabError(
        `${mod} did not compile (no ${dir}/*.node)\n--- ${logFile} (tail) ---\n${await tail(logFile)}`,
        'check python3, make and g++, then run `ghostgate lab up` again',
      );
    }
  }
  writeFileSync(
    p.installedMarker,
    JSON.stringify({ ghost: GHOST_VERSION, node: NODE_VERSION, installedAt: new Date().toISOString() }) + '\n',
  );
  progress(`lab: Ghost ${GHOST_VERSION} installed in ${p.ghostDir} [${secs()}]`);
  return true;
}
