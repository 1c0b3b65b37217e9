// Settings of one wayshub deployment: their defaults, how the environment overrides them,
// and the validation every value passes before it can reach nginx config or Terraform.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import type { RateLimitConfig, RealIpConfig, UpstreamMethod } from '../nginx/render';

/** How nginx picks a replica for each request: round robin (default), least_conn, ip_hash,
 * random_two_least_conn, or `hash <key> [consistent]` (the same key lands on the same replica). */
export type LoadBalancing = UpstreamMethod;

export interface AppSettings {
  /** Image reference; with `buildContext` it is the tag given to the built image. */
  readonly image: string;
  /** Absolute path of a directory with a Dockerfile, built on the Docker host at deploy. */
  readonly buildContext?: string;
  /** Port the app listens on inside its container. */
  readonly port: number;
  /** Docker healthcheck `test`, e.g. `["CMD-SHELL", "curl -f http://127.0.0.1:3000/"]`. */
  readonly healthcheck: readonly string[];
  /** Memory limit in MiB; none when undefined. */
  readonly memoryMb?: number;
  /** Extra environment of every replica. */
  readonly env: Readonly<Record<string, string>>;
  /** Capabilities the app gets back after all are dropped (e.g. NET_BIND_SERVICE for port 80). */
  readonly addCapabilities: readonly string[];
}

/** The optional backend (wayshub-backend, Express on 5000): its own replicas at `<subdomain>.<domain>`. */
export interface BackendSettings extends AppSettings {
  /** Default of the `backend_replicas` Terraform variable. */
  readonly replicas: number;
  /** The API answers at `<subdomain>.<domain>`. */
  readonly subdomain: string;
  /**
   * Names of environment variables whose values are secrets (wayshub-backend's Cloudinary
   * `API_KEY` and `API_SECRET`, say). Their values come at deploy time from the sensitive
   * `backend_secrets` Terraform variable, never from this program or cdk.tf.json.
   * @default [] (no `backend_secrets` variable)
   */
  readonly secretEnv: readonly string[];
}

/** MySQL for the backend, on by default with the backend. */
export interface DatabaseSettings {
  /** A MySQL-compatible image that follows the official MYSQL_* environment contract. */
  readonly image: string;
  /** Database and user name. */
  readonly databaseName: string;
  readonly user: string;
  /** Whether `cdktf destroy` may delete the data volume (off: Terraform refuses). */
  readonly allowDestroy: boolean;
  /** Run once per apply, in the backend image, before the backend replicas. */
  readonly migrateCommand: readonly string[];
}

export interface ProxySettings {
  readonly image: string;
  /** Host port that publishes the proxy's port 80. */
  readonly httpPort: number;
  readonly loadBalancing: LoadBalancing;
  /** nginx `client_max_body_size`, e.g. `10m`; `0` disables the limit. */
  readonly maxBodySize: string;
  readonly connectTimeoutSeconds: number;
  readonly readTimeoutSeconds: number;
  /** How many replicas one request may be tried on before the client gets the error. */
  readonly nextUpstreamTries: number;
  /** Upper bound in seconds on all those tries together. */
  readonly nextUpstreamTimeoutSeconds: number;
  /** Failed attempts within `failTimeoutSeconds` that take a replica out for that long. */
  readonly maxFails: number;
  readonly failTimeoutSeconds: number;
  /** Idle keep-alive connections each nginx worker keeps open to the replicas. */
  readonly keepalive: number;
  /** Host port that publishes the proxy's port 443 (used when TLS is on). */
  readonly httpsPort: number;
  /** `Strict-Transport-Security` max-age in seconds when TLS is on; 0 turns it off. */
  readonly hstsMaxAgeSeconds: number;
  /** nosniff, Referrer-Policy and X-Frame-Options on every response; X-Powered-By hidden. */
  readonly securityHeaders: boolean;
  /** Per-client-address request limit (429 above it); none when undefined. */
  readonly rateLimit?: RateLimitConfig;
  /** Trust these balancers/CDNs to tell the client address; nobody is trusted when undefined. */
  readonly realIp?: RealIpConfig;
  /** Memory limit of the proxy container in MiB. */
  readonly memoryMb: number;
}

/** HTTPS: off, your own certificate files, or Let's Encrypt through certbot. */
export type TlsSettings =
  | { readonly mode: 'off' }
  /** Paths on the machine that runs cdktf; read by Terraform at apply time, never synthesized. */
  | { readonly mode: 'files'; readonly certFile: string; readonly keyFile: string }
  | {
      readonly mode: 'letsencrypt';
      /** Contact address for expiry notices (required by Let's Encrypt). */
      readonly email: string;
      /** ACME directory URL. */
      readonly directoryUrl: string;
      /** Extra CA certificate (PEM) certbot trusts: for a private ACME server. */
      readonly caFile?: string;
      readonly certbotImage: string;
    };

export const ACME_DIRECTORIES = {
  production: 'https://acme-v02.api.letsencrypt.org/directory',
  staging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
} as const;

export interface WayshubSettings {
  /** Prefix of every Docker object: `<name>-app-1`, `<name>-proxy`, `<name>-net`. */
  readonly name: string;
  /** The domain the site answers on, e.g. `alvin.xyz`. */
  readonly domain: string;
  /** More names for the same site, e.g. `www.alvin.xyz`; a leading `*.` label is allowed. */
  readonly serverAliases: readonly string[];
  /** Default of the `replicas` Terraform variable. */
  readonly replicas: number;
  /** Docker Engine the provider talks to: `unix://`, `tcp://` or `ssh://`. */
  readonly dockerHost: string;
  readonly app: AppSettings;
  readonly proxy: ProxySettings;
  readonly tls: TlsSettings;
  /** On when a backend image or build context is set. */
  readonly backend?: BackendSettings;
  /** On with the backend unless WAYSHUB_DATABASE=off. */
  readonly database?: DatabaseSettings;
}

type Mutable<T> = { -readonly [K in keyof T]?: T[K] };

/** What a caller may set; everything left out takes its default. */
export interface WayshubSettingsInput extends Mutable<Omit<WayshubSettings, 'app' | 'proxy' | 'tls' | 'backend' | 'database'>> {
  app?: Mutable<AppSettings>;
  backend?: Mutable<BackendSettings>;
  /** `enabled: false` turns the database off; it is on with the backend by default. */
  database?: Mutable<DatabaseSettings> & { enabled?: boolean };
  proxy?: Mutable<ProxySettings>;
  /** Fields of the chosen mode; `mode` defaults to off. */
  tls?: TlsInput;
}

export interface TlsInput {
  mode?: string;
  certFile?: string;
  keyFile?: string;
  email?: string;
  /** `production`, `staging` or an https URL. */
  directoryUrl?: string;
  caFile?: string;
  certbotImage?: string;
}

/** A setting with a bad value: its message is the one line the user sees. */
export class SettingsError extends Error {
  constructor(
    readonly setting: string,
    readonly value: unknown,
    readonly allowed: string,
  ) {
    super(`invalid ${setting}: ${show(value)}; ${allowed}`);
    this.name = 'SettingsError';
  }
}

/** Oldest nginx with `resolve` on upstream servers in the open-source build. */
export const MIN_NGINX_VERSION = [1, 27, 3] as const;
export const MAX_REPLICAS = 20;

export const DEFAULTS = {
  name: 'wayshub',
  domain: 'wayshub.localhost',
  replicas: 3,
  dockerHost: 'unix:///var/run/docker.sock',
  appImage: 'wayshub-frontend:latest',
  appPort: 3000,
  backendPort: 5000,
  backendReplicas: 2,
  apiSubdomain: 'api',
  nginxImage: 'nginx:1.30-alpine',
  httpPort: 80,
  httpsPort: 443,
  maxBodySize: '10m',
  hstsMaxAgeSeconds: 31536000,
  proxyMemoryMb: 256,
  certbotImage: 'certbot/certbot:v3.0.1',
  dbImage: 'mysql:8.0',
} as const;

/** Works on Debian, Alpine and Node images alike: one of wget, curl or node is nearly always there. */
export function defaultHealthcheck(port: number): string[] {
  const url = `http://127.0.0.1:${port}/`;
  const node = `node -e "require('http').get('${url}', (r) => process.exit(r.statusCode < 400 ? 0 : 1)).on('error', () => process.exit(1))"`;
  return ['CMD-SHELL', `wget -q -O /dev/null ${url} || curl -fsS -o /dev/null ${url} || ${node} || exit 1`];
}

// Setting names as the user sees them: the property, and its environment variable if it has one.
const NAMES = {
  name: 'name',
  domain: 'domain (WAYSHUB_DOMAIN)',
  serverAliases: 'serverAliases (WAYSHUB_SERVER_ALIASES)',
  replicas: 'replicas',
  dockerHost: 'dockerHost (DOCKER_HOST)',
  appPort: 'app.port (WAYSHUB_APP_PORT)',
  backendPort: 'backend.port (WAYSHUB_BACKEND_PORT)',
  backendReplicas: 'backend.replicas',
  apiSubdomain: 'backend.subdomain (WAYSHUB_API_SUBDOMAIN)',
  backendSecretEnv: 'backend.secretEnv (WAYSHUB_BACKEND_SECRET_ENV)',
  database: 'database.enabled (WAYSHUB_DATABASE)',
  dbImage: 'database.image (WAYSHUB_DB_IMAGE)',
  dbAllowDestroy: 'database.allowDestroy (WAYSHUB_DB_ALLOW_DESTROY)',
  migrateCommand: 'database.migrateCommand (WAYSHUB_MIGRATE_COMMAND)',
  dbName: 'database.databaseName',
  dbUser: 'database.user',
  nginxImage: 'proxy.image (WAYSHUB_NGINX_IMAGE)',
  httpPort: 'proxy.httpPort (WAYSHUB_HTTP_PORT)',
  lbMethod: 'proxy.loadBalancing (WAYSHUB_LB_METHOD)',
  maxBodySize: 'proxy.maxBodySize (WAYSHUB_MAX_BODY_SIZE)',
  httpsPort: 'proxy.httpsPort (WAYSHUB_HTTPS_PORT)',
  hsts: 'proxy.hstsMaxAgeSeconds (WAYSHUB_HSTS_MAX_AGE)',
  rateLimit: 'proxy.rateLimit (WAYSHUB_RATE_LIMIT)',
  realIpFrom: 'proxy.realIp.trustedFrom (WAYSHUB_REAL_IP_FROM)',
  realIpHeader: 'proxy.realIp.header (WAYSHUB_REAL_IP_HEADER)',
  tlsMode: 'tls.mode (WAYSHUB_TLS)',
  tlsCert: 'tls.certFile (WAYSHUB_TLS_CERT)',
  tlsKey: 'tls.keyFile (WAYSHUB_TLS_KEY)',
  acmeEmail: 'tls.email (WAYSHUB_ACME_EMAIL)',
  acmeDirectory: 'tls.directoryUrl (WAYSHUB_ACME_DIRECTORY)',
  acmeCa: 'tls.caFile (WAYSHUB_ACME_CA_FILE)',
  certbotImage: 'tls.certbotImage (WAYSHUB_CERTBOT_IMAGE)',
} as const;

// ---------------------------------------------------------------------------------------------
// Environment

/** The environment variables this tool reads, and nothing else. */
export const ENV_VARS = [
  'WAYSHUB_DOMAIN',
  'WAYSHUB_SERVER_ALIASES',
  'WAYSHUB_APP_IMAGE',
  'WAYSHUB_APP_BUILD_CONTEXT',
  'WAYSHUB_APP_PORT',
  'WAYSHUB_LB_METHOD',
  'WAYSHUB_HTTP_PORT',
  'WAYSHUB_NGINX_IMAGE',
  'WAYSHUB_MAX_BODY_SIZE',
  'DOCKER_HOST',
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
  'WAYSHUB_API_SUBDOMAIN',
  'WAYSHUB_BACKEND_SECRET_ENV',
  'WAYSHUB_DATABASE',
  'WAYSHUB_DB_IMAGE',
  'WAYSHUB_DB_ALLOW_DESTROY',
  'WAYSHUB_MIGRATE_COMMAND',
] as const;

/** Applies environment overrides on top of what main.ts declares. Empty variables count as unset. */
export function withEnvironment(
  base: WayshubSettingsInput,
  env: Readonly<Record<string, string | undefined>>,
): WayshubSettingsInput {
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

  // The frontend and the backend are replica sets with the same three variables.
  const replicaSet = (target: Mutable<AppSettings>, prefix: 'APP' | 'BACKEND', portName: string) => {
    on(`WAYSHUB_${prefix}_IMAGE`, (v) => (target.image = v));
    on(`WAYSHUB_${prefix}_BUILD_CONTEXT`, (v) => (target.buildContext = v));
    on(`WAYSHUB_${prefix}_PORT`, (v) => (target.port = parseWhole(v, portName, PORT_ALLOWED)));
  };
  replicaSet(app, 'APP', NAMES.appPort);
  replicaSet(backend, 'BACKEND', NAMES.backendPort);
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

/** on/off style switches from the environment. */
function parseSwitch(text: string, setting: string): boolean {
  if (['on', 'true', 'yes', '1'].includes(text)) return true;
  if (['off', 'false', 'no', '0'].includes(text)) return false;
  throw new SettingsError(setting, text, 'allowed: on or off (also true/false, yes/no, 1/0)');
}

const RATE_ALLOWED = 'allowed: <n>r/s or <n>r/m, optionally :<burst>, e.g. 10r/s or 10r/s:20';

/** `WAYSHUB_RATE_LIMIT` syntax: `10r/s` or `10r/s:20` (rate, then burst; burst defaults to 2x). */
export function parseRateLimit(text: string): RateLimitConfig {
  const m = /^([1-9][0-9]{0,5})r\/([sm])(?::([0-9]{1,5}))?$/.exec(text);
  if (!m) throw new SettingsError(NAMES.rateLimit, text, RATE_ALLOWED);
  return { rate: `${m[1]}r/${m[2]}`, burst: m[3] === undefined ? 2 * Number(m[1]) : Number(m[3]) };
}

const LB_ALLOWED =
  'allowed: round_robin, least_conn, ip_hash, random_two_least_conn, hash:<$variables> or hash:<$variables>:consistent';

/** `WAYSHUB_LB_METHOD` syntax: a method name, or `hash:$key[:consistent]`. */
export function parseLoadBalancing(text: string): LoadBalancing {
  switch (text) {
    case 'round_robin':
    case 'least_conn':
    case 'ip_hash':
    case 'random_two_least_conn':
      return { method: text };
  }
  const hash = /^hash:(.+?)(:consistent)?$/.exec(text);
  if (hash) return { method: 'hash', key: hash[1], consistent: hash[2] !== undefined };
  throw new SettingsError(NAMES.lbMethod, text, LB_ALLOWED);
}

// ---------------------------------------------------------------------------------------------
// Defaults and validation

/** Fills in defaults and validates everything; throws SettingsError on the first bad value. */
export function resolveSettings(input: WayshubSettingsInput = {}): WayshubSettings {
  const name = input.name ?? DEFAULTS.name;
  if (!/^[a-z][a-z0-9-]{0,29}$/.test(name) || name.endsWith('-')) {
    throw new SettingsError(NAMES.name, name, 'allowed: 1 to 30 of a-z, 0-9 and "-", starting with a letter, e.g. wayshub');
  }

  const domain = checkHostname(input.domain ?? DEFAULTS.domain, NAMES.domain, false);
  const serverAliases = [...new Set((input.serverAliases ?? []).map((a) => checkHostname(a, NAMES.serverAliases, true)))].filter(
    (a) => a !== domain,
  );

  const replicas = input.replicas ?? DEFAULTS.replicas;
  checkWhole(replicas, NAMES.replicas, 1, MAX_REPLICAS, `allowed: a whole number from 1 to ${MAX_REPLICAS}`);

  const dockerHost = input.dockerHost ?? DEFAULTS.dockerHost;
  if (!DOCKER_HOST.test(dockerHost)) {
    throw new SettingsError(NAMES.dockerHost, dockerHost, 'allowed: unix:///path/docker.sock, tcp://host:port or ssh://user@host[:port]');
  }

  const proxy = resolveProxy(input.proxy ?? {});
  const tls = resolveTls(input.tls ?? {}, serverAliases);
  if (tls.mode !== 'off' && proxy.httpsPort === proxy.httpPort) {
    throw new SettingsError(NAMES.httpsPort, proxy.httpsPort, `allowed: a port other than the HTTP port ${proxy.httpPort}`);
  }
  // The backend is on with an image or a build context; the database only with the backend.
  const backendInput = input.backend ?? {};
  const backendOn = backendInput.image !== undefined || backendInput.buildContext !== undefined;
  const database = backendOn ? resolveDatabase(input.database ?? {}) : undefined;
  const backend = backendOn ? resolveBackend(backendInput, domain, database !== undefined) : undefined;
  if (backend && tls.mode === 'letsencrypt' && serverAliases.includes(`${backend.subdomain}.${domain}`)) {
    throw new SettingsError(NAMES.serverAliases, `${backend.subdomain}.${domain}`, 'that name is the API\'s; allowed: other names');
  }
  return { name, domain, serverAliases, replicas, dockerHost, app: resolveApp(input.app ?? {}), proxy, tls, backend, database };
}

/** Setting names of a replica set as the user sees them: `app.port (WAYSHUB_APP_PORT)`. */
function appNames(role: 'app' | 'backend') {
  const env = role === 'app' ? 'APP' : 'BACKEND';
  return {
    image: `${role}.image (WAYSHUB_${env}_IMAGE)`,
    buildContext: `${role}.buildContext (WAYSHUB_${env}_BUILD_CONTEXT)`,
    port: `${role}.port (WAYSHUB_${env}_PORT)`,
    healthcheck: `${role}.healthcheck`,
    memoryMb: `${role}.memoryMb`,
    env: `${role}.env`,
    addCapabilities: `${role}.addCapabilities`,
  };
}

function resolveApp(app: Mutable<AppSettings>, role: 'app' | 'backend' = 'app'): AppSettings {
  const names = appNames(role);
  const image = checkImage(app.image ?? (role === 'app' ? DEFAULTS.appImage : ''), names.image);
  const port = app.port ?? (role === 'app' ? DEFAULTS.appPort : DEFAULTS.backendPort);
  checkWhole(port, names.port, 1, 65535, PORT_ALLOWED);

  let buildContext: string | undefined;
  if (app.buildContext !== undefined) {
    buildContext = path.resolve(app.buildContext);
    if (!fs.existsSync(path.join(buildContext, 'Dockerfile')) || /[\0\n\r]/.test(buildContext)) {
      throw new SettingsError(names.buildContext, app.buildContext, 'allowed: a directory that has a Dockerfile');
    }
  }

  const healthcheck = app.healthcheck ?? defaultHealthcheck(port);
  if (
    healthcheck.length === 0 ||
    !['CMD', 'CMD-SHELL', 'NONE'].includes(healthcheck[0]) ||
    (healthcheck[0] !== 'NONE' && healthcheck.length < 2) ||
    healthcheck.some((part) => typeof part !== 'string' || /[\0\n\r]/.test(part) || part.length > 1024)
  ) {
    throw new SettingsError(names.healthcheck, healthcheck, 'allowed: ["CMD", "prog", "arg"...], ["CMD-SHELL", "command"] or ["NONE"], single-line strings');
  }

  if (app.memoryMb !== undefined) {
    checkWhole(app.memoryMb, names.memoryMb, 6, 1024 * 1024, 'allowed: a whole number of MiB, at least 6 (Docker\'s minimum)');
  }

  const env = app.env ?? {};
  for (const [key, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new SettingsError(`${names.env} key`, key, 'allowed: letters, digits and "_", not starting with a digit');
    }
    if (typeof value !== 'string' || value.includes('\0')) {
      throw new SettingsError(`${names.env}.${key}`, value, 'allowed: a string without NUL characters');
    }
  }
  const addCapabilities = app.addCapabilities ?? [];
  for (const cap of addCapabilities) {
    if (!/^[A-Z][A-Z_]{1,30}$/.test(cap)) {
      throw new SettingsError(names.addCapabilities, cap, 'allowed: capability names like NET_BIND_SERVICE, CHOWN, SETUID');
    }
  }
  return { image, buildContext, port, healthcheck: [...healthcheck], memoryMb: app.memoryMb, env: { ...env }, addCapabilities: [...addCapabilities] };
}

const MAX_SECRET_ENV = 20;

/**
 * The backend environment the stack itself sets (wayshub-stack.ts, and database.ts when the
 * stack runs the database). Without it, DATABASE_URL and DB_* are the user's to give, e.g. as
 * secrets for a database of their own.
 */
function stackBackendEnv(withDatabase: boolean): readonly string[] {
  return ['NODE_ENV', 'JWT_PRIVATE_KEY', ...(withDatabase ? ['DATABASE_URL', 'DB_HOST', 'DB_PORT', 'DB_USER', 'DB_PASSWORD', 'DB_NAME'] : [])];
}

/**
 * The provider keeps a container's env as a set, so of two equal names which one the container
 * sees is not defined: a name the stack sets is refused, not overridden.
 */
function checkNotStackSet(setting: string, name: string, withDatabase: boolean): void {
  const reserved = stackBackendEnv(withDatabase);
  if (reserved.includes(name)) {
    throw new SettingsError(setting, name, `that variable is set by the stack; allowed: other names than ${reserved.join(', ')}`);
  }
}

function resolveBackend(backend: Mutable<BackendSettings>, domain: string, withDatabase: boolean): BackendSettings {
  const app = resolveApp({ ...backend, image: backend.image ?? 'wayshub-backend:latest' }, 'backend');
  for (const key of Object.keys(app.env)) checkNotStackSet(`${appNames('backend').env} key`, key, withDatabase);
  const replicas = backend.replicas ?? DEFAULTS.backendReplicas;
  checkWhole(replicas, NAMES.backendReplicas, 1, MAX_REPLICAS, `allowed: a whole number from 1 to ${MAX_REPLICAS}`);
  const subdomain = backend.subdomain ?? DEFAULTS.apiSubdomain;
  // The API's name must itself be a valid name under the domain.
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(subdomain) || `${subdomain}.${domain}`.length > 253) {
    throw new SettingsError(NAMES.apiSubdomain, subdomain, 'allowed: one DNS label of a-z, 0-9 and "-", e.g. api');
  }
  const secretEnv = backend.secretEnv ?? [];
  if (!Array.isArray(secretEnv) || secretEnv.length > MAX_SECRET_ENV) {
    throw new SettingsError(NAMES.backendSecretEnv, secretEnv, `allowed: a list of at most ${MAX_SECRET_ENV} names`);
  }
  secretEnv.forEach((name, i) => {
    // Each name goes into a Terraform expression and the container's environment.
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) {
      throw new SettingsError(NAMES.backendSecretEnv, name, 'allowed: names of letters, digits and "_", not starting with a digit');
    }
    checkNotStackSet(NAMES.backendSecretEnv, name, withDatabase);
    if (Object.prototype.hasOwnProperty.call(app.env, name)) throw new SettingsError(NAMES.backendSecretEnv, name, 'it is also in backend.env; allowed: each name in one of the two');
    if (secretEnv.indexOf(name) !== i) throw new SettingsError(NAMES.backendSecretEnv, name, 'it is listed twice; allowed: each name once');
  });
  return { ...app, replicas, subdomain, secretEnv: [...secretEnv] };
}

function resolveDatabase(db: Mutable<DatabaseSettings> & { enabled?: boolean }): DatabaseSettings | undefined {
  if (db.enabled === false) return undefined;
  const image = checkImage(db.image ?? DEFAULTS.dbImage, NAMES.dbImage);
  const databaseName = db.databaseName ?? 'wayshub';
  const user = db.user ?? 'wayshub';
  // Both go into MYSQL_* variables and the DATABASE_URL.
  if (!/^[A-Za-z0-9_]{1,32}$/.test(databaseName)) throw new SettingsError(NAMES.dbName, databaseName, 'allowed: 1 to 32 of letters, digits and _');
  if (!/^[A-Za-z0-9_]{1,32}$/.test(user)) throw new SettingsError(NAMES.dbUser, user, 'allowed: 1 to 32 of letters, digits and _');
  const migrateCommand = db.migrateCommand ?? ['npx', 'sequelize', 'db:migrate'];
  if (migrateCommand.length === 0 || migrateCommand.some((part) => typeof part !== 'string' || part.length === 0 || /[\0\n\r]/.test(part))) {
    throw new SettingsError(NAMES.migrateCommand, migrateCommand, 'allowed: a non-empty single-line command, e.g. npx sequelize db:migrate');
  }
  return { image, databaseName, user, allowDestroy: db.allowDestroy ?? false, migrateCommand: [...migrateCommand] };
}

function resolveProxy(proxy: Mutable<ProxySettings>): ProxySettings {
  const image = checkImage(proxy.image ?? DEFAULTS.nginxImage, NAMES.nginxImage);
  const version = taggedNginxVersion(image);
  if (version && compareVersions(version, MIN_NGINX_VERSION) < 0) {
    throw new SettingsError(
      NAMES.nginxImage,
      image,
      `nginx ${MIN_NGINX_VERSION.join('.')} or newer is needed (upstream "resolve"), e.g. ${DEFAULTS.nginxImage}`,
    );
  }
  const httpPort = proxy.httpPort ?? DEFAULTS.httpPort;
  checkWhole(httpPort, NAMES.httpPort, 1, 65535, PORT_ALLOWED);

  const loadBalancing = proxy.loadBalancing ?? { method: 'round_robin' };
  checkLoadBalancing(loadBalancing);

  const maxBodySize = proxy.maxBodySize ?? DEFAULTS.maxBodySize;
  if (typeof maxBodySize !== 'string' || !/^(0|[1-9][0-9]{0,5}[kmgKMG]?)$/.test(maxBodySize)) {
    throw new SettingsError(NAMES.maxBodySize, maxBodySize, 'allowed: a size like 512k, 10m or 1g (digits with an optional k, m or g); 0 for no limit');
  }

  const httpsPort = proxy.httpsPort ?? DEFAULTS.httpsPort;
  checkWhole(httpsPort, NAMES.httpsPort, 1, 65535, PORT_ALLOWED);
  const hstsMaxAgeSeconds = proxy.hstsMaxAgeSeconds ?? DEFAULTS.hstsMaxAgeSeconds;
  checkWhole(hstsMaxAgeSeconds, NAMES.hsts, 0, 63072000, HSTS_ALLOWED);
  const rateLimit = proxy.rateLimit;
  if (rateLimit !== undefined) {
    // Checked through the same syntax the environment variable uses.
    const parsed = parseRateLimit(`${String(rateLimit.rate)}:${String(rateLimit.burst)}`);
    if (parsed.burst > 100000) throw new SettingsError(NAMES.rateLimit, rateLimit, RATE_ALLOWED);
  }
  const realIp = proxy.realIp;
  if (realIp !== undefined) {
    if (realIp.trustedFrom.length === 0) throw new SettingsError(NAMES.realIpFrom, realIp.trustedFrom, CIDR_ALLOWED);
    for (const cidr of realIp.trustedFrom) {
      if (!isCidr(cidr)) throw new SettingsError(NAMES.realIpFrom, cidr, CIDR_ALLOWED);
    }
    if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(realIp.header)) {
      throw new SettingsError(NAMES.realIpHeader, realIp.header, 'allowed: a header name like X-Forwarded-For, X-Real-IP or CF-Connecting-IP');
    }
  }

  const numbers = {
    connectTimeoutSeconds: [proxy.connectTimeoutSeconds ?? 1, 1, 600],
    readTimeoutSeconds: [proxy.readTimeoutSeconds ?? 60, 1, 3600],
    nextUpstreamTries: [proxy.nextUpstreamTries ?? 3, 1, MAX_REPLICAS],
    nextUpstreamTimeoutSeconds: [proxy.nextUpstreamTimeoutSeconds ?? 10, 1, 3600],
    maxFails: [proxy.maxFails ?? 1, 0, 100],
    failTimeoutSeconds: [proxy.failTimeoutSeconds ?? 5, 1, 3600],
    keepalive: [proxy.keepalive ?? 32, 1, 1024],
    memoryMb: [proxy.memoryMb ?? DEFAULTS.proxyMemoryMb, 16, 1024 * 1024],
  } as const;
  for (const [key, [value, min, max]] of Object.entries(numbers)) {
    checkWhole(value, `proxy.${key}`, min, max, `allowed: a whole number from ${min} to ${max}`);
  }
  return {
    image,
    httpPort,
    loadBalancing,
    maxBodySize: maxBodySize.toLowerCase(),
    connectTimeoutSeconds: numbers.connectTimeoutSeconds[0],
    readTimeoutSeconds: numbers.readTimeoutSeconds[0],
    nextUpstreamTries: numbers.nextUpstreamTries[0],
    nextUpstreamTimeoutSeconds: numbers.nextUpstreamTimeoutSeconds[0],
    maxFails: numbers.maxFails[0],
    failTimeoutSeconds: numbers.failTimeoutSeconds[0],
    keepalive: numbers.keepalive[0],
    memoryMb: numbers.memoryMb[0],
    httpsPort,
    hstsMaxAgeSeconds,
    securityHeaders: proxy.securityHeaders ?? true,
    rateLimit,
    realIp,
  };
}

function resolveTls(tls: TlsInput, serverAliases: readonly string[]): TlsSettings {
  const mode = tls.mode ?? 'off';
  switch (mode) {
    case 'off':
      return { mode };
    case 'files':
      return {
        mode,
        certFile: checkPemFile(tls.certFile, NAMES.tlsCert, 'CERTIFICATE', 'a readable PEM certificate (chain) file'),
        keyFile: checkPemFile(tls.keyFile, NAMES.tlsKey, 'PRIVATE KEY', 'a readable PEM private key file'),
      };
    case 'letsencrypt': {
      const email = tls.email;
      if (email === undefined || !/^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(email)) {
        throw new SettingsError(NAMES.acmeEmail, email ?? '', 'required with WAYSHUB_TLS=letsencrypt; allowed: an e-mail address like you@alvin.xyz');
      }
      const wildcard = serverAliases.find((a) => a.startsWith('*.'));
      if (wildcard) {
        throw new SettingsError(NAMES.serverAliases, wildcard, "Let's Encrypt's HTTP-01 challenge cannot issue wildcard names; allowed: names without *");
      }
      const given = tls.directoryUrl ?? 'production';
      const directoryUrl = given in ACME_DIRECTORIES ? ACME_DIRECTORIES[given as keyof typeof ACME_DIRECTORIES] : given;
      if (!/^https:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~\/-]*)?$/.test(directoryUrl)) {
        throw new SettingsError(NAMES.acmeDirectory, given, 'allowed: production, staging, or an https:// URL of an ACME directory');
      }
      return {
        mode,
        email,
        directoryUrl,
        caFile: tls.caFile === undefined ? undefined : checkPemFile(tls.caFile, NAMES.acmeCa, 'CERTIFICATE', 'a readable PEM CA certificate file'),
        certbotImage: checkImage(tls.certbotImage ?? DEFAULTS.certbotImage, NAMES.certbotImage),
      };
    }
    default:
      throw new SettingsError(NAMES.tlsMode, mode, 'allowed: off, files or letsencrypt');
  }
}

/**
 * A PEM file that Terraform will read at apply time with file("..."): it must exist now, be
 * readable, hold the expected PEM block, and have a path that is safe inside that string.
 */
function checkPemFile(file: string | undefined, setting: string, block: string, allowed: string): string {
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

// ---------------------------------------------------------------------------------------------
// Checks

const PORT_ALLOWED = 'allowed: a whole number from 1 to 65535';
const HSTS_ALLOWED = 'allowed: seconds from 0 (off) to 63072000 (2 years), e.g. 31536000';
const CIDR_ALLOWED = 'allowed: comma-separated addresses or CIDR ranges like 173.245.48.0/20 or 2400:cb00::/32';

/** An IPv4 or IPv6 address, optionally with a prefix length (no zone ids: "%" means nothing to nginx). */
function isCidr(text: string): boolean {
  const [addr, prefix, ...rest] = text.split('/');
  if (rest.length > 0 || !/^[0-9A-Fa-f:.]+$/.test(addr)) return false;
  const max = net.isIPv4(addr) ? 32 : net.isIPv6(addr) ? 128 : -1;
  return max > 0 && (prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= max));
}

const DOCKER_HOST = new RegExp(
  '^(?:unix:///[A-Za-z0-9_./-]+' +
    '|tcp://(?:[A-Za-z0-9.-]+|\\[[0-9A-Fa-f:]+\\])(?::[0-9]{1,5})?/?' +
    '|ssh://(?:[A-Za-z0-9._-]+@)?(?:[A-Za-z0-9.-]+|\\[[0-9A-Fa-f:]+\\])(?::[0-9]{1,5})?)$',
);

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

function checkImage(ref: string, setting: string): string {
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > 255 || !IMAGE_REF.test(ref)) {
    throw new SettingsError(setting, ref, 'allowed: an image reference like nginx:1.30-alpine, registry.example.com/team/app:1.2 or name@sha256:<digest>');
  }
  return ref;
}

/** The nginx version an image tag states (`1.30-alpine` → 1.30.∞), or undefined if it states none. */
export function taggedNginxVersion(ref: string): number[] | undefined {
  const withoutDigest = ref.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  if (colon < 0) return undefined;
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?![\d.])/.exec(withoutDigest.slice(colon + 1));
  if (!m) return undefined;
  // A part the tag leaves out follows the newest release of that line (`1.27` is 1.27.5 today).
  return [m[1], m[2], m[3]].map((part) => (part === undefined ? Number.POSITIVE_INFINITY : Number(part)));
}

function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function checkLoadBalancing(lb: LoadBalancing): void {
  const methods = ['round_robin', 'least_conn', 'ip_hash', 'random_two_least_conn', 'hash'];
  if (typeof lb !== 'object' || lb === null || !methods.includes(lb.method)) {
    throw new SettingsError(NAMES.lbMethod, lb, LB_ALLOWED);
  }
  // The key goes into nginx config verbatim, so it may only be nginx variables and simple separators.
  if (lb.method === 'hash' && !/^\$[a-z_][a-z0-9_]*(?:[-:/.]?\$[a-z_][a-z0-9_]*)*$/.test(lb.key)) {
    throw new SettingsError(NAMES.lbMethod, `hash:${lb.key}`, 'allowed hash keys: nginx variables like $remote_addr, $request_uri or $cookie_session, joined by nothing or one of - : / .');
  }
}

function checkWhole(value: unknown, setting: string, min: number, max: number, allowed: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(setting, value, allowed);
  }
}

function parseWhole(text: string, setting: string, allowed: string): number {
  if (!/^[0-9]{1,9}$/.test(text)) throw new SettingsError(setting, text, allowed);
  return Number(text);
}

/** Validates a DNS name as nginx `server_name` will see it; returns it in lower case. */
function checkHostname(raw: string, setting: string, wildcard: boolean): string {
  const fail = (why: string): never => {
    throw new SettingsError(setting, raw, `${why}; allowed: dot-separated labels of a-z, 0-9 and "-", e.g. alvin.xyz${wildcard ? ' or *.alvin.xyz' : ''}`);
  };
  if (typeof raw !== 'string' || raw.length === 0) return fail('the name is empty');
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
  return name;
}

/** A value as the error line shows it: quoted, escaped, short. */
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
