// The environment variables this tool reads, and how each one overrides one setting of what
// main.ts declares. Values are parsed here only as far as their syntax goes; resolveSettings
// validates them like any other setting.
import type { WayshubSettingsInput } from '.';
import type { AppSettings } from './app';
import { NAMES, appNames } from './names';
import { HSTS_ALLOWED, parseLoadBalancing, parseRateLimit } from './proxy';
import type { TlsInput } from './tls';
import { Mutable, PORT_ALLOWED, parseSwitch, parseWhole } from './validators';

/** The environment variables this tool reads, and nothing else. */
export const ENV_VARS = [
  'WAYSHUB_DOMAIN',
  'WAYSHUB_SERVER_ALIASES',
  'WAYSHUB_APP_IMAGE',
  'WAYSHUB_APP_BUILD_CONTEXT',
  'WAYSHUB_APP_PORT',
  'WAYSHUB_APP_HEALTH_PATH',
  'WAYSHUB_LB_METHOD',
  'WAYSHUB_HTTP_PORT',
  'WAYSHUB_NGINX_IMAGE',
  'WAYSHUB_MAX_BODY_SIZE',
  'DOCKER_HOST',
  'WAYSHUB_ENGINE',
  'WAYSHUB_SWARM_ENCRYPT',
  'WAYSHUB_HTTPS_PORT',
  'WAYSHUB_HSTS_MAX_AGE',
  'WAYSHUB_RATE_LIMIT',
  'WAYSHUB_REAL_IP_FROM',
  'WAYSHUB_REAL_IP_HEADER',
  'WAYSHUB_TLS',
  'WAYSHUB_TLS_CERT',
  'WAYSHUB_TLS_KEY',
  'WAYSHUB_ACME_EMAIL',
  'WAYSHUB_ACME_DIRECTORY',
  'WAYSHUB_ACME_CA_FILE',
  'WAYSHUB_CERTBOT_IMAGE',
  'WAYSHUB_BACKEND_IMAGE',
  'WAYSHUB_BACKEND_BUILD_CONTEXT',
  'WAYSHUB_BACKEND_PORT',
  'WAYSHUB_BACKEND_HEALTH_PATH',
  'WAYSHUB_API_SUBDOMAIN',
  'WAYSHUB_BACKEND_SECRET_ENV',
  'WAYSHUB_DATABASE',
  'WAYSHUB_DB_IMAGE',
  'WAYSHUB_DB_ALLOW_DESTROY',
  'WAYSHUB_MIGRATE_COMMAND',
] as const;

/** Applies environment overrides on top of what main.ts declares. Empty variables count as unset. */
export function withEnvironment(base: WayshubSettingsInput, env: Readonly<Record<string, string | undefined>>): WayshubSettingsInput {
  const get = (key: (typeof ENV_VARS)[number]): string | undefined => {
    const v = env[key];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const app = { ...base.app };
  const proxy = { ...base.proxy };
  const backend = { ...base.backend };
  const database = { ...base.database };
  const out: WayshubSettingsInput = { ...base, app, proxy, backend, database };

  // Each variable, when set, overrides one setting.
  const on = (key: (typeof ENV_VARS)[number], assign: (value: string) => void) => {
    const value = get(key);
    if (value !== undefined) assign(value);
  };
  const list = (text: string) => text.split(',').map((item) => item.trim());

  on('WAYSHUB_DOMAIN', (v) => (out.domain = v));
  on('WAYSHUB_SERVER_ALIASES', (v) => (out.serverAliases = list(v)));
  on('DOCKER_HOST', (v) => (out.dockerHost = v));
  on('WAYSHUB_ENGINE', (v) => (out.engine = v));
  on('WAYSHUB_SWARM_ENCRYPT', (v) => (out.swarm = { ...base.swarm, encryptNetwork: parseSwitch(v, NAMES.swarmEncrypt) }));

  // The frontend and the backend are replica sets with the same four variables.
  const replicaSet = (target: Mutable<AppSettings>, prefix: 'APP' | 'BACKEND', role: 'app' | 'backend') => {
    on(`WAYSHUB_${prefix}_IMAGE`, (v) => (target.image = v));
    on(`WAYSHUB_${prefix}_BUILD_CONTEXT`, (v) => (target.buildContext = v));
    on(`WAYSHUB_${prefix}_PORT`, (v) => (target.port = parseWhole(v, appNames(role).port, PORT_ALLOWED)));
    on(`WAYSHUB_${prefix}_HEALTH_PATH`, (v) => (target.healthPath = v));
  };
  replicaSet(app, 'APP', 'app');
  replicaSet(backend, 'BACKEND', 'backend');
  on('WAYSHUB_API_SUBDOMAIN', (v) => (backend.subdomain = v));
  on('WAYSHUB_BACKEND_SECRET_ENV', (v) => (backend.secretEnv = list(v)));

  on('WAYSHUB_NGINX_IMAGE', (v) => (proxy.image = v));
  on('WAYSHUB_HTTP_PORT', (v) => (proxy.httpPort = parseWhole(v, NAMES.httpPort, PORT_ALLOWED)));
  on('WAYSHUB_HTTPS_PORT', (v) => (proxy.httpsPort = parseWhole(v, NAMES.httpsPort, PORT_ALLOWED)));
  on('WAYSHUB_LB_METHOD', (v) => (proxy.loadBalancing = parseLoadBalancing(v)));
  on('WAYSHUB_MAX_BODY_SIZE', (v) => (proxy.maxBodySize = v));
  on('WAYSHUB_HSTS_MAX_AGE', (v) => (proxy.hstsMaxAgeSeconds = parseWhole(v, NAMES.hsts, HSTS_ALLOWED)));
  on('WAYSHUB_RATE_LIMIT', (v) => (proxy.rateLimit = parseRateLimit(v)));
  on('WAYSHUB_REAL_IP_FROM', (v) => (proxy.realIp = { trustedFrom: list(v), header: get('WAYSHUB_REAL_IP_HEADER') ?? 'X-Forwarded-For' }));

  const tls: TlsInput = { ...base.tls };
  on('WAYSHUB_TLS', (v) => (tls.mode = v));
  on('WAYSHUB_TLS_CERT', (v) => (tls.certFile = v));
  on('WAYSHUB_TLS_KEY', (v) => (tls.keyFile = v));
  on('WAYSHUB_ACME_EMAIL', (v) => (tls.email = v));
  on('WAYSHUB_ACME_DIRECTORY', (v) => (tls.directoryUrl = v));
  on('WAYSHUB_ACME_CA_FILE', (v) => (tls.caFile = v));
  on('WAYSHUB_CERTBOT_IMAGE', (v) => (tls.certbotImage = v));
  out.tls = tls;

  on('WAYSHUB_DATABASE', (v) => (database.enabled = parseSwitch(v, NAMES.database)));
  on('WAYSHUB_DB_IMAGE', (v) => (database.image = v));
  on('WAYSHUB_DB_ALLOW_DESTROY', (v) => (database.allowDestroy = parseSwitch(v, NAMES.dbAllowDestroy)));
  on('WAYSHUB_MIGRATE_COMMAND', (v) => (database.migrateCommand = ['sh', '-c', v]));
  return out;
}
