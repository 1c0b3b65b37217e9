// Reading the evaluated attributes of a docker resource: typed getters that remember what was
// read, so that anything set but not implemented is refused by name; and small helpers that
// turn attributes into docker CLI flags.
import { Json, JsonObject, isObject, isUnset } from './json-value';

export function pushValue(args: string[], flag: string, value: string | undefined): void {
  if (value !== undefined) args.push(flag, value);
}

export function pushMap(args: string[], flag: string, map: Record<string, string>): void {
  for (const [k, v] of Object.entries(map)) args.push(flag, `${k}=${v}`);
}

export function pushLabels(args: string[], a: Attrs): void {
  for (const l of a.blocks('labels')) {
    args.push('--label', `${l.requiredStr('label')}=${l.requiredStr('value')}`);
    l.finish();
  }
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\-./:=@%+,]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function csvField(s: string): string {
  return /[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function notImplemented(address: string, attr: string): Error {
  return new Error(`local-apply: ${address} sets \`${attr}\`, which this harness does not implement`);
}

/**
 * Reads attributes of one object (a resource or a nested block), remembering which were
 * read; finish() refuses every other attribute that is set.
 */
export class Attrs {
  private readonly used = new Set<string>();

  constructor(
    private readonly obj: JsonObject,
    private readonly address: string,
    private readonly prefix = '',
  ) {}

  /** Where this block sits, for messages: `docker_container.app[0].upload`. */
  get at(): string {
    return `${this.address}${this.prefix ? `.${this.prefix.replace(/\.$/, '')}` : ''}`;
  }

  accept(...keys: string[]): void {
    keys.forEach((k) => this.used.add(k));
  }

  private get(key: string): Json | undefined {
    this.used.add(key);
    const v = this.obj[key];
    return isUnset(v) ? undefined : v;
  }

  private wrong(key: string, expected: string, v: Json): never {
    throw new Error(`local-apply: ${this.address}: \`${this.prefix}${key}\` should be ${expected}, got ${JSON.stringify(v)}`);
  }

  str(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') return this.wrong(key, 'a string', v);
    return v;
  }

  requiredStr(key: string): string {
    const v = this.str(key);
    if (v === undefined) throw new Error(`local-apply: ${this.address}: \`${this.prefix}${key}\` is required`);
    return v;
  }

  num(key: string): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'number') return this.wrong(key, 'a number', v);
    return v;
  }

  requiredNum(key: string): number {
    this.used.add(key);
    const v = this.obj[key];
    if (typeof v !== 'number') return this.wrong(key, 'a number', v ?? null);
    return v;
  }

  /** A Go duration; "0s" is the provider's "not set". */
  duration(key: string): string | undefined {
    const v = this.str(key);
    if (v === undefined || /^0+(\.0+)?[a-z]*$/.test(v)) return undefined;
    if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) return this.wrong(key, 'a duration like "5s"', v);
    return v;
  }

  bool(key: string, dflt = false): boolean {
    this.used.add(key);
    const v = this.obj[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') return this.wrong(key, 'a boolean', v);
    return v;
  }

  strList(key: string): string[] {
    const v = this.get(key);
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return this.wrong(key, 'a list of strings', v);
    return v as string[];
  }

  strMap(key: string): Record<string, string> {
    const v = this.get(key);
    if (v === undefined) return {};
    if (!isObject(v)) return this.wrong(key, 'a map of strings', v);
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') return this.wrong(key, 'a map of strings', v);
      out[k] = String(x);
    }
    return out;
  }

  /** A nested block list; a single block may be synthesized as an object or a one-element list. */
  blocks(key: string): Attrs[] {
    const v = this.get(key);
    if (v === undefined) return [];
    const list = Array.isArray(v) ? v : [v];
    return list.map((item, i) => {
      if (!isObject(item)) return this.wrong(key, 'a block (object)', item);
      const idx = list.length > 1 || Array.isArray(v) ? `[${i}]` : '';
      return new Attrs(item, this.address, `${this.prefix}${key}${idx}.`);
    });
  }

  block(key: string): Attrs | undefined {
    const list = this.blocks(key);
    if (list.length > 1) throw new Error(`local-apply: ${this.address}: \`${this.prefix}${key}\` takes one block, got ${list.length}`);
    return list[0];
  }

  finish(): void {
    for (const [key, v] of Object.entries(this.obj)) {
      if (!this.used.has(key) && !isUnset(v)) throw notImplemented(this.address, `${this.prefix}${key}`);
    }
  }
}

/** A `healthcheck` block as `docker create` / `docker service create` flags (the same in both). */
export function pushHealthcheck(args: string[], a: Attrs, notes: string[], address: string): void {
  const h = a.block('healthcheck');
  if (!h) return;
  const test = h.strList('test');
  if (test[0] === 'NONE') args.push('--no-healthcheck');
  else if (test[0] === 'CMD-SHELL')
    args.push('--health-cmd', test.slice(1).join(' ')); // the engine joins them so too
  else if (test[0] === 'CMD') {
    // The CLI has no exec-form health check: run the same argv through /bin/sh.
    args.push('--health-cmd', test.slice(1).map(shellQuote).join(' '));
    notes.push(`${address}: healthcheck ["CMD", ...] runs through /bin/sh here (the docker CLI has no exec form)`);
  } else if (test.length > 0) {
    throw new Error(`local-apply: ${address}: healthcheck.test must start with CMD, CMD-SHELL or NONE, got ${JSON.stringify(test)}`);
  }
  pushValue(args, '--health-interval', h.duration('interval'));
  pushValue(args, '--health-timeout', h.duration('timeout'));
  pushValue(args, '--health-start-period', h.duration('start_period'));
  pushValue(args, '--health-retries', h.num('retries')?.toString());
  // Engine 20.10 (API 1.41) has no start interval; "0s" is the provider's default.
  if (h.duration('start_interval') !== undefined) throw notImplemented(address, 'healthcheck.start_interval');
  h.finish();
}
