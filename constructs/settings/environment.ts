// The environment variables this tool reads, and how each one overrides one setting of what
// main.ts declares: all from the table in schema.ts. Values are parsed here only as far as their
// syntax goes; resolveSettings validates them like any other setting.
import type { WayshubSettingsInput } from '.';
import { SETTINGS, nameOf } from './schema';
import { SettingsError } from './validators';

/** The environment variables this tool reads, and nothing else (the schema's, in its order). */
export const ENV_VARS: readonly string[] = SETTINGS.flatMap((s) => (s.env ? [s.env] : []));

/** WAYSHUB_ variables that are not settings: read by the tooling around a deploy. */
export const TOOL_VARS: Readonly<Record<string, string>> = {
  WAYSHUB_STATE: 'where the state is (local or pg)',
  WAYSHUB_REVIEW_KEY: 'the key of the digests in a pull-request plan (npm run plan)',
  WAYSHUB_PROVIDER_MIRROR: 'the tests: a local mirror of the provider',
  WAYSHUB_PG_USER: 'scripts/postgres-up.sh: the state role',
  WAYSHUB_PG_PASSWORD: 'scripts/postgres-up.sh: its password',
  WAYSHUB_PG_DATABASE: 'scripts/postgres-up.sh: the state database',
};
/** The tests' own variables (WAYSHUB_E2E_UPSTREAMS ...). */
const TEST_VARS = /^WAYSHUB_E2E_[A-Z0-9_]+$/;

type Env = Readonly<Record<string, string | undefined>>;

/** Edits (insert, delete, replace, swap two neighbours) from one name to another. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known name closest to a mistyped one, if one is close. */
function closest(name: string, known: readonly string[]): string | undefined {
  const scored = known.map((k) => ({ k, d: distance(name, k) })).sort((x, y) => x.d - y.d);
  return scored[0] && scored[0].d <= Math.max(2, Math.floor(name.length / 4)) ? scored[0].k : undefined;
}

/**
 * Refuses a WAYSHUB_ variable that nothing reads (a typo would otherwise be ignored silently),
 * suggesting the closest known name. `prefixes` are the deployments' (`STAGING_`) when main.ts
 * declares several: then only `<ENV>_WAYSHUB_...` (and `<ENV>_DOCKER_HOST`) override settings.
 */
export function refuseUnknownVariables(env: Env, prefixes: readonly string[] = []): void {
  const set = Object.keys(env)
    .filter((key) => (env[key] ?? '').trim() !== '')
    .sort();
  const refuse = (key: string, why: string, known: readonly string[]): never => {
    const near = known.length === 1 ? known[0] : closest(key, known);
    throw new SettingsError(key, env[key], `${why}; allowed: ${near ? `did you mean ${near}? ` : ''}the variables of docs/settings.md`);
  };
  for (const key of set) {
    if (/^WAYSHUB_/.test(key)) {
      if (ENV_VARS.includes(key) || key in TOOL_VARS || TEST_VARS.test(key)) continue;
      refuse(key, 'no such variable', prefixes.length ? prefixes.flatMap((p) => ENV_VARS.map((v) => p + v)) : ENV_VARS);
    }
    const prefixed = /^([A-Z][A-Z0-9]*_)((?:WAYSHUB_|DOCKER_HOST$).*)$/.exec(key);
    if (!prefixed) continue;
    const [, prefix, name] = prefixed;
    if (prefixes.length === 0) {
      if (name === 'DOCKER_HOST') continue; // some other tool's
      refuse(key, 'main.ts declares one deployment, and a prefixed variable is for one of several', ENV_VARS.includes(name) ? [name] : ENV_VARS);
    }
    if (!prefixes.includes(prefix)) {
      if (name === 'DOCKER_HOST') continue;
      refuse(
        key,
        `no deployment is named ${prefix.slice(0, -1).toLowerCase()} in main.ts (${prefixes.map((p) => p.slice(0, -1).toLowerCase()).join(', ')})`,
        prefixes.map((p) => p + name),
      );
    }
    if (!ENV_VARS.includes(name))
      refuse(
        key,
        'no such variable',
        ENV_VARS.map((v) => prefix + v),
      );
  }
}

/** Sets a dotted path, copying each object on the way: what main.ts gave is never changed. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const [head, ...rest] = path.split('.');
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  const child = { ...(target[head] as Record<string, unknown> | undefined) };
  target[head] = child;
  setPath(child, rest.join('.'), value);
}

/** Applies environment overrides on top of what main.ts declares. Empty variables count as unset. */
export function withEnvironment(base: WayshubSettingsInput, env: Env): WayshubSettingsInput {
  refuseUnknownVariables(env);
  const get = (key: string): string | undefined => {
    const v = env[key];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const out = { ...base, app: { ...base.app }, proxy: { ...base.proxy }, backend: { ...base.backend }, database: { ...base.database }, tls: { ...base.tls } };
  for (const spec of SETTINGS) {
    const value = spec.env && !spec.readWithAnother ? get(spec.env) : undefined;
    if (value === undefined) continue;
    setPath(out, spec.path, spec.parse ? spec.parse(value, nameOf(spec.path)) : value);
  }
  // The trusted ranges come with the header they set; the header alone would change nothing.
  if (get('WAYSHUB_REAL_IP_FROM') !== undefined) setPath(out, 'proxy.realIp.header', get('WAYSHUB_REAL_IP_HEADER') ?? 'X-Forwarded-For');
  else if (get('WAYSHUB_REAL_IP_HEADER') !== undefined) {
    throw new SettingsError(
      nameOf('proxy.realIp.header'),
      get('WAYSHUB_REAL_IP_HEADER'),
      'it has no effect unless WAYSHUB_REAL_IP_FROM is set; allowed: set that too, or leave this out',
    );
  }
  return out;
}
