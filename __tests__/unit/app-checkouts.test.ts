// What prepare-apps knows about wayshub checkouts, and the frontend Dockerfile's choice of lock
// file, which must agree with it (the Dockerfile carries its own copy: a build can read nothing
// of this project).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { editApiConfig, editDbConfig, lineDiff, lockChanges, packageLockMismatch, postcssTooOldForNode17, yarnLockMismatch } from '../../scripts/app-checkouts';

const ROOT = path.join(__dirname, '..', '..');
const FIXTURE = path.join(ROOT, '__tests__', 'support', 'test-images', 'dockerfile-apps', 'frontend');

describe("the frontend's API address", () => {
  const original = 'const API = axios.create({\n  baseURL: "http://localhost:5000/api/v1",\n});\n';

  test('is read from REACT_APP_API_URL, with the written address as fallback', () => {
    const edit = editApiConfig(original);
    expect(edit).toEqual({
      status: 'changed',
      what: 'reads REACT_APP_API_URL now',
      text: 'const API = axios.create({\n  baseURL: process.env.REACT_APP_API_URL || "http://localhost:5000/api/v1",\n});\n',
    });
  });

  test('a second run finds it done', () => {
    const edit = editApiConfig(original);
    expect(edit.status === 'changed' && editApiConfig(edit.text)).toEqual({ status: 'done', what: 'reads REACT_APP_API_URL already' });
  });

  test.each([
    ['no address written in', 'const API = axios.create({ baseURL: window.API });\n'],
    ['two of them', `${original}${original}`],
  ])('%s: left alone', (_why, text) => {
    expect(editApiConfig(text).status).toBe('unknown');
  });
});

describe("the backend's production database config", () => {
  const config = (production: unknown, indent = 2) => `${JSON.stringify({ development: { dialect: 'mysql', host: '127.0.0.1' }, production }, null, indent)}\n`;

  test('production reads DATABASE_URL; the other entries and the layout stay', () => {
    const edit = editDbConfig(config({ username: 'root', password: null, dialect: 'mysql' }, 4));
    expect(edit).toEqual({
      status: 'changed',
      what: 'production reads DATABASE_URL now',
      text: config({ use_env_variable: 'DATABASE_URL', dialect: 'mysql' }, 4),
    });
  });

  test('a second run finds it done', () => {
    expect(editDbConfig(config({ use_env_variable: 'DATABASE_URL', dialect: 'mysql' })).status).toBe('done');
  });

  test.each([
    ['not JSON', '{ production: {} }'],
    ['no production entry', '{\n  "development": {}\n}\n'],
    ['a layout JSON.stringify does not write', '{ "production": { "dialect": "mysql" } }\n'],
  ])('%s: left alone', (_why, text) => {
    expect(editDbConfig(text).status).toBe('unknown');
  });
});

describe('lock files', () => {
  const pkg = { dependencies: { axios: '^0.21.1', react: '^17.0.1' }, devDependencies: { 'react-scripts': '4.0.1' } };

  test('a yarn.lock entry must name each dependency with the range package.json gives', () => {
    const yarnLock = [
      '# yarn lockfile v1',
      '',
      '"@babel/core@^7.12.3", react@^17.0.1:',
      '  version "17.0.2"',
      'react-scripts@4.0.1:',
      '  version "4.0.1"',
    ].join('\n');
    expect(yarnLockMismatch(pkg, yarnLock)).toEqual(['axios']);
    expect(yarnLockMismatch(pkg, `${yarnLock}\naxios@^0.21.0:\n  version "0.21.4"\n`)).toEqual(['axios']);
    expect(yarnLockMismatch(pkg, `${yarnLock}\naxios@^0.21.1:\n  version "0.21.4"\n`)).toEqual([]);
  });

  test("package-lock.json's root must list exactly package.json's dependencies", () => {
    const root = { dependencies: { axios: '^0.21.1', react: '^17.0.1' }, devDependencies: { 'react-scripts': '4.0.1' } };
    expect(packageLockMismatch(pkg, { packages: { '': root } })).toEqual([]);
    expect(packageLockMismatch(pkg, { packages: { '': { ...root, dependencies: { react: '^17.0.1', lodash: '^4' } } } })).toEqual(['axios', 'lodash']);
    // lockfileVersion 1 has no root entry: the names must be there.
    expect(packageLockMismatch(pkg, { dependencies: { axios: {}, react: {} } })).toEqual(['react-scripts']);
  });

  test('postcss 8.0 to 8.2.10 is what Node 17+ cannot load, wherever it sits in the tree', () => {
    const lock = (version: string) => ({
      packages: { '': {}, 'node_modules/postcss': { version: '7.0.39' }, 'node_modules/postcss-safe-parser/node_modules/postcss': { version } },
    });
    expect(postcssTooOldForNode17(lock('8.1.10'))).toEqual([{ where: 'node_modules/postcss-safe-parser/node_modules/postcss', version: '8.1.10' }]);
    expect(postcssTooOldForNode17(lock('8.2.10'))).toHaveLength(1);
    expect(postcssTooOldForNode17(lock('8.2.11'))).toEqual([]);
    expect(postcssTooOldForNode17(lock('8.4.31'))).toEqual([]);
    expect(postcssTooOldForNode17({ dependencies: { 'postcss-safe-parser': { dependencies: { postcss: { version: '8.1.7' } } } } })).toEqual([
      { where: 'node_modules/postcss-safe-parser/node_modules/postcss', version: '8.1.7' },
    ]);
  });

  test('a lock change is shown as versions that moved, came and went', () => {
    const before = { packages: { '': {}, 'node_modules/a': { version: '1.0.0' }, 'node_modules/b': { version: '2.0.0' } } };
    const after = { packages: { '': {}, 'node_modules/a': { version: '1.1.0' }, 'node_modules/c': { version: '3.0.0' } } };
    expect(lockChanges(before, after)).toEqual(['node_modules/a 1.0.0 -> 1.1.0', 'node_modules/b 2.0.0 removed', 'node_modules/c 3.0.0 added']);
  });
});

test('a diff shows the removed lines before the added ones, and nothing that stayed', () => {
  expect(lineDiff('a\nb\nc\nd', 'a\nB\nc\nd\ne')).toEqual(['- b', '+ B', '+ e']);
  expect(lineDiff('same', 'same')).toEqual([]);
});

describe("the frontend Dockerfile's choice of lock file", () => {
  // The script as the Dockerfile writes it: the quoted lines of its printf, up to pick-lock.js.
  const dockerfile = fs.readFileSync(path.join(ROOT, 'docker', 'wayshub-frontend.Dockerfile'), 'utf8');
  const block = dockerfile.slice(dockerfile.indexOf("RUN printf '%s\\n'"), dockerfile.indexOf('> /tmp/pick-lock.js'));
  const script = block
    .split('\n')
    .slice(1)
    .map((line) => /^\s*'(.*)' \\$/.exec(line)?.[1] ?? /^\s*'(.*)'\s*$/.exec(line)?.[1])
    .filter((line): line is string => line !== undefined)
    .join('\n');

  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-pick-lock-'));
    fs.writeFileSync(path.join(dir, 'pick-lock.js'), script);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const pick = (files: Record<string, string>): { code: number | null; out: string; err: string } => {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    const result = spawnSync(process.execPath, ['pick-lock.js'], { cwd: dir, encoding: 'utf8' });
    return { code: result.status, out: result.stdout.trim(), err: result.stderr.trim() };
  };
  const fixture = (name: string) => fs.readFileSync(path.join(FIXTURE, name), 'utf8');

  test('on the stand-in with the real checkout’s locks: package-lock.json, as prepare-apps judges them', () => {
    const files = { 'package.json': fixture('package.json'), 'yarn.lock': fixture('yarn.lock'), 'package-lock.json': fixture('package-lock.json') };
    expect(pick(files)).toEqual({
      code: 0,
      out: 'npm',
      err: 'wayshub-frontend: yarn.lock does not match package.json (postcss-safe-parser); installing from package-lock.json, which does',
    });
    const pkg = JSON.parse(files['package.json']) as Parameters<typeof yarnLockMismatch>[0];
    expect(yarnLockMismatch(pkg, files['yarn.lock'])).toEqual(['postcss-safe-parser']);
    expect(packageLockMismatch(pkg, JSON.parse(files['package-lock.json']) as Parameters<typeof packageLockMismatch>[1])).toEqual([]);
  });

  test('yarn.lock first when both match', () => {
    const pkg = JSON.stringify({ dependencies: { ms: '^2.1.3' } });
    const lock = JSON.stringify({ lockfileVersion: 3, packages: { '': { dependencies: { ms: '^2.1.3' } } } });
    expect(pick({ 'package.json': pkg, 'yarn.lock': 'ms@^2.1.3:\n  version "2.1.3"\n', 'package-lock.json': lock })).toEqual({ code: 0, out: 'yarn', err: '' });
  });

  test('only a stale package-lock.json: one line, exit 1', () => {
    const pkg = JSON.stringify({ dependencies: { ms: '^2.1.3' } });
    const lock = JSON.stringify({ lockfileVersion: 3, packages: { '': { dependencies: { ms: '^2.0.0' } } } });
    expect(pick({ 'package.json': pkg, 'package-lock.json': lock })).toEqual({
      code: 1,
      out: '',
      err: 'wayshub-frontend: package-lock.json does not match package.json (ms); in the checkout, regenerate package-lock.json (npm install --package-lock-only)',
    });
  });
});
