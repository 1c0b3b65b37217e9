// Real certificates and keys for the tests of the TLS settings, made with openssl in a temp dir
// (never committed): one for some names, valid some days; its key encrypted; a key of another.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TestCertificate {
  readonly cert: string;
  readonly key: string;
  /** A line of the key's body: a test looks for it where the key must never be. */
  readonly keySecret: string;
}

const openssl = (dir: string, ...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

/** A self-signed certificate for these names (the first is its CN), valid for `days`, and its key. */
export function makeCertificate(dir: string, names: readonly string[], opts: { days?: number; files?: [string, string] } = {}): TestCertificate {
  const [cert, key] = (opts.files ?? ['site.pem', 'site.key']).map((f) => path.join(dir, f));
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    String(opts.days ?? 365),
    '-subj',
    `/CN=${names[0]}`,
    '-addext',
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    '-keyout',
    key,
    '-out',
    cert,
  );
  return { cert, key, keySecret: fs.readFileSync(key, 'utf8').split('\n')[1] };
}

/** The same key with a passphrase, as `openssl pkey -aes256` writes it. */
export function encryptKey(dir: string, key: string): string {
  const out = path.join(dir, `encrypted-${path.basename(key)}`);
  openssl(dir, 'pkey', '-in', key, '-aes256', '-passout', 'pass:secret', '-out', out);
  return out;
}
