// npm run prepare-apps -- [--node 18] [--dry-run] ../wayshub-frontend ../wayshub-backend
//
// Applies to checkouts of the two wayshub apps the edits docs/full-wayshub.md asks for, and shows each
// change as a diff: the frontend's API address read from REACT_APP_API_URL, the backend's
// production database config read from DATABASE_URL, and with --node 17 or newer the lock-file
// fix that lets create-react-app 4 build there. Running it again changes nothing. What it does not
// recognize it leaves alone, says so and exits 1.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Edit, editApiConfig, editDbConfig, lineDiff, lockChanges, packageLockMismatch, postcssTooOldForNode17, yarnLockMismatch } from './app-checkouts';

const USAGE = 'usage: npm run prepare-apps -- [--node <major>] [--dry-run] <wayshub-frontend checkout> <wayshub-backend checkout>';
const FRONTEND_API = 'src/config/api.js';
const BACKEND_DB = 'config/config.json';
// Files the backend repository commits with secrets in them.
const BACKEND_SECRET_FILES = ['.env', 'env.example'];

class UsageError extends Error {}

interface Options {
  node: number;
  dryRun: boolean;
  checkouts: Array<{ dir: string; app: 'frontend' | 'backend' }>;
}

function parseArgs(args: readonly string[]): Options {
  let node = 16;
  let dryRun = false;
  const dirs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--dry-run') dryRun = true;
    else if (arg === '--node') {
      const value = args[++i] ?? '';
      if (!/^[0-9]{1,3}$/.test(value) || Number(value) < 10)
        throw new UsageError(`invalid --node: ${JSON.stringify(value)}; allowed: the major version of the NODE_IMAGE you build with, e.g. 16 or 18`);
      node = Number(value);
    } else if (arg.startsWith('-')) throw new UsageError(`unknown option ${JSON.stringify(arg)}; ${USAGE}`);
    else dirs.push(arg);
  }
  if (dirs.length === 0) throw new UsageError(USAGE);
  const checkouts = dirs.map((dir) => {
    if (!fs.existsSync(path.join(dir, 'package.json'))) throw new UsageError(`invalid checkout ${JSON.stringify(dir)}: no package.json there; ${USAGE}`);
    if (fs.existsSync(path.join(dir, FRONTEND_API))) return { dir, app: 'frontend' as const };
    if (fs.existsSync(path.join(dir, BACKEND_DB))) return { dir, app: 'backend' as const };
    throw new UsageError(`invalid checkout ${JSON.stringify(dir)}: it has neither ${FRONTEND_API} (wayshub-frontend) nor ${BACKEND_DB} (wayshub-backend)`);
  });
  return { node, dryRun, checkouts };
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

/** Applies one text edit to a file and shows it; false when it was left alone. */
function editFile(dir: string, file: string, edit: (text: string) => Edit, dryRun: boolean): boolean {
  const full = path.join(dir, file);
  const before = fs.readFileSync(full, 'utf8');
  const result = edit(before);
  if (result.status === 'unknown') {
    say(`  ${file}: left alone: ${result.why}; make the edit by hand as docs/full-wayshub.md shows`);
    return false;
  }
  if (result.status === 'done') {
    say(`  ${file}: ${result.what}`);
    return true;
  }
  say(`  ${file}: ${dryRun ? 'would change: ' : ''}${result.what}`);
  for (const line of lineDiff(before, result.text)) say(`    ${line}`);
  if (!dryRun) fs.writeFileSync(full, result.text);
  return true;
}

function npm(dir: string, args: readonly string[]): void {
  say(`    $ npm ${args.join(' ')}`);
  const result = spawnSync('npm', [...args, '--no-audit', '--no-fund'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`npm ${args.join(' ')} failed in ${dir} (exit ${result.status ?? 'signal'}); is the npm registry reachable?`);
}

/**
 * Node 17+ and create-react-app 4: the lock file the Dockerfile will use must not pin a postcss
 * that Node 17+ can't load. The fix that works on wayshub-frontend: drop the stale yarn.lock (npm
 * would read versions from it), then `npm install --package-lock-only && npm update postcss
 * --package-lock-only`.
 */
function fixLockFile(dir: string, node: number, dryRun: boolean): boolean {
  const lockFile = path.join(dir, 'package-lock.json');
  const yarnFile = path.join(dir, 'yarn.lock');
  if (!fs.existsSync(lockFile)) {
    say('  package-lock.json: none; nothing to check for Node 17+');
    return true;
  }
  const before = readJson<Parameters<typeof lockChanges>[0]>(lockFile);
  const pkg = readJson<Parameters<typeof packageLockMismatch>[0]>(path.join(dir, 'package.json'));
  const old = postcssTooOldForNode17(before);
  const pinned = old.map((p) => `postcss ${p.version} (${p.where})`).join(', ');
  // What yarn.lock lacks of package.json; undefined when there is no yarn.lock.
  const stale = fs.existsSync(yarnFile) ? yarnLockMismatch(pkg, fs.readFileSync(yarnFile, 'utf8')) : undefined;
  if (old.length === 0) {
    say(`  package-lock.json: loads on Node ${node} already (no postcss 8.0 to 8.2.10)`);
    return true;
  }
  if (node < 17) {
    if (stale?.length) say(`  yarn.lock: does not match package.json (it lacks ${stale.join(', ')}); the Dockerfile installs from package-lock.json`);
    say(`  package-lock.json: pins ${pinned}, which Node 17+ can't load; left as it is for Node ${node}. For a Node 17+ base, run this again with --node 18`);
    return true;
  }
  if (stale) {
    if (stale.length === 0) {
      say(
        '  yarn.lock: left alone: it matches package.json, so the build installs from it, not from package-lock.json; update postcss there (yarn upgrade) by hand',
      );
      return false;
    }
    say(
      `  yarn.lock: ${dryRun ? 'would delete' : 'deleted'}: it does not match package.json (it lacks ${stale.join(', ')}), and npm would take old versions from it`,
    );
    if (!dryRun) fs.rmSync(yarnFile);
  }
  if (dryRun) {
    say(`  package-lock.json: would update ${pinned} with npm install --package-lock-only && npm update postcss --package-lock-only`);
    return true;
  }
  say(`  package-lock.json: updating ${pinned} for Node ${node} ...`);
  npm(dir, ['install', '--package-lock-only', '--ignore-scripts']);
  npm(dir, ['update', 'postcss', '--package-lock-only', '--ignore-scripts']);
  const after = readJson<Parameters<typeof lockChanges>[0]>(lockFile);
  for (const change of lockChanges(before, after)) say(`    ${change}`);
  const left = postcssTooOldForNode17(after);
  if (left.length > 0) {
    say(
      `  package-lock.json: still pins ${left.map((p) => `postcss ${p.version} (${p.where})`).join(', ')}; a dependency holds it back: update that one by hand`,
    );
    return false;
  }
  if (packageLockMismatch(pkg, after).length > 0)
    throw new Error('package-lock.json no longer matches package.json after npm update; restore it with git checkout');
  return true;
}

function prepareFrontend(dir: string, options: Options): boolean {
  const api = editFile(dir, FRONTEND_API, editApiConfig, options.dryRun);
  return fixLockFile(dir, options.node, options.dryRun) && api;
}

function prepareBackend(dir: string, options: Options): boolean {
  const db = editFile(dir, BACKEND_DB, editDbConfig, options.dryRun);
  for (const file of BACKEND_SECRET_FILES) {
    if (fs.existsSync(path.join(dir, file))) {
      say(`  ${file}: left as it is; docker/wayshub-backend.Dockerfile keeps it out of the image. It is in the repository's history: rotate the keys it holds`);
    }
  }
  return db;
}

function main(args: readonly string[]): number {
  let options: Options;
  try {
    options = parseArgs(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`prepare-apps: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  let complete = true;
  for (const { dir, app } of options.checkouts) {
    say(`wayshub-${app} (${dir}):`);
    complete = (app === 'frontend' ? prepareFrontend(dir, options) : prepareBackend(dir, options)) && complete;
  }
  if (!complete) {
    process.stderr.write('prepare-apps: some edits were left alone (above); make them by hand as docs/full-wayshub.md shows\n');
    return 1;
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`prepare-apps: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
