// Settings of the two replica sets: the frontend (app) and the optional backend at api.<domain>.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { DEFAULTS, MAX_REPLICAS } from './defaults';
import { checkHealthPath, defaultHealthcheck } from './healthcheck';
import { NAMES, appNames } from './names';
import { Mutable, PORT_ALLOWED, SettingsError, checkBodySize, checkImage, checkServerAddress, checkWhole } from './validators';

export interface AppSettings {
  /** Image reference; with `buildContext` it is the tag given to the built image. */
  readonly image: string;
  /** Absolute path of a directory with a Dockerfile, built on the Docker host at deploy. */
  readonly buildContext?: string;
  /** Port the app listens on inside its container. */
  readonly port: number;
  /**
   * Path the default healthcheck GETs; any answer below 500 counts as alive.
   * @default /
   */
  readonly healthPath: string;
  /**
   * Docker healthcheck `test`, e.g. `["CMD-SHELL", "curl -f http://127.0.0.1:3000/health"]`.
   * @default a GET of `healthPath` with curl, wget, node or bash, whichever the image has
   */
  readonly healthcheck: readonly string[];
  /** Memory limit in MiB; none when undefined. */
  readonly memoryMb?: number;
  /** Extra environment of every replica. */
  readonly env: Readonly<Record<string, string>>;
  /** Capabilities the app gets back after all are dropped (e.g. NET_BIND_SERVICE for port 80). */
  readonly addCapabilities: readonly string[];
  /**
   * Seconds a replica being removed has to finish its requests in flight after SIGTERM, before
   * Docker kills it (the provider's destroy_grace_seconds).
   * @default 30
   */
  readonly drainSeconds: number;
  /**
   * Seconds a new replica has to become healthy; past that the deploy fails and the replicas it
   * was to replace keep serving.
   * @default 60
   */
  readonly healthTimeoutSeconds: number;
  /**
   * App servers the stack does not run, as `host:port` (say two VMs: `10.0.0.11:3000`): the proxy
   * balances over them beside the replicas, with the same method, retries and passive health.
   * With them, the `replicas` variable may be 0. The frontend only.
   * @default none
   */
  readonly servers?: readonly string[];
  /**
   * The command the replicas run instead of the image's own (the demo app's, say).
   * @default the image's own
   */
  readonly command?: readonly string[];
}

/** The optional backend (wayshub-backend, Express on 5000): its own replicas at `<subdomain>.<domain>`. */
export interface BackendSettings extends AppSettings {
  /** Default of the `backend_replicas` Terraform variable. */
  readonly replicas: number;
  /** The API answers at `<subdomain>.<domain>`. */
  readonly subdomain: string;
  /**
   * nginx `client_max_body_size` of the API's site, e.g. `100m`; `0` disables the limit.
   * @default 100m: a short video
   */
  readonly maxBodySize: string;
  /**
   * Names of environment variables whose values are secrets (wayshub-backend's Cloudinary
   * `API_KEY` and `API_SECRET`, say). Their values come at deploy time from the sensitive
   * `backend_secrets` Terraform variable, never from this program or cdk.tf.json.
   * @default [] (no `backend_secrets` variable)
   */
  readonly secretEnv: readonly string[];
}

export function resolveApp(app: Mutable<AppSettings>, role: 'app' | 'backend' = 'app'): AppSettings {
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

  if (app.healthcheck !== undefined && app.healthPath !== undefined) {
    throw new SettingsError(
      names.healthPath,
      app.healthPath,
      `it is used only by the default healthcheck, and ${names.healthcheck} is set; allowed: one of the two`,
    );
  }
  const healthPath = checkHealthPath(app.healthPath ?? '/', names.healthPath);
  const healthcheck = app.healthcheck ?? defaultHealthcheck(port, healthPath);
  // A deploy waits for each new replica to be healthy (the provider's `wait`), and the provider
  // fails a wait on a container without a healthcheck (resource_docker_container_funcs.go:551).
  if (healthcheck[0] === 'NONE') {
    throw new SettingsError(
      names.healthcheck,
      healthcheck,
      'a deploy waits for new replicas to be healthy, so they need a healthcheck; allowed: ["CMD", "prog", "arg"...] or ["CMD-SHELL", "command"]',
    );
  }
  if (
    healthcheck.length === 0 ||
    !['CMD', 'CMD-SHELL'].includes(healthcheck[0]) ||
    healthcheck.length < 2 ||
    healthcheck.some((part) => typeof part !== 'string' || /[\0\n\r]/.test(part) || part.length > 1024)
  ) {
    throw new SettingsError(names.healthcheck, healthcheck, 'allowed: ["CMD", "prog", "arg"...] or ["CMD-SHELL", "command"], single-line strings');
  }

  if (app.memoryMb !== undefined) {
    checkWhole(app.memoryMb, names.memoryMb, 6, 1024 * 1024, "allowed: a whole number of MiB, at least 6 (Docker's minimum)");
  }

  const env = app.env ?? {};
  for (const [key, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new SettingsError(`${names.env} key`, key, 'allowed: letters, digits and "_", not starting with a digit');
    }
    if (key === DRAIN_ENV) {
      throw new SettingsError(`${names.env} key`, key, `that variable is set by the stack from ${names.drainSeconds}; allowed: other names`);
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
  const drainSeconds = app.drainSeconds ?? DEFAULTS.drainSeconds;
  checkWhole(drainSeconds, names.drainSeconds, 0, 3600, 'allowed: a whole number of seconds from 0 to 3600');
  const healthTimeoutSeconds = app.healthTimeoutSeconds ?? DEFAULTS.healthTimeoutSeconds;
  checkWhole(healthTimeoutSeconds, names.healthTimeoutSeconds, 15, 3600, 'allowed: a whole number of seconds from 15 to 3600');
  const command = app.command;
  if (command !== undefined && (!Array.isArray(command) || command.length === 0 || command.some((part) => typeof part !== 'string' || part.includes('\0')))) {
    throw new SettingsError(names.command, command, 'allowed: a list of strings, the program first');
  }
  let servers: string[] | undefined;
  if (app.servers !== undefined) {
    if (role === 'backend')
      throw new SettingsError(names.servers, app.servers, 'allowed: none; app servers outside the stack are for the frontend (app.servers)');
    if (!Array.isArray(app.servers) || app.servers.length === 0 || app.servers.length > MAX_REPLICAS) {
      throw new SettingsError(names.servers, app.servers, `allowed: 1 to ${MAX_REPLICAS} addresses like 10.0.0.11:3000 or vm1.alvin.xyz:3000`);
    }
    servers = [...new Set((app.servers as readonly unknown[]).map((server) => checkServerAddress(server, names.servers)))];
  }
  return {
    image,
    buildContext,
    port,
    healthPath,
    healthcheck: [...healthcheck],
    memoryMb: app.memoryMb,
    env: { ...env },
    addCapabilities: [...addCapabilities],
    drainSeconds,
    healthTimeoutSeconds,
    ...(servers ? { servers } : {}),
    ...(command ? { command: [...(command as readonly string[])] } : {}),
  };
}

/** Every replica's environment holds its drain limit under this name (replica-containers.ts). */
export const DRAIN_ENV = 'WAYSHUB_DRAIN_SECONDS';

const MAX_SECRET_ENV = 20;

/** Array.isArray, without narrowing a readonly string[] to any[]. */
const isList = (value: unknown): value is readonly unknown[] => Array.isArray(value);

/**
 * The backend environment the stack itself sets (the API tier, and database.ts when the
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

export function resolveBackend(backend: Mutable<BackendSettings>, domain: string, withDatabase: boolean): BackendSettings {
  const app = resolveApp({ ...backend, image: backend.image ?? 'wayshub-backend:latest' }, 'backend');
  for (const key of Object.keys(app.env)) checkNotStackSet(`${appNames('backend').env} key`, key, withDatabase);
  const replicas = backend.replicas ?? DEFAULTS.backendReplicas;
  checkWhole(replicas, NAMES.backendReplicas, 1, MAX_REPLICAS, `allowed: a whole number from 1 to ${MAX_REPLICAS}`);
  const subdomain = backend.subdomain ?? DEFAULTS.apiSubdomain;
  // The API's name must itself be a valid name under the domain.
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(subdomain) || `${subdomain}.${domain}`.length > 253) {
    throw new SettingsError(NAMES.apiSubdomain, subdomain, 'allowed: one DNS label of a-z, 0-9 and "-", e.g. api');
  }
  const maxBodySize = checkBodySize(backend.maxBodySize ?? DEFAULTS.apiMaxBodySize, NAMES.apiMaxBodySize);
  const secretEnv = backend.secretEnv ?? [];
  if (!isList(secretEnv) || secretEnv.length > MAX_SECRET_ENV) {
    throw new SettingsError(NAMES.backendSecretEnv, secretEnv, `allowed: a list of at most ${MAX_SECRET_ENV} names`);
  }
  secretEnv.forEach((name, i) => {
    // Each name goes into a Terraform expression and the container's environment.
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) {
      throw new SettingsError(NAMES.backendSecretEnv, name, 'allowed: names of letters, digits and "_", not starting with a digit');
    }
    checkNotStackSet(NAMES.backendSecretEnv, name, withDatabase);
    if (name === DRAIN_ENV)
      throw new SettingsError(NAMES.backendSecretEnv, name, 'that variable is set by the stack from backend.drainSeconds; allowed: other names');
    if (Object.prototype.hasOwnProperty.call(app.env, name))
      throw new SettingsError(NAMES.backendSecretEnv, name, 'it is also in backend.env; allowed: each name in one of the two');
    if (secretEnv.indexOf(name) !== i) throw new SettingsError(NAMES.backendSecretEnv, name, 'it is listed twice; allowed: each name once');
  });
  return { ...app, replicas, subdomain, maxBodySize, secretEnv: [...secretEnv] };
}
