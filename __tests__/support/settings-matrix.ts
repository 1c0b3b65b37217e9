// One deployment per combination of settings: the snapshot matrix reviews their cdk.tf.json,
// the provider contract checks them against kreuzwerker/docker 3.6.2.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { WayshubSettingsInput, withEnvironment } from '../../constructs/settings';
import { makeCertificate } from './certificates';

// Files the settings read (PEM files, a build context) live in a temp dir; the snapshots name
// it <fixtures>, so they do not depend on where the tests run.
export const fixtures = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-matrix-'));
const site = makeCertificate(fixtures, ['alvin.xyz', 'www.alvin.xyz', 'api.alvin.xyz', 'wayshub.localhost', 'api.wayshub.localhost'], {
  files: ['fullchain.pem', 'privkey.pem'],
});
export const CERT = site.cert;
export const KEY = site.key;
const CA = makeCertificate(fixtures, ['acme-ca.test'], { files: ['acme-ca.pem', 'acme-ca.key'] }).cert;
const CONTEXT = path.join(fixtures, 'frontend');
fs.mkdirSync(CONTEXT);
fs.writeFileSync(path.join(CONTEXT, 'Dockerfile'), 'FROM scratch\n');

const env = (vars: Record<string, string>): WayshubSettingsInput => withEnvironment({}, vars);
const swarm = (vars: Record<string, string>): WayshubSettingsInput => env({ WAYSHUB_ENGINE: 'swarm', ...vars });
const backend = { WAYSHUB_BACKEND_IMAGE: 'wayshub-backend:1.0' };

export const MATRIX: ReadonlyArray<[string, WayshubSettingsInput]> = [
  ['the default', {}],
  ['least_conn', env({ WAYSHUB_LB_METHOD: 'least_conn' })],
  ['ip_hash', env({ WAYSHUB_LB_METHOD: 'ip_hash' })],
  ['random_two_least_conn', env({ WAYSHUB_LB_METHOD: 'random_two_least_conn' })],
  ['hash on a cookie', env({ WAYSHUB_LB_METHOD: 'hash:$cookie_session' })],
  ['consistent hash on the URI', env({ WAYSHUB_LB_METHOD: 'hash:$request_uri:consistent' })],
  ['TLS from certificate files', env({ WAYSHUB_DOMAIN: 'alvin.xyz', WAYSHUB_TLS: 'files', WAYSHUB_TLS_CERT: CERT, WAYSHUB_TLS_KEY: KEY })],
  [
    "Let's Encrypt with a private ACME CA",
    env({
      WAYSHUB_DOMAIN: 'alvin.xyz',
      WAYSHUB_SERVER_ALIASES: 'www.alvin.xyz',
      WAYSHUB_TLS: 'letsencrypt',
      WAYSHUB_ACME_EMAIL: 'alvin@alvin.xyz',
      WAYSHUB_ACME_DIRECTORY: 'https://pebble:14000/dir',
      WAYSHUB_ACME_CA_FILE: CA,
    }),
  ],
  ['the backend with the database', env({ ...backend, WAYSHUB_DOMAIN: 'alvin.xyz', WAYSHUB_BACKEND_SECRET_ENV: 'API_KEY,API_SECRET' })],
  ["Let's Encrypt with the backend", env({ ...backend, WAYSHUB_DOMAIN: 'alvin.xyz', WAYSHUB_TLS: 'letsencrypt', WAYSHUB_ACME_EMAIL: 'alvin@alvin.xyz' })],
  ['the database off, DATABASE_URL as a secret', env({ ...backend, WAYSHUB_DATABASE: 'off', WAYSHUB_BACKEND_SECRET_ENV: 'DATABASE_URL' })],
  [
    'metrics, and backups with a drill and S3',
    env({
      ...backend,
      WAYSHUB_METRICS: 'on',
      WAYSHUB_METRICS_IMAGE: 'wayshub-metrics:1',
      WAYSHUB_BACKUP_DRILL: 'on',
      WAYSHUB_BACKUP_S3: 's3://alvin-backups/wayshub',
      WAYSHUB_BACKUP_S3_ENDPOINT: 'https://s3.alvin.xyz',
    }),
  ],
  [
    'a rate limit with trusted real-IP ranges',
    env({ WAYSHUB_RATE_LIMIT: '10r/s:20', WAYSHUB_REAL_IP_FROM: '173.245.48.0/20,2400:cb00::/32', WAYSHUB_REAL_IP_HEADER: 'CF-Connecting-IP' }),
  ],
  [
    'custom ports',
    env({
      ...backend,
      WAYSHUB_HTTP_PORT: '8080',
      WAYSHUB_HTTPS_PORT: '8443',
      WAYSHUB_APP_PORT: '8000',
      WAYSHUB_BACKEND_PORT: '5001',
      WAYSHUB_TLS: 'files',
      WAYSHUB_TLS_CERT: CERT,
      WAYSHUB_TLS_KEY: KEY,
    }),
  ],
  ['extra server names with a wildcard', env({ WAYSHUB_DOMAIN: 'alvin.xyz', WAYSHUB_SERVER_ALIASES: 'www.alvin.xyz,*.alvin.xyz' })],
  ['a build context', env({ WAYSHUB_APP_IMAGE: 'wayshub-frontend:dev', WAYSHUB_APP_BUILD_CONTEXT: CONTEXT })],
  [
    'settings from code: name, replicas, limits, env and capabilities',
    {
      name: 'alvin',
      domain: 'alvin.xyz',
      replicas: 5,
      dockerHost: 'ssh://deploy@alvin.xyz',
      app: { memoryMb: 128, env: { GREETING: 'hi ${not-an-interpolation}' }, addCapabilities: ['NET_BIND_SERVICE'] },
      backend: { image: 'wayshub-backend:1.0', replicas: 4, subdomain: 'backend', env: { LOG_LEVEL: 'info' } },
      database: { allowDestroy: true, migrateCommand: ['npm', 'run', 'migrate'] },
      proxy: { maxBodySize: '1m', keepalive: 64, securityHeaders: false },
    },
  ],
  ['Swarm', swarm({})],
  ['Swarm with the backend and MySQL', swarm(backend)],
  ['Swarm with a drain limit of a minute', { engine: 'swarm', app: { drainSeconds: 60 } }],
  ['Swarm with TLS files and an encrypted network', swarm({ WAYSHUB_TLS: 'files', WAYSHUB_TLS_CERT: CERT, WAYSHUB_TLS_KEY: KEY, WAYSHUB_SWARM_ENCRYPT: 'on' })],
];

/** Removes the fixture files (afterAll of a test file that used the matrix). */
export function removeFixtures(): void {
  fs.rmSync(fixtures, { recursive: true, force: true });
}
