// The checks every concern's settings share: one error type with the one line the user sees,
// and validators for whole numbers, switches, host names, image references and PEM files.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/** What a caller may set of a settings type: every field optional and writable. */
export type Mutable<T> = { -readonly [K in keyof T]?: T[K] };

/** A setting with a bad value: its message is the one line the user sees. */
export class SettingsError extends Error {
  constructor(
    readonly setting: string,
    readonly value: unknown,
    readonly allowed: string,
  ) {
    // Every part escaped: a value, a variable's name or a path may hold anything a terminal
    // would act on (a colour, a cursor move, a second "wayshub:" line).
    super(`invalid ${escapeControls(setting)}: ${show(value)}; ${escapeControls(allowed)}`);
    this.name = 'SettingsError';
  }
}

// C0 and C1 controls, DEL, line and paragraph separators, and the marks that reorder text.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text with every control character written as \uXXXX, so it prints as one plain line. */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A value as the error line shows it: quoted, escaped, short. */
function show(value: unknown): string {
  const text = escapeControls(JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export const PORT_ALLOWED = 'allowed: a whole number from 1 to 65535';

export function checkWhole(value: unknown, setting: string, min: number, max: number, allowed: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(setting, value, allowed);
  }
}

/** A switch set in code: true or false, nothing else. */
export function checkBoolean(value: unknown, setting: string): boolean {
  if (typeof value !== 'boolean') throw new SettingsError(setting, value, 'allowed: true or false (on or off in the environment)');
  return value;
}

/** An nginx size (`client_max_body_size`): `512k`, `10m`, `1g`, or `0` for no limit; lower case. */
export function checkBodySize(value: unknown, setting: string): string {
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,5}[kmgKMG]?)$/.test(value)) {
    throw new SettingsError(setting, value, 'allowed: a size like 512k, 10m or 1g (digits with an optional k, m or g); 0 for no limit');
  }
  return value.toLowerCase();
}

export function parseWhole(text: string, setting: string, allowed: string): number {
  if (!/^[0-9]{1,9}$/.test(text)) throw new SettingsError(setting, text, allowed);
  return Number(text);
}

/** on/off style switches from the environment. */
export function parseSwitch(text: string, setting: string): boolean {
  if (['on', 'true', 'yes', '1'].includes(text)) return true;
  if (['off', 'false', 'no', '0'].includes(text)) return false;
  throw new SettingsError(setting, text, 'allowed: on or off (also true/false, yes/no, 1/0)');
}

/** Validates a DNS name as nginx `server_name` will see it; returns it in lower case. */
export function checkHostname(raw: string, setting: string, wildcard: boolean): string {
  const fail = (why: string): never => {
    throw new SettingsError(setting, raw, `${why}; allowed: dot-separated labels of a-z, 0-9 and "-", e.g. alvin.xyz${wildcard ? ' or *.alvin.xyz' : ''}`);
  };
  if (typeof raw !== 'string' || raw.length === 0) return fail('the name is empty');
  // Before lower-casing: some signs lower-case to ASCII (the Kelvin sign to "k").
  const foreign = /[^A-Za-z0-9.*-]/.exec(raw);
  if (foreign) fail(`it contains ${JSON.stringify(foreign[0])}`);
  const name = raw.toLowerCase();
  if (name.length > 253) fail(`the name is ${name.length} characters long, more than 253`);
  const labels = name.split('.');
  labels.forEach((label, i) => {
    if (label === '*' && i === 0 && labels.length > 1) {
      if (!wildcard) fail('a wildcard "*." is allowed only in serverAliases (WAYSHUB_SERVER_ALIASES)');
      return;
    }
    if (label.includes('*')) fail('"*" is allowed only as the whole first label, as in *.alvin.xyz');
    if (label.length === 0) fail('it has an empty label');
    if (label.length > 63) fail(`the label "${label.slice(0, 20)}..." is ${label.length} characters long, more than 63`);
    const bad = /[^a-z0-9-]/.exec(label);
    if (bad) fail(`it contains ${JSON.stringify(bad[0])}`);
    if (label.startsWith('-') || label.endsWith('-')) fail(`the label "${label}" starts or ends with "-"`);
  });
  // Inside the Docker network, the stack's containers answer to one-label names (wayshub-app)
  // and Swarm's tasks to tasks.<service>: a site of that name would send the proxy to itself.
  if (labels.length < 2) fail('one label is a name inside the Docker network (like wayshub-app), not a site');
  if (labels[0] === 'tasks') fail('tasks.<name> is how Swarm names the tasks of a service inside the network');
  if (/^[0-9]+$/.test(labels[labels.length - 1])) fail('an IP address is not a name nginx can serve as a site (no top-level domain is all digits)');
  return name;
}

/**
 * An app server outside the stack, `host:port`: an IPv4 address, an IPv6 one in brackets, or a
 * DNS name (checked like a domain); returned with the name in lower case.
 */
export function checkServerAddress(text: unknown, setting: string): string {
  const allowed = 'allowed: host:port, the host an IPv4 address, [an IPv6 address] or a DNS name, the port 1 to 65535, e.g. 10.0.0.11:3000';
  const m = typeof text === 'string' ? /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):([0-9]{1,5})$/.exec(text.trim()) : null;
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new SettingsError(setting, text, allowed);
  const host = m[1];
  if (host.startsWith('[')) {
    if (!net.isIPv6(host.slice(1, -1))) throw new SettingsError(setting, text, allowed);
    return `${host.toLowerCase()}:${m[2]}`;
  }
  if (/^[0-9.]+$/.test(host)) {
    if (!net.isIPv4(host)) throw new SettingsError(setting, text, allowed);
    return `${host}:${m[2]}`;
  }
  return `${checkHostname(host, setting, false)}:${m[2]}`;
}

/** Whether the port of a URL (`scheme://host:port/...`), if it has one, is from 1 to 65535. */
export function portInRange(url: string): boolean {
  const port = /^[a-z]+:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/]*):([0-9]+)/.exec(url)?.[1];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
}

/** An IPv4 or IPv6 address, optionally with a prefix length (no zone ids: "%" means nothing to nginx). */
export function isCidr(text: string): boolean {
  const [addr, prefix, ...rest] = text.split('/');
  if (rest.length > 0 || !/^[0-9A-Fa-f:.]+$/.test(addr)) return false;
  const max = net.isIPv4(addr) ? 32 : net.isIPv6(addr) ? 128 : -1;
  return max > 0 && (prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= max));
}

/** Whether an address (its bytes) lies in a network: their first `prefix` bits are the same. */
export function sharesPrefix(bytes: readonly number[], net: { readonly bytes: readonly number[]; readonly prefix: number }): boolean {
  const bit = (b: readonly number[], n: number) => (b[n >> 3] >> (7 - (n & 7))) & 1;
  return Array.from({ length: net.prefix }, (_, n) => n).every((n) => bit(bytes, n) === bit(net.bytes, n));
}

/** A CIDR range as an IPv4 or IPv6 prefix; an IPv4-mapped IPv6 range (::ffff:a.b.c.d/104) counts as IPv4. */
export function cidrRange(text: string): { family: 4 | 6; bytes: number[]; prefix: number } {
  const [addr, prefixText] = text.split('/');
  if (net.isIPv4(addr)) return { family: 4, bytes: addr.split('.').map(Number), prefix: prefixText === undefined ? 32 : Number(prefixText) };
  // Expand "::" and a dotted IPv4 tail into 16 bytes.
  const [head, tail = ''] = addr.includes('::') ? addr.split('::') : [addr];
  const groups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) =>
          g.includes('.')
            ? [0, 1].map((i) => {
                const b = g.split('.').map(Number);
                return b[i * 2] * 256 + b[i * 2 + 1];
              })
            : [parseInt(g, 16)],
        );
  const h = groups(head);
  const t = addr.includes('::') ? groups(tail) : [];
  const words = [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  const bytes = words.flatMap((w) => [w >> 8, w & 255]);
  const prefix = prefixText === undefined ? 128 : Number(prefixText);
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255;
  if (mapped && prefix >= 96) return { family: 4, bytes: bytes.slice(12), prefix: prefix - 96 };
  // A wider IPv6 range that holds every IPv4-mapped address (::ffff:0:0/96) holds all of IPv4.
  const holdsMapped = prefix <= 96 && sharesPrefix(bytes, { bytes: [...Array<number>(10).fill(0), 255, 255], prefix });
  return holdsMapped ? { family: 4, bytes: [0, 0, 0, 0], prefix: 0 } : { family: 6, bytes, prefix };
}

// Docker's reference grammar (distribution/reference), anchored: registry, path, tag, digest.
const IMAGE_REF = (() => {
  const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
  const domainPart = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
  const domain = `${domainPart}(?:\\.${domainPart})*(?::[0-9]+)?`;
  const name = `(?:${domain}/)?${component}(?:/${component})*`;
  const tag = '[\\w][\\w.-]{0,127}';
  const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
  return new RegExp(`^${name}(?::${tag})?(?:@${digest})?$`);
})();

export function checkImage(ref: string, setting: string): string {
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > 255 || !IMAGE_REF.test(ref)) {
    throw new SettingsError(setting, ref, 'allowed: an image reference like nginx:1.30-alpine, registry.example.com/team/app:1.2 or name@sha256:<digest>');
  }
  return ref;
}

/**
 * A PEM file that Terraform will read at apply time with file("..."): it must exist now, be
 * readable, hold the expected PEM block, and have a path that is safe inside that string.
 */
export function checkPemFile(file: string | undefined, setting: string, block: string, allowed: string): string {
  if (file === undefined || file === '') throw new SettingsError(setting, file ?? '', `required; allowed: ${allowed}`);
  const full = path.resolve(file);
  if (/["\\\0\n\r]|\$\{|%\{/.test(full)) throw new SettingsError(setting, file, `the path has a quote, backslash, newline or \${ in it; allowed: ${allowed}`);
  let text: string;
  try {
    text = fs.readFileSync(full, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : 'the file cannot be read';
    throw new SettingsError(setting, file, `${why}; allowed: ${allowed}`);
  }
  if (!new RegExp(`-----BEGIN [A-Z ]*${block}-----`).test(text)) {
    throw new SettingsError(setting, file, `no "BEGIN ...${block}" PEM block in it; allowed: ${allowed}`);
  }
  return full;
}
