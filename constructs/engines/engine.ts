// What the tiers need from an engine, whatever runs it: replicas behind one DNS name, the proxy
// in front of them, a database. One implementation per engine (containers/engine.ts for one
// Docker host, swarm/engine.ts for Docker Swarm), chosen once per stack by engineFor
// (./index.ts): the tiers and the stack never ask which one they have.
import { Construct } from 'constructs';
import { ITerraformDependable, TerraformResource, TerraformVariable, Token } from 'cdktf';

import { HardeningConfig, NginxFile, SiteConfig } from '../../nginx/render';
import { StackEnv } from '../docker/labels';
import { Network, NetworkConfig, Volume } from '../docker/provider';
import { ACCESS_LOGS, AccessLog, AppSettings, BackupSettings, Engine, MetricsSettings, TlsSettings } from '../settings';

/** What the proxy needs of a set of replicas: the DNS name that finds them all, and their port. */
export interface ReplicaPool {
  readonly alias: string;
  readonly port: number;
}

/** One Terraform output: the stack writes each in the order the tiers give them. */
export interface StackOutput {
  readonly name: string;
  readonly value: unknown;
  readonly description: string;
}

/** N copies of one app on the stack's network. */
export interface ReplicasProps {
  /** Names start with it (`wayshub-app`): the containers', or the service's. */
  readonly name: string;
  /** How many replicas: a number or a Terraform token such as a variable's `numberValue`. */
  readonly count: number;
  /** Image reference; with `buildContext`, the tag of the image built from it. */
  readonly image: string;
  /**
   * The command each replica runs.
   * @default the image's own
   */
  readonly command?: readonly string[];
  /**
   * Absolute path of a directory with a Dockerfile, built on the Docker host at deploy time.
   * @default none: `image` must already exist on the Docker host
   */
  readonly buildContext?: string;
  /** The private network the replicas join. */
  readonly network: Network;
  /** Port the app listens on inside each container. */
  readonly port: number;
  /**
   * Whether the count may be 0 (other servers answer); then nothing of the app, its image
   * included, is created while it is.
   * @default false
   */
  readonly mayBeNone?: boolean;
  /**
   * Docker healthcheck `test`.
   * @default a GET of `http://127.0.0.1:<port>/` with curl, wget, node or bash; any answer below 500 passes
   */
  readonly healthcheck?: readonly string[];
  /**
   * Memory limit per replica in MiB.
   * @default no limit
   */
  readonly memoryMb?: number;
  /**
   * Extra environment of every replica.
   * @default none
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * The environment the stack sets (after the user's `env`): plain values, or references to
   * sensitive variables, which are synthesized as references and never as values.
   * @default none
   */
  readonly stackEnv?: StackEnv;
  /**
   * More networks each replica joins (after `network`), e.g. the database's.
   * @default none
   */
  readonly extraNetworks?: readonly Network[];
  /**
   * Linux capabilities the app needs back after all are dropped, e.g. `NET_BIND_SERVICE`.
   * @default none
   */
  readonly addCapabilities?: readonly string[];
  /**
   * Seconds a replica being removed has to finish its requests after SIGTERM, before it is killed.
   * @default 30
   */
  readonly drainSeconds?: number;
  /**
   * Seconds a new replica has to become healthy before the deploy fails (the old ones stay).
   * @default 60
   */
  readonly healthTimeoutSeconds?: number;
}

/** What replicas take from an app's settings as they are: image, port, healthcheck, limits. */
export function replicaPropsOf(
  app: AppSettings,
): Pick<
  ReplicasProps,
  'image' | 'command' | 'buildContext' | 'port' | 'healthcheck' | 'memoryMb' | 'addCapabilities' | 'drainSeconds' | 'healthTimeoutSeconds'
> {
  return {
    image: app.image,
    command: app.command,
    buildContext: app.buildContext,
    port: app.port,
    healthcheck: app.healthcheck,
    memoryMb: app.memoryMb,
    addCapabilities: app.addCapabilities,
    drainSeconds: app.drainSeconds,
    healthTimeoutSeconds: app.healthTimeoutSeconds,
  };
}

export interface Replicas extends ReplicaPool {
  /** What runs them (the counted containers, or the service): what a migration job goes before. */
  readonly runs: TerraformResource;
  /** The resource planned on every deploy: where the tier's checks of its inputs go. */
  readonly checkedOn: TerraformResource;
  /** The image id of the app for a plain container on the deploying host (the migration job). */
  jobImage(scope: Construct, image: string): string;
  /** Its outputs, the backend's with `backend_` in front: `replica_names` or `service_name`. */
  outputs(prefix: string, what: string): StackOutput[];
}

/** The proxy's props both engines take the same way. */
export interface ProxyProps {
  /** Container or service name, e.g. `wayshub-proxy`. */
  readonly name: string;
  /** nginx image reference (1.27.3 or newer). */
  readonly image: string;
  /** The private network shared with the replicas. */
  readonly network: Network;
  /** Sites and their upstreams. */
  readonly sites: readonly SiteConfig[];
  /**
   * Host port published for the proxy's port 80.
   * @default 80
   */
  readonly httpPort?: number;
  /**
   * Host port published for the proxy's port 443 (with TLS).
   * @default 443
   */
  readonly httpsPort?: number;
  /**
   * `Strict-Transport-Security` max-age with TLS; 0 turns it off.
   * @default 31536000 (one year)
   */
  readonly hstsMaxAgeSeconds?: number;
  /**
   * Security headers, rate limit, trusted real-IP sources.
   * @default security headers on, nothing else
   */
  readonly hardening?: HardeningConfig;
  /**
   * Memory limit in MiB.
   * @default 256
   */
  readonly memoryMb?: number;
  /**
   * Every site answers 503 with Retry-After and the proxy's own page; no request reaches a replica.
   * @default false
   */
  readonly maintenance?: boolean;
  /**
   * Where nginx writes its access log: stdout (`docker logs`), or a file in a volume (one host only).
   * The settings give `file` on one host unless told otherwise (`DEFAULTS.accessLog`).
   * @default 'docker'
   */
  readonly accessLog?: AccessLog;
  /**
   * Seconds the proxy has to finish its requests when it is replaced or destroyed.
   * @default 30
   */
  readonly drainSeconds?: number;
  /**
   * The Prometheus endpoint: nginx's lines to an exporter (one host only).
   * @default none
   */
  readonly metrics?: MetricsSettings;
}

export interface Proxy {
  /** The nginx config it serves, as rendered. */
  readonly files: readonly NginxFile[];
  /** The volume its metrics exporter reads, with metrics on (one host only). */
  readonly metricsVolume?: Volume;
  outputs(): StackOutput[];
}

/** The edge: the proxy, and what its HTTPS needs. */
export interface EdgeProps extends ProxyProps {
  /** Prefix of the other objects' names: `<prefix>-certbot`. */
  readonly prefix: string;
  readonly tls: TlsSettings;
  /** Every name the sites serve (the certificate's). */
  readonly domains: readonly string[];
}

export interface DatabaseServerProps {
  /** Prefix of the names: `<name>-db`, `<name>-db-data`. */
  readonly name: string;
  readonly image: string;
  readonly databaseName: string;
  readonly user: string;
  /** The sensitive `db_password` variable. */
  readonly password: TerraformVariable;
  /**
   * Whether a destroy may delete the data volume (one host only).
   * @default false
   */
  readonly allowDestroy?: boolean;
  /**
   * Scheduled backups, their drill and their copy to S3 (one host only).
   * @default none
   */
  readonly backup?: BackupSettings;
}

export interface DatabaseServer {
  /** `DB_HOST`, `DB_USER` and the rest: what the backend and its migrations connect with. */
  readonly clientEnv: StackEnv;
  /** Its internal network, which the backend joins. */
  readonly network: Network;
  /** The container or service the migration job waits for. */
  readonly server: ITerraformDependable;
  /** With backups on (one host only): each run also goes to the proxy's metrics exporter. */
  reportBackupsTo?(metricsVolume: Volume): void;
  outputs(): StackOutput[];
}

export interface DeploymentEngine {
  readonly kind: Engine;
  /** How the stack's network is made: a bridge on one host, an overlay across nodes. */
  readonly network: Pick<NetworkConfig, 'driver' | 'attachable' | 'options'>;
  replicas(scope: Construct, id: string, props: ReplicasProps): Replicas;
  edge(scope: Construct, id: string, props: EdgeProps): Proxy;
  database(scope: Construct, id: string, props: DatabaseServerProps): DatabaseServer;
}

/**
 * Checks a construct's props as it is built, for constructs used outside resolveSettings (which
 * checked the settings already): one line with the construct's path, the prop, the bad value and
 * what is allowed. Tokens (a variable's count) are left to Terraform.
 */
export function checkProps(
  scope: Construct,
  props: object,
  checks: Readonly<Record<string, readonly [test: (value: unknown) => boolean, allowed: string]>>,
): void {
  for (const [prop, [test, allowed]] of Object.entries(checks)) {
    const value = (props as Record<string, unknown>)[prop];
    if (value === undefined || Token.isUnresolved(value)) continue;
    if (!test(value)) throw new Error(`${scope.node.path}: invalid ${prop}: ${JSON.stringify(value)}; allowed: ${allowed}`);
  }
}

const whole = (min: number, max: number) => (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const dnsName = (v: unknown) => typeof v === 'string' && /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/.test(v);

/** What every engine's replicas check. */
export const REPLICA_CHECKS = {
  name: [dnsName, 'a-z, 0-9, "." and "-", up to 63, e.g. wayshub-app'],
  port: [whole(1, 65535), 'a whole number from 1 to 65535'],
  count: [whole(0, 100), 'a whole number from 0 to 100, or a Terraform variable'],
  memoryMb: [whole(6, 1048576), 'a whole number of MiB from 6'],
  drainSeconds: [whole(0, 3600), 'whole seconds from 0 to 3600'],
} as const;

/** What every engine's proxy checks. */
export const PROXY_CHECKS = {
  name: [dnsName, 'a-z, 0-9, "." and "-", up to 63, e.g. wayshub-proxy'],
  httpPort: [whole(1, 65535), 'a whole number from 1 to 65535'],
  httpsPort: [whole(1, 65535), 'a whole number from 1 to 65535'],
  sites: [(v: unknown) => Array.isArray(v) && v.length > 0, 'at least one site'],
  memoryMb: [whole(6, 1048576), 'a whole number of MiB from 6'],
  drainSeconds: [whole(0, 3600), 'whole seconds from 0 to 3600'],
  accessLog: [(v: unknown) => ACCESS_LOGS.includes(v as AccessLog), ACCESS_LOGS.join(' or ')],
} as const;
