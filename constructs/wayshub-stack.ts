// One wayshub deployment: provider, private network, frontend replicas, nginx proxy (with HTTPS
// when asked), and, with a backend image, backend replicas at api.<domain> with MySQL and its
// migration job; the replica-count and secret variables; the outputs a user reads after deploy.
import { Construct } from 'constructs';
import { TerraformCondition, TerraformOutput, TerraformStack, TerraformVariable, dependable } from 'cdktf';

import { DockerProvider, Network } from './docker';
import { STACK_LABEL, containerEnv, labelBlocks } from './labels';
import { Database, MigrationJob } from './database';
import { LetsEncrypt } from './lets-encrypt';
import { ReplicaSet } from './replica-set';
import { ReverseProxy } from './reverse-proxy';
import { SiteConfig } from '../nginx/render';
import { MAX_REPLICAS, WayshubSettings } from './settings';

export class WayshubStack extends TerraformStack {
  /** The `replicas` variable: `cdktf deploy --var replicas=5` scales without re-synthesizing. */
  readonly replicas: TerraformVariable;
  readonly network: Network;
  readonly app: ReplicaSet;
  readonly proxy: ReverseProxy;
  /** The certbot container and its volumes, in Let's Encrypt mode. */
  readonly letsEncrypt?: LetsEncrypt;
  /** Where the site answers, e.g. `http://alvin.xyz/`. */
  readonly url: string;
  /** The `backend_replicas` variable, when the backend is on. */
  readonly backendReplicas?: TerraformVariable;
  /** The backend replicas (wayshub-backend), at `api.<domain>`. */
  readonly backend?: ReplicaSet;
  /** The public API base the frontend calls, e.g. `http://api.alvin.xyz/api/v1`. */
  readonly apiUrl?: string;
  /** Sensitive variables of the backend. */
  readonly jwtPrivateKey?: TerraformVariable;
  readonly dbPassword?: TerraformVariable;
  /** The `backend_secrets` variable (sensitive), when `backend.secretEnv` names any. */
  readonly backendSecrets?: TerraformVariable;
  /** MySQL and its migration job, with the backend unless turned off. */
  readonly database?: Database;
  readonly migration?: MigrationJob;

  /** A replica count: `cdktf deploy --var <id>=N` scales without re-synthesizing. */
  private countVariable(id: string, defaultCount: number, what: string): TerraformVariable {
    return new TerraformVariable(this, id, {
      type: 'number',
      default: defaultCount,
      description: `How many ${what} containers run behind the proxy (1 to ${MAX_REPLICAS}).`,
      validation: [
        {
          condition: `\${var.${id} >= 1 && var.${id} <= ${MAX_REPLICAS} && floor(var.${id}) == var.${id}}`,
          errorMessage: `${id} must be a whole number from 1 to ${MAX_REPLICAS}, got \${var.${id}}.`,
        },
      ],
    });
  }

  constructor(scope: Construct, id: string, readonly settings: WayshubSettings) {
    super(scope, id);
    const s = settings;
    const labels = { [STACK_LABEL]: s.name };

    new DockerProvider(this, 'docker', { host: s.dockerHost });

    this.replicas = this.countVariable('replicas', s.replicas, 'app');

    this.network = new Network(this, 'network', {
      name: `${s.name}-net`,
      driver: 'bridge',
      labels: labelBlocks(labels),
    });
    this.network.overrideLogicalId('network');

    const p = s.proxy;
    // Public URL of a name: http or https, with the port when it is not the default one.
    const publicUrl = (host: string) =>
      s.tls.mode === 'off'
        ? `http://${host}${p.httpPort === 80 ? '' : `:${p.httpPort}`}/`
        : `https://${host}${p.httpsPort === 443 ? '' : `:${p.httpsPort}`}/`;

    const backend = s.backend;
    const apiName = backend && `${backend.subdomain}.${s.domain}`;
    if (backend && apiName) {
      this.backendReplicas = this.countVariable('backend_replicas', backend.replicas, 'backend');
      // Secrets are sensitive variables: cdk.tf.json holds only their references.
      this.jwtPrivateKey = new TerraformVariable(this, 'jwt_private_key', {
        type: 'string',
        sensitive: true,
        description: 'JWT_PRIVATE_KEY of the backend (give it with TF_VAR_jwt_private_key).',
      });
      const secretChecks: TerraformCondition[] = [
        { condition: '${length(var.jwt_private_key) >= 16}', errorMessage: 'jwt_private_key must be at least 16 characters.' },
      ];
      const backendEnv = ['NODE_ENV=production', `JWT_PRIVATE_KEY=${this.jwtPrivateKey.stringValue}`];
      if (backend.secretEnv.length > 0) {
        const names = backend.secretEnv;
        // A JSON object in a string, not a map(string): Terraform reads a map given in TF_VAR_* as
        // HCL, where a "${" in a secret would be an interpolation; a string it takes as it is.
        this.backendSecrets = new TerraformVariable(this, 'backend_secrets', {
          type: 'string',
          sensitive: true,
          description: `Secret environment of the backend as a JSON object with the keys ${names.join(', ')} (give it with TF_VAR_backend_secrets='{"${names[0]}":"..."}').`,
        });
        secretChecks.push({
          // The names are validated identifiers, so they can be written into the expression.
          // sort() on both sides: keys() gives a list, a literal is a tuple, and those never compare equal.
          condition: `\${sort(try(keys(jsondecode(var.backend_secrets)), [])) == sort(${JSON.stringify(names)}) && alltrue([for v in try(values(jsondecode(var.backend_secrets)), []) : can(tostring(v))])}`,
          errorMessage: `backend_secrets must be a JSON object of strings with exactly these keys: ${names.join(', ')}.`,
        });
        // try(): a bad value fails only the precondition, with its one message.
        backendEnv.push(...names.map((name) => `${name}=\${try(tostring(jsondecode(var.backend_secrets)["${name}"]), "")}`));
      }

      const db = s.database;
      if (db) {
        this.dbPassword = new TerraformVariable(this, 'db_password', {
          type: 'string',
          sensitive: true,
          description: 'Password of the database user (give it with TF_VAR_db_password).',
        });
        secretChecks.push({ condition: '${length(var.db_password) >= 12}', errorMessage: 'db_password must be at least 12 characters.' });
        this.database = new Database(this, 'database', {
          name: s.name,
          image: db.image,
          databaseName: db.databaseName,
          user: db.user,
          password: this.dbPassword,
          allowDestroy: db.allowDestroy,
          labels,
        });
        backendEnv.push(...this.database.clientEnv);
      }

      // Not 'backend': cdktf adds its own construct of that id (the Terraform backend) to every stack.
      this.backend = new ReplicaSet(this, 'api', {
        namePrefix: `${s.name}-backend`,
        count: this.backendReplicas.numberValue,
        image: backend.image,
        buildContext: backend.buildContext,
        network: this.network,
        port: backend.port,
        healthcheck: backend.healthcheck,
        memoryMb: backend.memoryMb,
        env: backend.env,
        terraformEnv: backendEnv,
        addCapabilities: backend.addCapabilities,
        labels,
        extraNetworks: this.database ? [this.database.network] : undefined,
      });
      // The secrets are checked as preconditions of the backend's image (one resource, planned on
      // every deploy), not by variable validation: Terraform prints the failing value of a
      // validation even for a sensitive variable.
      this.backend.image.lifecycle = { precondition: secretChecks };
      if (this.database && db) {
        this.migration = new MigrationJob(this, 'migration', {
          name: s.name,
          image: this.backend.image.imageId,
          command: db.migrateCommand,
          // The backend's whole environment: migrations run the backend's own code and config.
          env: containerEnv(backend.env, backendEnv),
          database: this.database,
          labels,
        });
        // The migration needs the backend's image, so the dependency is added afterwards.
        this.backend.containers.dependsOn = [dependable(this.migration.container)];
      }
      this.apiUrl = `${publicUrl(apiName)}api/v1`;
    }

    this.app = new ReplicaSet(this, 'app', {
      namePrefix: `${s.name}-app`,
      count: this.replicas.numberValue,
      image: s.app.image,
      buildContext: s.app.buildContext,
      network: this.network,
      port: s.app.port,
      healthcheck: s.app.healthcheck,
      memoryMb: s.app.memoryMb,
      // The frontend finds the API through this (see the README for wayshub-frontend's edit).
      env: this.apiUrl ? { REACT_APP_API_URL: this.apiUrl, ...s.app.env } : s.app.env,
      addCapabilities: s.app.addCapabilities,
      labels,
    });

    const serverNames = [s.domain, ...s.serverAliases];
    this.letsEncrypt =
      s.tls.mode === 'letsencrypt'
        ? new LetsEncrypt(this, 'letsencrypt', {
            name: s.name,
            domains: apiName ? [...serverNames, apiName] : serverNames,
            email: s.tls.email,
            directoryUrl: s.tls.directoryUrl,
            caFile: s.tls.caFile,
            image: s.tls.certbotImage,
            network: this.network,
            labels,
          })
        : undefined;

    // One site per replica set, with the same proxy features.
    const site = (names: string[], replicas: ReplicaSet, upstream: string): SiteConfig => ({
      serverNames: names,
      maxBodySize: p.maxBodySize,
      connectTimeoutSeconds: p.connectTimeoutSeconds,
      readTimeoutSeconds: p.readTimeoutSeconds,
      nextUpstreamTries: p.nextUpstreamTries,
      nextUpstreamTimeoutSeconds: p.nextUpstreamTimeoutSeconds,
      upstream: {
        name: `${s.name.replace(/-/g, '_')}_${upstream}`,
        alias: replicas.alias,
        port: replicas.port,
        loadBalancing: p.loadBalancing,
        maxFails: p.maxFails,
        failTimeoutSeconds: p.failTimeoutSeconds,
        keepalive: p.keepalive,
      },
    });

    this.proxy = new ReverseProxy(this, 'proxy', {
      name: `${s.name}-proxy`,
      image: p.image,
      network: this.network,
      httpPort: p.httpPort,
      httpsPort: p.httpsPort,
      hstsMaxAgeSeconds: p.hstsMaxAgeSeconds,
      memoryMb: p.memoryMb,
      tls:
        s.tls.mode === 'files'
          ? { kind: 'files', certFile: s.tls.certFile, keyFile: s.tls.keyFile }
          : this.letsEncrypt && { kind: 'letsencrypt', letsEncrypt: this.letsEncrypt },
      hardening: { securityHeaders: p.securityHeaders, rateLimit: p.rateLimit, realIp: p.realIp },
      labels,
      sites: [
        site(serverNames, this.app, 'app'),
        ...(this.backend && apiName ? [site([apiName], this.backend, 'backend')] : []),
      ],
    });

    this.url = publicUrl(s.domain);
    new TerraformOutput(this, 'url', { value: this.url, description: 'Where the site answers.' });
    new TerraformOutput(this, 'replica_names', { value: this.app.containerNames, description: 'App replica containers.' });
    new TerraformOutput(this, 'network_name', { value: this.network.name, description: 'The private network.' });
    new TerraformOutput(this, 'proxy_name', { value: this.proxy.container.name, description: 'The nginx proxy container.' });
    if (this.backend && this.apiUrl) {
      new TerraformOutput(this, 'api_url', { value: this.apiUrl, description: 'Where the API answers.' });
      new TerraformOutput(this, 'backend_replica_names', { value: this.backend.containerNames, description: 'Backend replica containers.' });
    }
    if (this.database) {
      new TerraformOutput(this, 'database_container', { value: this.database.container.name, description: 'The MySQL container.' });
      new TerraformOutput(this, 'database_volume', { value: this.database.volume.name, description: 'The volume with the database files.' });
    }
  }
}
