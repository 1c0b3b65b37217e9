// Bad input, by class (the table in docs/settings.md#bad-input): values that are valid alone
// and wrong together, wrong for nginx, Docker or Terraform at deploy, or silently ignored. Each
// is refused with one line naming the setting the user set, or is a warning, and a refusal
// writes nothing (the last group runs the real app).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import fc from 'fast-check';

import { SettingsError, WayshubSettingsInput, resolveSettings, settingsWarnings, withEnvironment } from '../../constructs/settings';
import { SETTINGS } from '../../constructs/settings/schema';
import { resolveDeployments } from '../../constructs/stack/deployments';
import { encryptKey, makeCertificate } from '../support/certificates';
import { synthStack } from '../support/synth';

const ROOT = path.resolve(__dirname, '..', '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-bad-input-'));
const site = makeCertificate(dir, ['alvin.xyz', 'www.alvin.xyz', 'api.alvin.xyz']);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

type Env = Record<string, string>;
const TWO = [
  { env: 'staging', settings: { domain: 'staging.alvin.xyz' } },
  { env: 'production', settings: { domain: 'alvin.xyz' } },
];

/** The one line a refusal gives (what main.ts prints after "wayshub: "), or "no error". */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (e instanceof SettingsError) return e.message;
    throw e;
  }
  return 'no error';
}
const fromEnv = (env: Env, base: WayshubSettingsInput = {}) => refusal(() => resolveDeployments([{ settings: base }], env));

// Counted per class for the report at the end.
const counts: Record<string, number> = {};
function refused(kind: string, message: string, ...expected: string[]): void {
  counts[kind] = (counts[kind] ?? 0) + 1;
  expect(message).toMatch(/^invalid /);
  expect(message).not.toMatch(/\n/);
  for (const text of expected) expect(message).toContain(text);
}
afterAll(() => process.stderr.write(`  [bad input] refused per class: ${JSON.stringify(counts)}\n`));

describe('1. names the proxy serves, checked together', () => {
  test.each<[string, Env, string]>([
    [
      'an alias equal to the API name (nginx would ignore one of the two servers)',
      { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_DOMAIN: 'alvin.xyz', WAYSHUB_SERVER_ALIASES: 'api.alvin.xyz' },
      "that name is the API's",
    ],
    [
      'the same, with a custom API subdomain',
      {
        WAYSHUB_BACKEND_IMAGE: 'b:1',
        WAYSHUB_DOMAIN: 'alvin.xyz',
        WAYSHUB_API_SUBDOMAIN: 'backend',
        WAYSHUB_SERVER_ALIASES: 'www.alvin.xyz,backend.alvin.xyz',
      },
      "that name is the API's",
    ],
    ["the domain equal to the replicas' alias in the network", { WAYSHUB_DOMAIN: 'wayshub-app' }, 'one label is a name inside the Docker network'],
    ["an alias equal to the database's", { WAYSHUB_SERVER_ALIASES: 'wayshub-db' }, 'one label is a name inside the Docker network'],
    ["a Swarm service's task name", { WAYSHUB_DOMAIN: 'tasks.wayshub-app' }, 'tasks.<name> is how Swarm names'],
    ['an IP address as the domain', { WAYSHUB_DOMAIN: '10.0.0.1' }, 'an IP address is not a name'],
    ['an IP address as an alias', { WAYSHUB_SERVER_ALIASES: '192.168.1.10' }, 'an IP address is not a name'],
    ['a Kelvin sign that lower-cases to "k"', { WAYSHUB_DOMAIN: 'wayshub.\u212Aa' }, 'it contains "\u212A"'],
    ['a port out of range in DOCKER_HOST', { DOCKER_HOST: 'tcp://docker.alvin.xyz:99999' }, 'a port from 1 to 65535'],
    [
      'a port out of range in the ACME URL',
      { WAYSHUB_TLS: 'letsencrypt', WAYSHUB_ACME_EMAIL: 'me@alvin.xyz', WAYSHUB_ACME_DIRECTORY: 'https://acme.test:70000/dir' },
      'allowed: production, staging',
    ],
  ])('%s', (_what, env, why) => refused('names', fromEnv(env), why));

  test('every name is served by one site: aliases may repeat the domain or each other (folded into one)', () => {
    expect(
      resolveSettings(withEnvironment({}, { WAYSHUB_DOMAIN: 'alvin.xyz', WAYSHUB_SERVER_ALIASES: 'alvin.xyz,www.alvin.xyz,WWW.alvin.xyz' })).serverAliases,
    ).toEqual(['www.alvin.xyz']);
  });
});

describe('1. trusted ranges: never "everyone", in any spelling', () => {
  test.each(['0.0.0.0/0', '::/0', '0:0:0:0:0:0:0:0/0', '::ffff:0.0.0.0/96', '::ffff:0:0/95', '0.0.0.0/1', '128.0.0.0/1', '::/1', '10.0.0.0/7', '2000::/3'])(
    '%s',
    (range) => refused('trust', fromEnv({ WAYSHUB_REAL_IP_FROM: `173.245.48.0/20,${range}` }), range, 'trusts most of the internet'),
  );

  test("a CDN's ranges pass quietly; a wide private range passes with a warning", () => {
    const cdn = resolveSettings(withEnvironment({}, { WAYSHUB_REAL_IP_FROM: '173.245.48.0/20,2400:cb00::/32' }));
    expect(settingsWarnings(cdn)).toEqual([]);
    const wide = resolveSettings(withEnvironment({}, { WAYSHUB_REAL_IP_FROM: '10.0.0.0/8,192.168.1.0/24,fd12:3456::/32' }));
    const warnings = settingsWarnings(wide);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('"10.0.0.0/8" trusts every address of a wide private range');
    expect(warnings[1]).toContain('"fd12:3456::/32"');
  });
});

describe('3. free text is inert: it reaches cdk.tf.json as typed, or is refused', () => {
  // Text made of pieces that mean something to Terraform, cdktf, nginx or a shell.
  const PIECES = [
    '${',
    '%{',
    '}',
    '$${',
    '%%{',
    '${TfToken[TOKEN.1]}',
    '#{TfToken[TOKEN.2]}',
    '&{TfToken[X]}',
    'TfToken[',
    '"',
    "'",
    '\\',
    '`',
    ';',
    '$HOME',
    'é',
    ' ',
    'a',
  ];
  const freeText = fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 8 }).map((parts) => parts.join(''));
  /** How Terraform reads a string of cdk.tf.json: "$${" is "${" and "%%{" is "%{". */
  const asTerraformReads = (text: string) => text.replace(/([$%])\1\{/g, '$1{');
  const SETTINGS_OF_FREE_TEXT: Array<[string, (text: string) => WayshubSettingsInput, (json: string) => string[]]> = [
    [
      'an env value of the app',
      (t) => ({ app: { env: { GREETING: `<${t}>` } } }),
      (json) =>
        (JSON.parse(json) as { resource: { docker_container: { app: { env: string[] } } } }).resource.docker_container.app.env
          .filter((e) => e.startsWith('GREETING='))
          .map((e) => e.slice('GREETING='.length)),
    ],
    [
      'an env value of the backend',
      (t) => ({ backend: { image: 'b:1', env: { K: `<${t}>` } } }),
      (json) =>
        (JSON.parse(json) as { resource: { docker_container: { api: { env: string[] } } } }).resource.docker_container.api.env
          .filter((e) => e.startsWith('K='))
          .map((e) => e.slice('K='.length)),
    ],
    [
      "the app's healthcheck command",
      (t) => ({ app: { healthcheck: ['CMD-SHELL', `<${t}>`] } }),
      (json) =>
        (
          JSON.parse(json) as { resource: { docker_container: { app: { healthcheck: { test: string[] } } } } }
        ).resource.docker_container.app.healthcheck.test.slice(1),
    ],
    [
      'the migrate command',
      (t) => ({ backend: { image: 'b:1' }, database: { migrateCommand: ['sh', '-c', `<${t}>`] } }),
      (json) => (JSON.parse(json) as { resource: { docker_container: { migrate: { command: string[] } } } }).resource.docker_container.migrate.command.slice(2),
    ],
  ];

  test.each(SETTINGS_OF_FREE_TEXT)('%s', (_what, input, found) => {
    let refusedCount = 0;
    fc.assert(
      fc.property(freeText, (text) => {
        const message = refusal(() => resolveSettings(input(text)));
        if (message !== 'no error') {
          // Refused only for a token marker, in one line.
          expect(message).toContain('cdktf token marker');
          expect(/[$#&]\{TfToken\[/.test(text)).toBe(true);
          refusedCount++;
          return;
        }
        expect(/[$#&]\{TfToken\[/.test(text)).toBe(false);
        const json = synthStack(input(text)).text;
        const values = found(json).map(asTerraformReads);
        expect(values).toContain(`<${text}>`);
      }),
      { numRuns: 40, seed: 26 },
    );
    counts['free text'] = (counts['free text'] ?? 0) + refusedCount;
  });
});

describe('4. errors are one clean line, naming what the user set', () => {
  test.each<[string, Env]>([
    ['an escape sequence and a forged second line in a value', { WAYSHUB_DOMAIN: 'alvin.xyz\x1b[2K\rwayshub: all good' }],
    ['a C1 control and a bidi override', { WAYSHUB_MAX_BODY_SIZE: '10m\u009b2K\u202e' }],
    ['a control character in a variable name', { 'WAYSHUB_DOMAIN\x1b[31m': 'alvin.xyz' }],
  ])('%s', (_what, env) => {
    const message = fromEnv(env);
    refused('clean line', message);
    // eslint-disable-next-line no-control-regex -- what must not be there
    expect(message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
    expect(message).toMatch(/\\u00(1b|9b)|\\u202e/);
  });

  test('with several deployments, the line names the prefixed variable the user set', () => {
    const message = refusal(() => resolveDeployments(TWO, { STAGING_WAYSHUB_HTTP_PORT: '70000' }));
    refused('clean line', message, 'STAGING_WAYSHUB_HTTP_PORT');
    expect(message).not.toMatch(/[^_]WAYSHUB_HTTP_PORT/);
    const featureOff = refusal(() => resolveDeployments(TWO, { PRODUCTION_WAYSHUB_TLS_CERT: site.cert }));
    refused('clean line', featureOff, 'PRODUCTION_WAYSHUB_TLS_CERT', 'unless PRODUCTION_WAYSHUB_TLS=files');
  });
});

describe('5. nothing silently ignored', () => {
  test.each<[string, Env, string[]]>([
    ['a typo in a variable name', { WAYSHUB_DOMIAN: 'alvin.xyz' }, ['WAYSHUB_DOMIAN', 'no such variable', 'did you mean WAYSHUB_DOMAIN?']],
    ['another', { WAYSHUB_REPLICAS: '5' }, ['no such variable', 'the variables of docs/settings.md']],
    [
      'a prefixed variable with one deployment',
      { STAGING_WAYSHUB_DOMAIN: 'alvin.xyz' },
      ['STAGING_WAYSHUB_DOMAIN', 'main.ts declares one deployment', 'did you mean WAYSHUB_DOMAIN?'],
    ],
    ['the real-IP header without its ranges', { WAYSHUB_REAL_IP_HEADER: 'CF-Connecting-IP' }, ['WAYSHUB_REAL_IP_HEADER', 'unless WAYSHUB_REAL_IP_FROM is set']],
  ])('%s', (_what, env, expected) => refused('ignored', fromEnv(env), ...expected));

  test.each<[string, Env, string[]]>([
    ['a typo in a prefixed name', { STAGING_WAYSHUB_DOMIAN: 'a.xyz' }, ['no such variable', 'did you mean STAGING_WAYSHUB_DOMAIN?']],
    [
      'a deployment main.ts does not declare',
      { PRODUCTON_WAYSHUB_DOMAIN: 'a.xyz' },
      ['no deployment is named producton', 'did you mean PRODUCTION_WAYSHUB_DOMAIN?'],
    ],
    ['an unprefixed typo', { WAYSHUB_DOMIAN: 'a.xyz' }, ['no such variable']],
  ])('with several deployments: %s', (_what, env, expected) =>
    refused(
      'ignored',
      refusal(() => resolveDeployments(TWO, env)),
      ...expected,
    ),
  );

  test('the tooling and the tests have variables of their own, which are not settings', () => {
    expect(fromEnv({ WAYSHUB_STATE: 'local', WAYSHUB_REVIEW_KEY: 'k', WAYSHUB_E2E_UPSTREAMS: '1', STAGING_DOCKER_HOST: 'x' })).toBe('no error');
  });

  // A valid value of each setting that has no effect while its feature is off.
  const SAMPLE: Record<string, string> = {
    WAYSHUB_API_MAX_BODY_SIZE: '200m',
    WAYSHUB_BACKEND_PORT: '5001',
    WAYSHUB_BACKEND_HEALTH_PATH: '/health',
    WAYSHUB_SWARM_ENCRYPT: 'on',
    WAYSHUB_HTTPS_PORT: '8443',
    WAYSHUB_HSTS_MAX_AGE: '600',
    WAYSHUB_TLS_CERT: site.cert,
    WAYSHUB_TLS_KEY: site.key,
    WAYSHUB_ACME_EMAIL: 'me@alvin.xyz',
    WAYSHUB_ACME_DIRECTORY: 'staging',
    WAYSHUB_ACME_CA_FILE: site.cert,
    WAYSHUB_CERTBOT_IMAGE: 'certbot/certbot:v3.0.1',
    WAYSHUB_API_SUBDOMAIN: 'backend',
    WAYSHUB_BACKEND_SECRET_ENV: 'API_KEY',
    WAYSHUB_DATABASE: 'on',
    WAYSHUB_DB_IMAGE: 'mysql:8.0',
    WAYSHUB_DB_ALLOW_DESTROY: 'on',
    WAYSHUB_MIGRATE_COMMAND: 'npm run migrate',
    WAYSHUB_BACKUP: 'on',
    WAYSHUB_BACKUP_SCHEDULE: 'every 6h',
    WAYSHUB_BACKUP_KEEP_DAILY: '14',
    WAYSHUB_BACKUP_KEEP_WEEKLY: '8',
    WAYSHUB_BACKUP_DRILL: 'on',
    WAYSHUB_BACKUP_S3: 's3://alvin-backups/wayshub',
    WAYSHUB_BACKUP_S3_ENDPOINT: 'https://s3.alvin.xyz',
    WAYSHUB_BACKUP_S3_REGION: 'auto',
    WAYSHUB_BACKUP_S3_IMAGE: 'rclone/rclone:1.68.2',
    WAYSHUB_METRICS_PORT: '9146',
    WAYSHUB_METRICS_ADDRESS: '10.0.0.5',
    WAYSHUB_METRICS_IMAGE: 'wayshub-metrics:mtail',
  };
  const needing = SETTINGS.filter((s) => s.needs && s.env);

  test('every setting of a feature has a sample here', () => {
    expect(needing.map((s) => s.env).sort()).toEqual(Object.keys(SAMPLE).sort());
  });

  test.each(needing.map((s) => [s.env!, s.needs!.turnOn] as const))('%s while its feature is off', (variable, turnOn) => {
    const message = fromEnv({ [variable]: SAMPLE[variable] });
    refused('ignored', message, `(${variable})`, `no effect unless ${turnOn.replace(/`/g, '')}`);
    // And on, it counts: no refusal (the database's also needs the backend on).
    const on: Env = {
      WAYSHUB_TLS: /letsencrypt/.test(turnOn) && !/files/.test(turnOn) ? 'letsencrypt' : 'files',
      WAYSHUB_TLS_CERT: site.cert,
      WAYSHUB_TLS_KEY: site.key,
      WAYSHUB_ACME_EMAIL: 'me@alvin.xyz',
      WAYSHUB_ENGINE: /swarm/.test(turnOn) ? 'swarm' : 'containers',
      WAYSHUB_BACKEND_IMAGE: 'b:1',
      WAYSHUB_DOMAIN: 'alvin.xyz',
      ...(/WAYSHUB_BACKUP_S3/.test(turnOn) ? { WAYSHUB_BACKUP_S3: SAMPLE.WAYSHUB_BACKUP_S3 } : {}),
      ...(/WAYSHUB_METRICS/.test(turnOn) ? { WAYSHUB_METRICS: 'on' } : {}),
    };
    if (on.WAYSHUB_TLS === 'letsencrypt') {
      delete on.WAYSHUB_TLS_CERT;
      delete on.WAYSHUB_TLS_KEY;
    } else delete on.WAYSHUB_ACME_EMAIL;
    if (on.WAYSHUB_ENGINE === 'swarm') on.WAYSHUB_TLS = 'files';
    expect(fromEnv({ ...on, [variable]: SAMPLE[variable] })).toBe('no error');
  });

  test('a database setting with the backend on but the database off', () => {
    refused(
      'ignored',
      fromEnv({ WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_DATABASE: 'off', WAYSHUB_DB_IMAGE: 'mysql:8.0' }),
      'unless a backend, with WAYSHUB_DATABASE not off',
    );
  });
});

describe('6. certificates checked at synth', () => {
  const files = (cert: string, key: string): Env => ({ WAYSHUB_DOMAIN: 'alvin.xyz', WAYSHUB_TLS: 'files', WAYSHUB_TLS_CERT: cert, WAYSHUB_TLS_KEY: key });

  test("a key that is not the certificate's", () => {
    const other = makeCertificate(dir, ['alvin.xyz'], { files: ['other.pem', 'other.key'] });
    refused('certificates', fromEnv(files(site.cert, other.key)), 'WAYSHUB_TLS_KEY', 'it is not the key of the certificate of tls.certFile (WAYSHUB_TLS_CERT)');
  });

  test('an encrypted key (nginx would ask for its passphrase)', () => {
    refused('certificates', fromEnv(files(site.cert, encryptKey(dir, site.key))), 'the key is encrypted');
  });

  test('a file with a certificate header but no certificate in it', () => {
    const broken = path.join(dir, 'broken.pem');
    fs.writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    refused('certificates', fromEnv(files(broken, site.key)), 'its first certificate cannot be read');
  });

  test('names it does not cover, and an expiry within 30 days, are warnings', () => {
    const soon = makeCertificate(dir, ['alvin.xyz'], { days: 10, files: ['soon.pem', 'soon.key'] });
    const settings = resolveSettings(withEnvironment({}, { ...files(soon.cert, soon.key), WAYSHUB_SERVER_ALIASES: 'www.alvin.xyz,*.alvin.xyz' }));
    const warnings = settingsWarnings(settings);
    expect(warnings).toEqual([expect.stringContaining('does not cover www.alvin.xyz, *.alvin.xyz'), expect.stringMatching(/expires in (9|10) days/)]);
    const later = new Date(Date.now() + 20 * 86_400_000);
    expect(settingsWarnings(settings, later)[1]).toMatch(/expired (9|10|11) days ago/);
    // The site's own certificate covers its three names, for a year: nothing to say.
    expect(settingsWarnings(resolveSettings(withEnvironment({}, { ...files(site.cert, site.key), WAYSHUB_SERVER_ALIASES: 'www.alvin.xyz' })))).toEqual([]);
  });
});

describe('on every refusal, the real app prints one line, exits 1 and writes nothing', () => {
  test.each<[string, Env]>([
    ['names', { WAYSHUB_DOMAIN: 'wayshub-app' }],
    ['trust', { WAYSHUB_REAL_IP_FROM: '::/0' }],
    ['free text', { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_MIGRATE_COMMAND: 'echo ${TfToken[TOKEN.1]}' }],
    ['ignored', { WAYSHUB_DOMIAN: 'alvin.xyz' }],
    ['certificates', { WAYSHUB_TLS: 'files', WAYSHUB_TLS_CERT: site.cert, WAYSHUB_TLS_KEY: encryptKey(dir, site.key) }],
  ])('%s', (_kind, env) => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-refused-'));
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/WAYSHUB_/.test(k)));
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'main.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...clean, ...env, CDKTF_OUTDIR: outdir },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^wayshub: invalid [^\n]*\n$/);
    expect(fs.readdirSync(outdir)).toEqual([]);
    fs.rmSync(outdir, { recursive: true });
  });

  test('a warning is a line too, and the stack is written', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-warned-'));
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/WAYSHUB_/.test(k)));
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'main.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...clean, WAYSHUB_REAL_IP_FROM: '10.0.0.0/8', CDKTF_OUTDIR: outdir },
    });
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/^wayshub: warning: proxy\.realIp\.trustedFrom \(WAYSHUB_REAL_IP_FROM\) "10\.0\.0\.0\/8" trusts every address/);
    expect(fs.readdirSync(outdir)).not.toEqual([]);
    fs.rmSync(outdir, { recursive: true });
  });
});
