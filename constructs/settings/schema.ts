// Every setting a user can give outside main.ts, in one table: where it goes, the environment
// variable that overrides it, how that variable's text is read, its default and what it allows.
// From it come the overrides (withEnvironment), the names in error lines (nameOf) and the table
// of docs/settings.md (npm run docs writes it; a test checks it). Adding a setting is one entry
// here, and its check in the file of its concern.
import type { WayshubSettings } from '.';
import { DEFAULTS, MAX_REPLICAS } from './defaults';
import { HSTS_ALLOWED, parseLoadBalancing, parseRateLimit } from './proxy';
import { PORT_ALLOWED, SettingsError, parseSwitch, parseWhole } from './validators';

export interface SettingSpec {
  /** Where it goes in what main.ts declares: `proxy.httpPort`; a Terraform variable's name. */
  readonly path: string;
  /**
   * The environment variable that overrides it.
   * @default none: main.ts, or the Terraform variable
   */
  readonly env?: string;
  /**
   * A Terraform variable, given at plan time (`--var`, `TF_VAR_*`), not at synth.
   * @default false
   */
  readonly terraformVariable?: boolean;
  /**
   * From the variable's text to the setting's value, as far as syntax goes (resolveSettings
   * checks the rest). `name` is the setting's name for an error line.
   * @default the text as it is
   */
  readonly parse?: (text: string, name: string) => unknown;
  /**
   * Read with another variable instead of on its own (`WAYSHUB_REAL_IP_HEADER` with
   * `WAYSHUB_REAL_IP_FROM`).
   * @default false
   */
  readonly readWithAnother?: boolean;
  /**
   * The switch without which the setting has no effect: set while that is off, it is refused.
   * @default none: it always counts
   */
  readonly needs?: Need;
  /** The default, as the docs show it. */
  readonly default: string;
  /** What it allows, as the docs show it (Markdown, links relative to docs/). */
  readonly allowed: string;
}

/** A feature another setting has no effect without. */
export interface Need {
  /** How the user turns it on, as the error line and the docs say it. */
  readonly turnOn: string;
  readonly isOn: (settings: WayshubSettings) => boolean;
}

const NEEDS = {
  tls: { turnOn: '`WAYSHUB_TLS=files` or `letsencrypt`', isOn: (s) => s.tls.mode !== 'off' },
  tlsFiles: { turnOn: '`WAYSHUB_TLS=files`', isOn: (s) => s.tls.mode === 'files' },
  letsEncrypt: { turnOn: '`WAYSHUB_TLS=letsencrypt`', isOn: (s) => s.tls.mode === 'letsencrypt' },
  swarm: { turnOn: '`WAYSHUB_ENGINE=swarm`', isOn: (s) => s.engine === 'swarm' },
  backend: { turnOn: '`WAYSHUB_BACKEND_IMAGE` (or `WAYSHUB_BACKEND_BUILD_CONTEXT`)', isOn: (s) => s.backend !== undefined },
  database: { turnOn: 'a backend, with `WAYSHUB_DATABASE` not `off`', isOn: (s) => s.database !== undefined },
  backup: { turnOn: 'the database on one host, with `WAYSHUB_BACKUP` not `off`', isOn: (s) => s.backup !== undefined },
  s3: { turnOn: '`WAYSHUB_BACKUP_S3`', isOn: (s) => s.backup?.s3 !== undefined },
  metrics: { turnOn: '`WAYSHUB_METRICS=on`', isOn: (s) => s.metrics !== undefined },
} satisfies Record<string, Need>;

const list = (text: string): string[] => text.split(',').map((item) => item.trim());
const code = (value: string | number): string => `\`${value}\``;
const port = (text: string, name: string) => parseWhole(text, name, PORT_ALLOWED);

/** The frontend and the backend are replica sets with the same four variables. */
function replicaSet(role: 'app' | 'backend', env: 'APP' | 'BACKEND', image: Pick<SettingSpec, 'default' | 'allowed'>, portDefault: number): SettingSpec[] {
  return [
    { path: `${role}.image`, env: `WAYSHUB_${env}_IMAGE`, ...image },
    {
      path: `${role}.buildContext`,
      env: `WAYSHUB_${env}_BUILD_CONTEXT`,
      default: 'none',
      allowed:
        role === 'app' ? 'a directory with a Dockerfile, built on the Docker host at deploy' : 'a directory with a Dockerfile (also turns the backend on)',
    },
    {
      path: `${role}.port`,
      env: `WAYSHUB_${env}_PORT`,
      needs: role === 'backend' ? NEEDS.backend : undefined,
      parse: port,
      default: code(portDefault),
      allowed: role === 'app' ? '1..65535: the port the app listens on inside its container' : '1..65535',
    },
    {
      path: `${role}.healthPath`,
      env: `WAYSHUB_${env}_HEALTH_PATH`,
      needs: role === 'backend' ? NEEDS.backend : undefined,
      default: code('/'),
      allowed:
        role === 'app'
          ? 'the path the default healthcheck GETs: `/` then a-z, A-Z, 0-9, `._~/-` (and a `?query` of those and `=&`); see [Healthchecks](#healthchecks)'
          : 'like `WAYSHUB_APP_HEALTH_PATH`, e.g. `/api/v1/health`',
    },
  ];
}

export const SETTINGS: readonly SettingSpec[] = [
  { path: 'domain', env: 'WAYSHUB_DOMAIN', default: code(DEFAULTS.domain), allowed: 'a DNS name: labels of a-z, 0-9, `-`' },
  { path: 'serverAliases', env: 'WAYSHUB_SERVER_ALIASES', parse: list, default: 'none', allowed: 'comma list of more names, e.g. `www.alvin.xyz,*.alvin.xyz`' },
  {
    path: 'replicas',
    terraformVariable: true,
    default: code(DEFAULTS.replicas),
    allowed: `1..${MAX_REPLICAS} (0 with \`WAYSHUB_APP_SERVERS\`), see [Scale](../README.md#scale)`,
  },
  ...replicaSet(
    'app',
    'APP',
    {
      default: "none: a demo app on the proxy's nginx image, answering with its replica's name (with a build context: `wayshub-frontend:latest`)",
      allowed: 'an image reference (your app: see [the full wayshub](full-wayshub.md)); with a build context, the tag of the built image',
    },
    DEFAULTS.appPort,
  ),
  {
    path: 'app.servers',
    env: 'WAYSHUB_APP_SERVERS',
    parse: list,
    default: 'none',
    allowed:
      'comma list of app servers the stack does not run, `host:port` (e.g. two VMs: `10.0.0.11:3000,10.0.0.12:3000`), balanced beside the replicas; then `replicas` may be 0',
  },
  {
    path: 'proxy.loadBalancing',
    env: 'WAYSHUB_LB_METHOD',
    parse: (text) => parseLoadBalancing(text),
    default: code('round_robin'),
    allowed: '`round_robin`, `least_conn`, `ip_hash`, `random_two_least_conn`, `hash:$var`, `hash:$var:consistent`',
  },
  { path: 'proxy.httpPort', env: 'WAYSHUB_HTTP_PORT', parse: port, default: code(DEFAULTS.httpPort), allowed: '1..65535: the host port of the proxy' },
  {
    path: 'proxy.image',
    env: 'WAYSHUB_NGINX_IMAGE',
    default: code(DEFAULTS.nginxImage),
    allowed: 'an nginx image, 1.27.3 or newer (needed for upstream `resolve`)',
  },
  {
    path: 'proxy.maintenance',
    env: 'WAYSHUB_MAINTENANCE',
    parse: parseSwitch,
    default: code('off'),
    allowed:
      '`on`/`off`: every site answers 503 with `Retry-After` and a maintenance page (JSON on the API), by a reload: see [Maintenance](operations.md#maintenance)',
  },
  {
    path: 'proxy.accessLog',
    env: 'WAYSHUB_ACCESS_LOG',
    default: `${code(DEFAULTS.accessLog)} (${code(DEFAULTS.swarmAccessLog)} with Swarm)`,
    allowed:
      '`file`: a file in a volume, rotated (1.1x to 1.3x the throughput of `docker` on small answers); `docker`: each request in `docker logs`: see [Access log](operations.md#access-log)',
  },
  {
    path: 'proxy.maxBodySize',
    env: 'WAYSHUB_MAX_BODY_SIZE',
    default: code(DEFAULTS.maxBodySize),
    allowed: '`512k`, `10m`, `1g`...; `0` = no limit; larger uploads to `<domain>` get 413',
  },
  { path: 'dockerHost', env: 'DOCKER_HOST', default: code(DEFAULTS.dockerHost), allowed: '`unix://...`, `tcp://host:port`, `ssh://user@host[:port]`' },
  {
    path: 'engine',
    env: 'WAYSHUB_ENGINE',
    default: code('containers'),
    allowed: '`containers` (one host) or `swarm`: see [More than one host](swarm.md#more-than-one-host-docker-swarm)',
  },
  {
    path: 'swarm.encryptNetwork',
    env: 'WAYSHUB_SWARM_ENCRYPT',
    needs: NEEDS.swarm,
    parse: parseSwitch,
    default: code('off'),
    allowed: '`on`/`off`: IPsec on the overlay network between Swarm nodes',
  },
  {
    path: 'proxy.httpsPort',
    env: 'WAYSHUB_HTTPS_PORT',
    needs: NEEDS.tls,
    parse: port,
    default: code(DEFAULTS.httpsPort),
    allowed: '1..65535: the host port of HTTPS (with TLS)',
  },
  {
    path: 'proxy.hstsMaxAgeSeconds',
    env: 'WAYSHUB_HSTS_MAX_AGE',
    needs: NEEDS.tls,
    parse: (text, name) => parseWhole(text, name, HSTS_ALLOWED),
    default: code(DEFAULTS.hstsMaxAgeSeconds),
    allowed: 'seconds, 0 (off) to 63072000; sent with HTTPS only: see [Hardening](operations.md#hardening)',
  },
  {
    path: 'proxy.rateLimit',
    env: 'WAYSHUB_RATE_LIMIT',
    parse: (text) => parseRateLimit(text),
    default: 'none',
    allowed: '`10r/s`, `600r/m`, with a burst: `10r/s:20`; per client address: see [Hardening](operations.md#hardening)',
  },
  {
    path: 'proxy.realIp.trustedFrom',
    env: 'WAYSHUB_REAL_IP_FROM',
    parse: list,
    default: 'none',
    allowed: 'comma list of addresses or CIDR ranges whose client-address header is trusted: see [Hardening](operations.md#hardening)',
  },
  {
    path: 'proxy.realIp.header',
    env: 'WAYSHUB_REAL_IP_HEADER',
    readWithAnother: true,
    default: code('X-Forwarded-For'),
    allowed: 'the header those addresses set, e.g. `CF-Connecting-IP`; read with `WAYSHUB_REAL_IP_FROM` only',
  },
  {
    path: 'tls.mode',
    env: 'WAYSHUB_TLS',
    default: code('off'),
    allowed: '`off`, `files`, `letsencrypt`: see [HTTPS](https.md#https) and [Hardening](operations.md#hardening)',
  },
  {
    path: 'tls.certFile',
    env: 'WAYSHUB_TLS_CERT',
    needs: NEEDS.tlsFiles,
    default: 'none',
    allowed: 'with `files`: a readable PEM file of the certificate chain',
  },
  {
    path: 'tls.keyFile',
    env: 'WAYSHUB_TLS_KEY',
    needs: NEEDS.tlsFiles,
    default: 'none',
    allowed: 'with `files`: a readable PEM file of its private key; Terraform reads it at deploy, so it is never in `cdk.tf.json`',
  },
  {
    path: 'tls.email',
    env: 'WAYSHUB_ACME_EMAIL',
    needs: NEEDS.letsEncrypt,
    default: 'none',
    allowed: "with `letsencrypt`: your address, for Let's Encrypt's expiry mails",
  },
  {
    path: 'tls.directoryUrl',
    env: 'WAYSHUB_ACME_DIRECTORY',
    needs: NEEDS.letsEncrypt,
    default: code('production'),
    allowed: "with `letsencrypt`: `production`, `staging` (Let's Encrypt's) or the `https://` URL of another ACME directory",
  },
  {
    path: 'tls.caFile',
    env: 'WAYSHUB_ACME_CA_FILE',
    needs: NEEDS.letsEncrypt,
    default: 'none',
    allowed: "with `letsencrypt`: a PEM file of that directory's CA",
  },
  { path: 'tls.certbotImage', env: 'WAYSHUB_CERTBOT_IMAGE', needs: NEEDS.letsEncrypt, default: code(DEFAULTS.certbotImage), allowed: 'a certbot image' },
  ...replicaSet(
    'backend',
    'BACKEND',
    {
      default: 'none (no backend)',
      allowed:
        'an image reference: turns on backend replicas at `api.<domain>` and MySQL: see [the full wayshub](full-wayshub.md#the-full-wayshub-frontend-backend-and-mysql)',
    },
    DEFAULTS.backendPort,
  ),
  { path: 'backend.subdomain', env: 'WAYSHUB_API_SUBDOMAIN', needs: NEEDS.backend, default: code(DEFAULTS.apiSubdomain), allowed: 'one DNS label' },
  {
    path: 'backend.maxBodySize',
    env: 'WAYSHUB_API_MAX_BODY_SIZE',
    needs: NEEDS.backend,
    default: code(DEFAULTS.apiMaxBodySize),
    allowed: 'like `WAYSHUB_MAX_BODY_SIZE`, for uploads to `api.<domain>` (videos): see [Uploads](operations.md#uploads)',
  },
  {
    path: 'backend.secretEnv',
    env: 'WAYSHUB_BACKEND_SECRET_ENV',
    needs: NEEDS.backend,
    parse: list,
    default: 'none',
    allowed: 'names (`API_KEY,API_SECRET`) whose values come from the sensitive `backend_secrets` variable (a JSON object)',
  },
  { path: 'backend_replicas', terraformVariable: true, default: code(DEFAULTS.backendReplicas), allowed: `1..${MAX_REPLICAS}, like \`replicas\`` },
  {
    path: 'database.enabled',
    env: 'WAYSHUB_DATABASE',
    parse: parseSwitch,
    needs: NEEDS.backend,
    default: '`on` with a backend',
    allowed: '`on`/`off`: MySQL for the backend',
  },
  {
    path: 'database.image',
    env: 'WAYSHUB_DB_IMAGE',
    needs: NEEDS.database,
    default: code(DEFAULTS.dbImage),
    allowed: 'a MySQL image; never changed by a deploy: see [Changing the database](full-wayshub.md#changing-the-database)',
  },
  {
    path: 'database.allowDestroy',
    env: 'WAYSHUB_DB_ALLOW_DESTROY',
    needs: NEEDS.database,
    parse: parseSwitch,
    default: code('off'),
    allowed: '`on`/`off`: whether `cdktf destroy` may delete the data volume',
  },
  {
    path: 'database.migrateCommand',
    env: 'WAYSHUB_MIGRATE_COMMAND',
    needs: NEEDS.database,
    parse: (text) => ['sh', '-c', text],
    default: 'none',
    allowed: "a shell command run once per deploy in the backend's image, before the backend starts",
  },
  {
    path: 'backup.enabled',
    env: 'WAYSHUB_BACKUP',
    parse: parseSwitch,
    needs: NEEDS.database,
    default: '`on` with the database (one host)',
    allowed: '`on`/`off`: scheduled dumps of the database to the `<name>-db-backups` volume: see [Backups](operations.md#backups)',
  },
  {
    path: 'backup.schedule',
    env: 'WAYSHUB_BACKUP_SCHEDULE',
    needs: NEEDS.backup,
    default: code(DEFAULTS.backupSchedule),
    allowed: '`HH:MM` every day (UTC), or `every 30m` / `every 6h`',
  },
  {
    path: 'backup.keepDaily',
    env: 'WAYSHUB_BACKUP_KEEP_DAILY',
    needs: NEEDS.backup,
    parse: (text, name) => parseWhole(text, name, 'allowed: a whole number of days from 1 to 3660'),
    default: code(DEFAULTS.backupKeepDaily),
    allowed: 'days (1..3660) whose newest backup is kept; every backup of the last 24 hours is kept too',
  },
  {
    path: 'backup.keepWeekly',
    env: 'WAYSHUB_BACKUP_KEEP_WEEKLY',
    needs: NEEDS.backup,
    parse: (text, name) => parseWhole(text, name, 'allowed: a whole number of weeks from 0 to 520'),
    default: code(DEFAULTS.backupKeepWeekly),
    allowed: 'weeks (0..520, Monday to Sunday) whose newest backup is kept',
  },
  {
    path: 'backup.drill',
    env: 'WAYSHUB_BACKUP_DRILL',
    needs: NEEDS.backup,
    parse: parseSwitch,
    default: code('off'),
    allowed: '`on`/`off`: a scratch database (`<name>-db-scratch`) into which each new backup is restored and checked',
  },
  {
    path: 'backup.s3.url',
    env: 'WAYSHUB_BACKUP_S3',
    needs: NEEDS.backup,
    default: 'none',
    allowed:
      '`s3://bucket/prefix`: each backup is copied there too, with the same retention; the keys are the sensitive `backup_s3_access_key_id` and `backup_s3_secret_access_key` variables',
  },
  {
    path: 'backup.s3.endpoint',
    env: 'WAYSHUB_BACKUP_S3_ENDPOINT',
    needs: NEEDS.s3,
    default: 'AWS S3',
    allowed: '`https://host[:port]` of another S3-compatible service (MinIO, Garage, R2...)',
  },
  {
    path: 'backup.s3.region',
    env: 'WAYSHUB_BACKUP_S3_REGION',
    needs: NEEDS.s3,
    default: code(DEFAULTS.backupS3Region),
    allowed: "the bucket's region, e.g. `eu-west-1`, `auto`",
  },
  { path: 'backup.s3.image', env: 'WAYSHUB_BACKUP_S3_IMAGE', needs: NEEDS.s3, default: code(DEFAULTS.rcloneImage), allowed: 'an rclone image' },
  {
    path: 'metrics.enabled',
    env: 'WAYSHUB_METRICS',
    parse: parseSwitch,
    default: code('off'),
    allowed: '`on`/`off`: a Prometheus endpoint with requests, failures and upstream times per site and replica: see [Metrics](operations.md#metrics)',
  },
  {
    path: 'metrics.port',
    env: 'WAYSHUB_METRICS_PORT',
    needs: NEEDS.metrics,
    parse: port,
    default: code(DEFAULTS.metricsPort),
    allowed: '1..65535: the host port of `/metrics`',
  },
  {
    path: 'metrics.address',
    env: 'WAYSHUB_METRICS_ADDRESS',
    needs: NEEDS.metrics,
    default: code(DEFAULTS.metricsAddress),
    allowed: 'the host address it is published on: the loopback, or a private address your Prometheus reaches; never a public one',
  },
  {
    path: 'metrics.image',
    env: 'WAYSHUB_METRICS_IMAGE',
    needs: NEEDS.metrics,
    default: "built at deploy from `docker/metrics/Dockerfile` (Debian's mtail)",
    allowed: 'an image with mtail and `sh`',
  },
];

/** A setting's name in an error line: `proxy.httpPort (WAYSHUB_HTTP_PORT)`, or the path alone. */
export function nameOf(path: string): string {
  const spec = SETTINGS.find((s) => s.path === path);
  return spec?.env ? `${path} (${spec.env})` : path;
}

/** A setting's value in what main.ts and the environment gave, by its dotted path. */
export function valueAt(input: object, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), input);
}

// cdktf's own token markers: in any string it synthesizes, cdktf replaces them with the token
// they name (or fails with a stack trace), so typed text holding one would not arrive as typed.
const TOKEN_MARKER = /[$#&]\{TfToken\[/;

/** Refuses any text in the settings (values, keys, list items) that holds a cdktf token marker. */
export function refuseTokenMarkers(node: unknown, path: string[] = []): void {
  const name = () => {
    // The schema's name for the setting it is in (`app.env (…)`), then the rest of the path.
    const known = SETTINGS.map((spec) => spec.path)
      .filter((p) => path.join('.').startsWith(p))
      .sort((a, b) => b.length - a.length)[0];
    return known ? `${nameOf(known)}${path.join('.').slice(known.length)}` : path.join('.');
  };
  if (typeof node === 'string') {
    if (TOKEN_MARKER.test(node))
      throw new SettingsError(
        name(),
        node,
        'it holds a cdktf token marker ("${TfToken[", "#{TfToken[" or "&{TfToken["), which cdktf would replace; allowed: text without one',
      );
  } else if (Array.isArray(node)) {
    node.forEach((item, i) => refuseTokenMarkers(item, [...path, String(i)]));
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (TOKEN_MARKER.test(key))
        throw new SettingsError(name(), key, 'a name holds a cdktf token marker, which cdktf would replace; allowed: names without one');
      refuseTokenMarkers(value, [...path, key]);
    }
  }
}

/** Refuses a setting given while the feature it belongs to is off: it would change nothing. */
export function refuseSettingsOfFeaturesOff(input: object, settings: WayshubSettings): void {
  for (const spec of SETTINGS) {
    const value = spec.needs && valueAt(input, spec.path);
    if (spec.needs && value !== undefined && !spec.needs.isOn(settings)) {
      throw new SettingsError(
        nameOf(spec.path),
        value,
        `it has no effect unless ${spec.needs.turnOn.replace(/`/g, '')}; allowed: turn that on, or leave this out`,
      );
    }
  }
}

/** The table of docs/settings.md. */
export function settingsTable(): string {
  return [
    '| environment variable | setting | default | allowed |',
    '| --- | --- | --- | --- |',
    ...SETTINGS.map((s) => `| ${s.env ? code(s.env) : '(Terraform variable)'} | ${code(s.path)} | ${s.default} | ${s.allowed} |`),
  ].join('\n');
}
