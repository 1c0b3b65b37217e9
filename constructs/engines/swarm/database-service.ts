// The backend's MySQL with WAYSHUB_ENGINE=swarm: one task, pinned to the node labelled
// wayshub.database=true, where its data volume lives; the password as a Docker secret file; its
// own internal overlay network, attachable so that the migration job (a plain container on the
// manager) can join it.
import { Construct } from 'constructs';
import { Fn } from 'cdktf';

import { DB_DATA_PATH, DB_HEALTH_TIMING, DEFAULT_DB_HEALTHCHECK, DatabaseContainerProps, databaseClientEnv } from '../containers/database-container';
import { Network, Secret, Service } from '../../docker/provider';
import { ROLE_LABEL, ROTATED_TASK_LOGS, StackEnv, labelBlocks, terraformLiteral } from '../../docker/labels';
import { DATABASE_NODE_LABEL, DEFAULTS } from '../../settings';
import { NO_FAILURES_TOLERATED, serviceDuration } from './service-values';
import { DatabaseServer, StackOutput } from '../engine';

/** Where the task reads the password (MYSQL_PASSWORD_FILE). */
export const DB_PASSWORD_FILE = '/run/secrets/db-password';

export type DatabaseServiceProps = Omit<DatabaseContainerProps, 'allowDestroy' | 'backup'> & {
  /**
   * Encrypt the database network's traffic between nodes.
   * @default false
   */
  readonly encryptNetwork?: boolean;
  /**
   * Time MySQL gets to shut down cleanly before it is killed.
   * @default 60
   */
  readonly stopGraceSeconds?: number;
};

export class DatabaseService extends Construct implements DatabaseServer {
  /** Internal and attachable: the backend's tasks and the migration job, nobody else. */
  readonly network: Network;
  readonly passwordSecret: Secret;
  readonly service: Service;
  /** The service's name, which Swarm's DNS resolves to its task on the database network. */
  readonly host: string;
  /**
   * The data volume: Docker creates it on the database node when the task first starts. No
   * Terraform resource manages it, so no deploy or destroy deletes it.
   */
  readonly volumeName: string;
  /** The environment a backend task needs to reach the database (password by reference). */
  readonly clientEnv: StackEnv;

  constructor(scope: Construct, id: string, props: DatabaseServiceProps) {
    super(scope, id);
    const labels = labelBlocks({ [ROLE_LABEL]: 'database' });
    this.host = `${props.name}-db`;
    this.volumeName = `${props.name}-db-data`;

    this.network = new Network(this, 'network', {
      name: `${props.name}-db-net`,
      driver: 'overlay',
      attachable: true,
      internal: true,
      options: props.encryptNetwork ? { encrypted: 'true' } : undefined,
      labels,
    });

    // MySQL reads the password once, when it creates its database: a later change of
    // db_password is refused by Docker (the secret is in use), as it would be a silent
    // mismatch otherwise. The value is in the state, never in cdk.tf.json.
    this.passwordSecret = new Secret(this, 'password', {
      name: `${props.name}-db-password`,
      data: Fn.base64encode(props.password.stringValue),
      labels,
    });

    this.service = new Service(this, 'service', {
      name: this.host,
      labels,
      taskSpec: {
        containerSpec: {
          image: props.image,
          hostname: this.host,
          env: {
            MYSQL_DATABASE: props.databaseName,
            MYSQL_USER: props.user,
            MYSQL_PASSWORD_FILE: DB_PASSWORD_FILE,
            MYSQL_RANDOM_ROOT_PASSWORD: 'yes',
          },
          secrets: [{ secretId: this.passwordSecret.id, secretName: this.passwordSecret.name, fileName: DB_PASSWORD_FILE }],
          mounts: [{ type: 'volume', source: this.volumeName, target: DB_DATA_PATH }],
          labels,
          healthcheck: { test: (props.healthcheck ?? DEFAULT_DB_HEALTHCHECK).map(terraformLiteral), ...DB_HEALTH_TIMING },
          stopGracePeriod: serviceDuration(props.stopGraceSeconds ?? DEFAULTS.dbStopGraceSeconds),
        },
        // By id, as Docker stores it and the provider reads it back (see ProxyService).
        networksAdvanced: [{ name: this.network.id }],
        // The volume is local to one node: the task must always come back there.
        placement: { constraints: [`node.labels.${DATABASE_NODE_LABEL} == true`] },
        restartPolicy: { condition: 'any', delay: '5s' },
        logDriver: ROTATED_TASK_LOGS,
      },
      mode: { replicated: { replicas: 1 } },
      endpointSpec: { mode: 'dnsrr' },
      // Two servers on one data directory would corrupt it: the old task stops first.
      updateConfig: { parallelism: 1, order: 'stop-first', failureAction: 'rollback', monitor: '10s', maxFailureRatio: NO_FAILURES_TOLERATED },
      rollbackConfig: { parallelism: 1, order: 'stop-first', failureAction: 'pause', monitor: '10s', maxFailureRatio: NO_FAILURES_TOLERATED },
      // The migrations run only once the database answers its healthcheck.
      convergeConfig: { delay: '1s', timeout: '5m' },
    });

    this.clientEnv = databaseClientEnv(props, this.host);
  }

  get server(): Service {
    return this.service;
  }

  outputs(): StackOutput[] {
    return [
      { name: 'database_service', value: this.service.name, description: 'The MySQL service, on the node labelled wayshub.database=true.' },
      { name: 'database_volume', value: this.volumeName, description: 'The volume with the database files, on that node.' },
    ];
  }
}
