// The environment variables this tool reads, and how each one overrides one setting of what
// main.ts declares: all from the table in schema.ts. Values are parsed here only as far as their
// syntax goes; resolveSettings validates them like any other setting.
import type { WayshubSettingsInput } from '.';
import { SETTINGS, nameOf } from './schema';

/** The environment variables this tool reads, and nothing else (the schema's, in its order). */
export const ENV_VARS: readonly string[] = SETTINGS.flatMap((s) => (s.env ? [s.env] : []));

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
export function withEnvironment(base: WayshubSettingsInput, env: Readonly<Record<string, string | undefined>>): WayshubSettingsInput {
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
  // The trusted ranges come with the header they set; the header alone changes nothing.
  if (get('WAYSHUB_REAL_IP_FROM') !== undefined) setPath(out, 'proxy.realIp.header', get('WAYSHUB_REAL_IP_HEADER') ?? 'X-Forwarded-For');
  return out;
}
