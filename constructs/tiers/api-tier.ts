// The API tier: wayshub-backend's replicas at api.<domain>, the `backend_replicas` variable,
// the backend's secrets, and (unless turned off) MySQL with its migration job.
import { Construct } from 'constructs';
import { dependable } from 'cdktf';

import { BackendSecrets } from './backend-secrets';
import { Database, MigrationJob } from '../engines/containers/database';
import { Image, Network } from '../docker/provider';
import { containerEnv } from '../docker/labels';
import { ReplicaCountVariable } from './replica-count';
import { ReplicaSet, replicaPropsOf } from '../engines/containers/replica-set';
import { ReplicaService } from '../engines/swarm/replica-service';
import { BackendSettings, DatabaseSettings, Engine, SwarmSettings } from '../settings';
import { SwarmDatabase } from '../engines/swarm/swarm-database';

export interface ApiTierProps {
  /** Prefix of the Docker object names: `<name>-backend-1`, `<name>-db`, `<name>-migrate`. */
  readonly name: string;
  /** Image, port, replicas, environment and secret names of the backend. */
  readonly backend: BackendSettings;
  /**
   * The database the stack runs for the backend.
   * @default none: DATABASE_URL and DB_* are the user's (e.g. in `backend.secretEnv`)
   */
  readonly database?: DatabaseSettings;
  /** The private network the proxy reaches the replicas on. */
  readonly network: Network;
  /**
   * Plain containers, or Swarm services (the database pinned to its node).
   * @default containers
   */
  readonly engine?: Engine;
  /**
   * Swarm options (with `engine: 'swarm'`).
   * @default the database network not encrypted
   */
  readonly swarm?: SwarmSettings;
  /**
   * Docker labels of every object of the tier.
   * @default none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

export class ApiTier extends Construct {
  /** The `backend_replicas` variable. */
  readonly replicasVariable: ReplicaCountVariable;
  readonly secrets: BackendSecrets;
  /** The replica containers, or with Swarm the service. */
  readonly replicas: ReplicaSet | ReplicaService;
  /** The MySQL container, or with Swarm the service. */
  readonly database?: Database | SwarmDatabase;
  readonly migration?: MigrationJob;

  constructor(scope: Construct, id: string, props: ApiTierProps) {
    super(scope, id);
    const { backend, database: db, labels } = props;
    this.replicasVariable = new ReplicaCountVariable(this, 'backend_replicas', { default: backend.replicas, what: 'backend' });
    this.secrets = new BackendSecrets(this, 'secrets', { secretEnv: backend.secretEnv, database: db !== undefined });
    // The environment the stack sets; the user's backend.env may not name any of it.
    const env = ['NODE_ENV=production', ...this.secrets.env];

    const swarm = props.engine === 'swarm';
    if (db && this.secrets.dbPassword) {
      const dbProps = { name: props.name, image: db.image, databaseName: db.databaseName, user: db.user, password: this.secrets.dbPassword, labels };
      this.database = swarm
        ? new SwarmDatabase(this, 'database', { ...dbProps, encryptNetwork: props.swarm?.encryptNetwork })
        : new Database(this, 'database', { ...dbProps, allowDestroy: db.allowDestroy });
      env.push(...this.database.clientEnv);
    }

    // The id names the resources (docker_container.api, docker_image.api_image) in state: keep it.
    // Not 'backend', which would read as cdktf's own Terraform-backend construct.
    const replicas = {
      count: this.replicasVariable.numberValue,
      ...replicaPropsOf(backend),
      network: props.network,
      env: backend.env,
      terraformEnv: env,
      labels,
    };
    const extraNetworks = this.database ? [this.database.network] : undefined;
    if (swarm) {
      const service = new ReplicaService(this, 'api', { name: `${props.name}-backend`, ...replicas, extraNetworks });
      service.service.lifecycle = { precondition: this.secrets.preconditions };
      this.replicas = service;
    } else {
      const set = new ReplicaSet(this, 'api', { namePrefix: `${props.name}-backend`, ...replicas, extraNetworks });
      // The image is one resource planned on every deploy: the right place to check the secrets.
      set.image.lifecycle = { precondition: this.secrets.preconditions };
      this.replicas = set;
    }

    if (this.database && db) {
      let image: string;
      if (this.replicas instanceof ReplicaSet) image = this.replicas.image.imageId;
      else {
        // Tasks pull the image on their nodes; the job, a plain container, needs it on the manager.
        const migrationImage = new Image(this, 'migrate_image', { name: backend.image, keepLocally: true });
        migrationImage.overrideLogicalId('migrate_image');
        image = migrationImage.imageId;
      }
      this.migration = new MigrationJob(this, 'migration', {
        name: props.name,
        image,
        command: db.migrateCommand,
        // The backend's whole environment: migrations run the backend's own code and config.
        env: containerEnv(backend.env, env),
        // With Swarm, the job joins the database's attachable overlay network from the manager.
        network: this.database.network,
        database: this.database instanceof SwarmDatabase ? this.database.service : this.database.container,
        labels,
      });
      // The migration needs the backend's image, so the dependency is added afterwards.
      const replicasResource = this.replicas instanceof ReplicaService ? this.replicas.service : this.replicas.containers;
      replicasResource.dependsOn = [dependable(this.migration.container)];
    }
  }
}
