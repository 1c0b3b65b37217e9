// Settings of one wayshub deployment: their defaults, how the environment overrides them,
// and the validation every value passes before it can reach nginx config or Terraform.
// One file per concern; this one holds the whole deployment's settings and resolveSettings.
import { type AppSettings, type BackendSettings, resolveApp, resolveBackend } from './app';
import { type BackupInput, type BackupSettings, resolveBackup } from './backup';
import { type MetricsInput, type MetricsSettings, resolveMetrics } from './metrics';
import { type DatabaseInput, type DatabaseSettings, resolveDatabase } from './database';
import { DEFAULTS, MAX_REPLICAS } from './defaults';
import { type Engine, type EngineInput, type SwarmSettings, resolveEngine } from './engine';
import { NAMES, appNames } from './names';
import { refuseSettingsOfFeaturesOff, refuseTokenMarkers } from './schema';
import { DEMO_CAPABILITIES, demoAppCommand } from './demo-app';
import { type ProxySettings, resolveProxy } from './proxy';
import { type TlsInput, type TlsSettings, resolveTls } from './tls';
import { type Mutable, SettingsError, checkHostname, checkWhole, portInRange } from './validators';

export type { AppSettings, BackendSettings } from './app';
export { DRAIN_ENV } from './app';
export { defaultHealthcheck } from './healthcheck';
export type { BackupS3Settings, BackupSettings } from './backup';
export { scheduleForScript } from './backup';
export type { DatabaseSettings } from './database';
export type { MetricsSettings } from './metrics';
export type { Engine, SwarmSettings } from './engine';
export { DATABASE_NODE_LABEL, ENGINES, PROXY_NODE_LABEL } from './engine';
export { DEFAULTS, MAX_REPLICAS, MIN_NGINX_VERSION } from './defaults';
export { ENV_VARS, TOOL_VARS, refuseUnknownVariables, withEnvironment } from './environment';
export type { AccessLog, LoadBalancing, ProxySettings } from './proxy';
export { ACCESS_LOGS, parseLoadBalancing, parseRateLimit, taggedNginxVersion } from './proxy';
export type { TlsInput, TlsSettings } from './tls';
export { ACME_DIRECTORIES } from './tls';
export { SettingsError } from './validators';
export { EXPIRY_WARNING_DAYS, settingsWarnings } from './warnings';

export interface WayshubSettings {
  /** Prefix of every Docker object: `<name>-app-1`, `<name>-proxy`, `<name>-net`. */
  readonly name: string;
  /** The domain the site answers on, e.g. `alvin.xyz`. */
  readonly domain: string;
  /** More names for the same site, e.g. `www.alvin.xyz`; a leading `*.` label is allowed. */
  readonly serverAliases: readonly string[];
  /** Default of the `replicas` Terraform variable. */
  readonly replicas: number;
  /** Docker Engine the provider talks to: `unix://`, `tcp://` or `ssh://`; with Swarm, a manager. */
  readonly dockerHost: string;
  /** Plain containers on one host, or Swarm services over the nodes of a swarm. */
  readonly engine: Engine;
  /** Options of the Swarm engine. */
  readonly swarm: SwarmSettings;
  readonly app: AppSettings;
  readonly proxy: ProxySettings;
  readonly tls: TlsSettings;
  /** On when a backend image or build context is set. */
  readonly backend?: BackendSettings;
  /** On with the backend unless WAYSHUB_DATABASE=off. */
  readonly database?: DatabaseSettings;
  /** On with the database on one host unless WAYSHUB_BACKUP=off. */
  readonly backup?: BackupSettings;
  /** The proxy's Prometheus endpoint, with WAYSHUB_METRICS=on. */
  readonly metrics?: MetricsSettings;
}

/** What a caller may set; everything left out takes its default. */
export interface WayshubSettingsInput extends Mutable<
  Omit<WayshubSettings, 'app' | 'proxy' | 'tls' | 'backend' | 'database' | 'backup' | 'metrics' | 'engine' | 'swarm'>
> {
  /** `containers` (default) or `swarm`. */
  engine?: EngineInput['engine'];
  swarm?: EngineInput['swarm'];
  app?: Mutable<AppSettings>;
  backend?: Mutable<BackendSettings>;
  /** `enabled: false` turns the database off; it is on with the backend by default. */
  database?: DatabaseInput;
  /** `enabled: false` turns backups off; they are on with the database on one host. */
  backup?: BackupInput;
  /** `enabled: true` turns the Prometheus endpoint on. */
  metrics?: MetricsInput;
  proxy?: Mutable<ProxySettings>;
  /** Fields of the chosen mode; `mode` defaults to off. */
  tls?: TlsInput;
}

const DOCKER_HOST = new RegExp(
  '^(?:unix:///[A-Za-z0-9_./-]+' +
    '|tcp://(?:[A-Za-z0-9.-]+|\\[[0-9A-Fa-f:]+\\])(?::[0-9]{1,5})?/?' +
    '|ssh://(?:[A-Za-z0-9._-]+@)?(?:[A-Za-z0-9.-]+|\\[[0-9A-Fa-f:]+\\])(?::[0-9]{1,5})?)$',
);

/** Fills in defaults and validates everything; throws SettingsError on the first bad value. */
export function resolveSettings(input: WayshubSettingsInput = {}): WayshubSettings {
  refuseTokenMarkers(input);
  const name = input.name ?? DEFAULTS.name;
  if (!/^[a-z][a-z0-9-]{0,29}$/.test(name) || name.endsWith('-')) {
    throw new SettingsError(NAMES.name, name, 'allowed: 1 to 30 of a-z, 0-9 and "-", starting with a letter, e.g. wayshub');
  }

  const domain = checkHostname(input.domain ?? DEFAULTS.domain, NAMES.domain, false);
  const serverAliases = [...new Set((input.serverAliases ?? []).map((a) => checkHostname(a, NAMES.serverAliases, true)))].filter((a) => a !== domain);

  const replicas = input.replicas ?? DEFAULTS.replicas;
  // With app servers outside the stack, they alone may serve.
  const fewestReplicas = input.app?.servers?.length ? 0 : 1;
  checkWhole(replicas, NAMES.replicas, fewestReplicas, MAX_REPLICAS, `allowed: a whole number from ${fewestReplicas} to ${MAX_REPLICAS}`);

  const dockerHost = input.dockerHost ?? DEFAULTS.dockerHost;
  if (!DOCKER_HOST.test(dockerHost) || !portInRange(dockerHost)) {
    throw new SettingsError(
      NAMES.dockerHost,
      dockerHost,
      'allowed: unix:///path/docker.sock, tcp://host:port or ssh://user@host[:port], a port from 1 to 65535',
    );
  }

  const { engine, swarm } = resolveEngine(input);
  const proxy = resolveProxy(input.proxy ?? {}, engine);
  const tls = resolveTls(input.tls ?? {}, serverAliases);
  if (tls.mode !== 'off' && proxy.httpsPort === proxy.httpPort) {
    throw new SettingsError(NAMES.httpsPort, proxy.httpsPort, `allowed: a port other than the HTTP port ${proxy.httpPort}`);
  }
  // The backend is on with an image or a build context; the database only with the backend.
  const backendInput = input.backend ?? {};
  const backendOn = backendInput.image !== undefined || backendInput.buildContext !== undefined;
  const database = backendOn ? resolveDatabase(input.database ?? {}) : undefined;
  const backend = backendOn ? resolveBackend(backendInput, domain, database !== undefined) : undefined;
  // Each name is one site's: nginx ignores the second server of a name ("conflicting server
  // name"), so API requests would reach the frontend.
  if (backend && serverAliases.includes(`${backend.subdomain}.${domain}`)) {
    throw new SettingsError(
      NAMES.serverAliases,
      `${backend.subdomain}.${domain}`,
      `that name is the API's (${NAMES.apiSubdomain} of the domain); allowed: other names`,
    );
  }
  // No app image and nothing to build: the demo app, on the proxy's own image.
  const appInput = input.app ?? {};
  const demo = appInput.image === undefined && appInput.buildContext === undefined && appInput.command === undefined;
  const resolvedApp = resolveApp(demo ? { ...appInput, image: proxy.image, addCapabilities: appInput.addCapabilities ?? [...DEMO_CAPABILITIES] } : appInput);
  const app = demo ? { ...resolvedApp, command: demoAppCommand(resolvedApp.port) } : resolvedApp;
  if (engine === 'swarm') checkSwarmFits(app, proxy, backend, database, tls);
  const backup = database ? resolveBackup(input.backup ?? {}, engine) : undefined;
  const metrics = resolveMetrics(input.metrics ?? {}, engine, tls.mode === 'off' ? [proxy.httpPort] : [proxy.httpPort, proxy.httpsPort]);
  const settings = { name, domain, serverAliases, replicas, dockerHost, engine, swarm, app, proxy, tls, backend, database, backup, metrics };
  refuseSettingsOfFeaturesOff(input, settings);
  return settings;
}

/** What the Swarm engine can't run (yet), refused before anything is synthesized. */
function checkSwarmFits(
  app: AppSettings,
  proxy: ProxySettings,
  backend: BackendSettings | undefined,
  database: DatabaseSettings | undefined,
  tls: TlsSettings,
): void {
  const swarm = 'allowed with WAYSHUB_ENGINE=swarm';
  for (const [role, settings] of [
    ['app', app],
    ['backend', backend],
  ] as const) {
    if (settings?.buildContext !== undefined) {
      // A build happens on the manager alone; every node must be able to pull the image.
      throw new SettingsError(
        appNames(role).buildContext,
        settings.buildContext,
        `${swarm}: none; build and push the image to a registry every node can pull from, then set ${appNames(role).image}`,
      );
    }
  }
  if (tls.mode === 'letsencrypt') {
    // certbot's webroot and certificates are volumes of one host; the proxy may run on another.
    throw new SettingsError(NAMES.tlsMode, tls.mode, `${swarm}: off or files (your certificate, given to the proxy as Docker secrets)`);
  }
  if (proxy.accessLog === 'file') {
    // The file's volume and its rotation are the proxy container's: one host only.
    throw new SettingsError(NAMES.accessLog, proxy.accessLog, `${swarm}: docker (each task's access log is in docker service logs)`);
  }
  if (database?.allowDestroy) {
    // The data volume is the database node's, outside Terraform: no destroy can delete it.
    throw new SettingsError(NAMES.dbAllowDestroy, true, `${swarm}: false (the data volume stays on the database node; delete it there with docker volume rm)`);
  }
}
