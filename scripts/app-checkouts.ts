// What `npm run prepare-apps` knows about checkouts of the two wayshub apps: the two edits the
// docs/full-wayshub.md asks for, which lock file matches package.json, and the postcss that Node 17+ can't
// load. Pure functions on file contents; scripts/prepare-apps.ts reads and writes the files.

/** An edit's outcome: the new text, the same text (already done), or why it was left alone. */
export type Edit = { status: 'changed'; text: string; what: string } | { status: 'done'; what: string } | { status: 'unknown'; why: string };

const API_LINE = /^(\s*baseURL:\s*)(["'])(https?:\/\/[^"'\s]+)\2(\s*,?\s*)$/m;

/**
 * wayshub-frontend's src/config/api.js has the API address written in; create-react-app bakes
 * `process.env.REACT_APP_API_URL` in at build time instead, with the old address as fallback.
 */
export function editApiConfig(text: string): Edit {
  if (/baseURL:\s*process\.env\.REACT_APP_API_URL\b/.test(text)) return { status: 'done', what: 'reads REACT_APP_API_URL already' };
  const found = text.match(new RegExp(API_LINE.source, 'gm')) ?? [];
  if (found.length !== 1) {
    return { status: 'unknown', why: `expected one line like baseURL: "http://localhost:5000/api/v1", found ${found.length}` };
  }
  return {
    status: 'changed',
    text: text.replace(
      API_LINE,
      (_m, head: string, quote: string, url: string, tail: string) => `${head}process.env.REACT_APP_API_URL || ${quote}${url}${quote}${tail}`,
    ),
    what: 'reads REACT_APP_API_URL now',
  };
}

/** The production entry the stack needs: sequelize reads the URL the stack gives the backend. */
export const PRODUCTION_DB_CONFIG = { use_env_variable: 'DATABASE_URL', dialect: 'mysql' } as const;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** wayshub-backend's config/config.json: the `production` entry reads DATABASE_URL. */
export function editDbConfig(text: string): Edit {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    return { status: 'unknown', why: 'it is not valid JSON' };
  }
  if (!isObject(config) || !isObject(config.production)) return { status: 'unknown', why: 'it has no "production" entry' };
  if (JSON.stringify(config.production) === JSON.stringify(PRODUCTION_DB_CONFIG)) return { status: 'done', what: 'production reads DATABASE_URL already' };
  // Rewritten as JSON.stringify writes it; a file written otherwise would change on other lines too.
  const indent = /\n([ \t]+)"/.exec(text)?.[1] ?? '  ';
  const trailing = text.endsWith('\n') ? '\n' : '';
  if (JSON.stringify(config, null, indent) + trailing !== text) {
    return { status: 'unknown', why: 'its layout is not what JSON.stringify writes, so a rewrite would change other lines too' };
  }
  return {
    status: 'changed',
    text: JSON.stringify({ ...config, production: PRODUCTION_DB_CONFIG }, null, indent) + trailing,
    what: 'production reads DATABASE_URL now',
  };
}

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

interface PackageLock {
  packages?: Record<
    string,
    { version?: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }
  >;
  dependencies?: Record<string, PackageLockV1Entry>;
}

interface PackageLockV1Entry {
  version?: string;
  dependencies?: Record<string, PackageLockV1Entry>;
}

const wanted = (pkg: PackageJson): Record<string, string> => ({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.optionalDependencies });

/** The names of package.json's dependencies that yarn.lock has no entry for (`name@range`). */
export function yarnLockMismatch(pkg: PackageJson, yarnLock: string): string[] {
  const keys = new Set<string>();
  for (const line of yarnLock.split('\n')) {
    if (/^[^\s#].*:$/.test(line)) for (const key of line.slice(0, -1).split(/,\s*/)) keys.add(key.replace(/^"|"$/g, ''));
  }
  const want = wanted(pkg);
  return Object.keys(want).filter((name) => !keys.has(`${name}@${want[name]}`));
}

/** The names where package-lock.json's root and package.json disagree, as `npm ci` checks them. */
export function packageLockMismatch(pkg: PackageJson, lock: PackageLock): string[] {
  const want = wanted(pkg);
  const root = lock.packages?.[''];
  if (!root) return Object.keys(want).filter((name) => !lock.dependencies?.[name]);
  const has = wanted(root);
  return [...Object.keys(want).filter((name) => has[name] !== want[name]), ...Object.keys(has).filter((name) => !(name in want))];
}

/** Every installed package's version by its path in the tree (node_modules/a/node_modules/b). */
export function lockVersions(lock: PackageLock): Map<string, string> {
  const out = new Map<string, string>();
  if (lock.packages) {
    for (const [where, entry] of Object.entries(lock.packages)) if (where && entry.version) out.set(where, entry.version);
    return out;
  }
  const walk = (deps: Record<string, PackageLockV1Entry> | undefined, prefix: string) => {
    for (const [name, entry] of Object.entries(deps ?? {})) {
      const where = `${prefix}node_modules/${name}`;
      if (entry.version) out.set(where, entry.version);
      walk(entry.dependencies, `${where}/`);
    }
  };
  walk(lock.dependencies, '');
  return out;
}

/**
 * postcss 8.0.0 to 8.2.10 export their files with a `"./": "./"` folder mapping, which Node 17
 * dropped: postcss-safe-parser's require('postcss/lib/...') then fails with
 * ERR_PACKAGE_PATH_NOT_EXPORTED. 8.2.11 lists each file.
 */
export function postcssTooOldForNode17(lock: PackageLock): Array<{ where: string; version: string }> {
  return [...lockVersions(lock)]
    .filter(([where, version]) => /(^|\/)node_modules\/postcss$/.test(where) && /^8\.(0\.\d+|1\.\d+|2\.([0-9]|10))$/.test(version))
    .map(([where, version]) => ({ where, version }));
}

/** What changed between two locks: `path old -> new`, added and removed packages. */
export function lockChanges(before: PackageLock, after: PackageLock): string[] {
  const a = lockVersions(before);
  const b = lockVersions(after);
  const out: string[] = [];
  for (const [where, version] of a) {
    const now = b.get(where);
    if (now === undefined) out.push(`${where} ${version} removed`);
    else if (now !== version) out.push(`${where} ${version} -> ${now}`);
  }
  for (const [where, version] of b) if (!a.has(where)) out.push(`${where} ${version} added`);
  return out;
}

/** The lines that differ between two texts, as `- old` and `+ new` (a longest-common-subsequence diff). */
export function lineDiff(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  // common[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const common = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) common[i][j] = a[i] === b[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (i < a.length && (j === b.length || common[i + 1][j] >= common[i][j + 1])) {
      out.push(`- ${a[i++]}`);
    } else {
      out.push(`+ ${b[j++]}`);
    }
  }
  return out;
}
