// The backend's MySQL database: its own internal network (only the backend joins it), a named
// volume for the data that survives every apply, and the one-shot migration job.
import { createHash } from 'node:crypto';

import { Construct } from 'constructs';
import { DataResource, Fn, ITerraformDependable, Lazy, Op, Token, TerraformVariable } from 'cdktf';

import { Container, Network, Volume } from '../../docker/provider';
import { EnvValue, NO_NEW_PRIVILEGES, ROLE_LABEL, ROTATED_LOGS, StackEnv, labelBlocks, terraformLiteral } from '../../docker/labels';
import { DatabaseServer, StackOutput } from '../engine';
import { BackupSettings, DEFAULTS } from '../../settings';
import { DatabaseBackups } from './database-backups';

export const DB_PORT = 3306;
/** Where MySQL keeps its files, on the data volume. */
export const DB_DATA_PATH = '/var/lib/mysql';
export const DEFAULT_DB_HEALTHCHECK = ['CMD-SHELL', 'mysqladmin ping -h 127.0.0.1 --silent'] as const;
/** Probe timing: MySQL may take a while to create its files on the first start. */
export const DB_HEALTH_TIMING = { interval: '5s', timeout: '3s', startPeriod: '20s', retries: 10 } as const;

/** The environment a backend needs to reach the database at `host` (the password by reference). */
export function databaseClientEnv(props: Pick<DatabaseContainerProps, 'user' | 'password' | 'databaseName'>, host: string): StackEnv {
  const password = props.password.stringValue;
  // urlencode writes a space as "+", which URL parsers read as a plus in a password.
  const encoded = Fn.replace(Fn.urlencode(password), '+', '%20');
  const url = `mysql://${props.user}:${encoded}@${host}:${DB_PORT}/${props.databaseName}`;
  return {
    DATABASE_URL: EnvValue.fromReference(url),
    DB_HOST: EnvValue.fromValue(host),
    DB_PORT: EnvValue.fromValue(String(DB_PORT)),
    DB_USER: EnvValue.fromValue(props.user),
    DB_PASSWORD: EnvValue.fromReference(password),
    DB_NAME: EnvValue.fromValue(props.databaseName),
  };
}

export interface DatabaseContainerProps {
  /** Prefix of the Docker object names: `<name>-db`, `<name>-db-net`, `<name>-db-data`. */
  readonly name: string;
  /** A MySQL-compatible image that follows the official MYSQL_* environment contract. */
  readonly image: string;
  readonly databaseName: string;
  readonly user: string;
  /** The `db_password` variable (sensitive): only its reference is synthesized. */
  readonly password: TerraformVariable;
  /**
   * Docker healthcheck `test`; the deploy waits until it passes before migrating.
   * @default mysqladmin ping
   */
  readonly healthcheck?: readonly string[];
  /**
   * Time MySQL gets to shut down cleanly when it is replaced or destroyed.
   * @default 60
   */
  readonly stopGraceSeconds?: number;
  /**
   * Whether destroying the stack may delete the data volume.
   * @default false: `cdktf destroy` stops with Terraform's prevent_destroy error
   */
  readonly allowDestroy?: boolean;
  /**
   * Scheduled backups to a volume of their own (database-backups.ts).
   * @default none
   */
  readonly backup?: BackupSettings;
}

export class DatabaseContainer extends Construct implements DatabaseServer {
  /** `internal: true`: no way out, and nobody but the backend in. */
  readonly network: Network;
  readonly volume: Volume;
  readonly container: Container;
  /** The image, password hash and settings hash the database was created with (Terraform keeps them as they were). */
  readonly createdWith: DataResource;
  /** Host name of the database on its network. */
  readonly host: string;
  /** The environment a backend container needs to reach the database (password by reference). */
  readonly clientEnv: StackEnv;
  /** Its backups, with `backup`. */
  readonly backups?: DatabaseBackups;

  constructor(scope: Construct, id: string, props: DatabaseContainerProps) {
    super(scope, id);
    const labels = labelBlocks({ [ROLE_LABEL]: 'database' });
    this.host = `${props.name}-db`;

    this.network = new Network(this, 'network', { name: `${props.name}-db-net`, driver: 'bridge', internal: true, labels });
    this.volume = new Volume(this, 'volume', {
      name: `${props.name}-db-data`,
      labels,
      lifecycle: { preventDestroy: !props.allowDestroy },
    });

    const password = props.password.stringValue;
    const config = {
      name: this.host,
      hostname: this.host,
      image: props.image,
      env: [`MYSQL_DATABASE=${props.databaseName}`, `MYSQL_USER=${props.user}`, `MYSQL_PASSWORD=${password}`, 'MYSQL_RANDOM_ROOT_PASSWORD=yes'],
      networksAdvanced: [{ name: this.network.name, aliases: [this.host] }],
      volumes: [{ volumeName: this.volume.name, containerPath: DB_DATA_PATH }],
      healthcheck: { test: (props.healthcheck ?? DEFAULT_DB_HEALTHCHECK).map(terraformLiteral), ...DB_HEALTH_TIMING },
      // The deploy goes on (migrations, backend) only once the database answers.
      wait: true,
      waitTimeout: 180,
      restart: 'unless-stopped',
      // Without it the provider stops with a timeout of 0: a SIGKILL, and InnoDB recovery on the
      // next start (resource_docker_container_funcs.go:933-940).
      destroyGraceSeconds: props.stopGraceSeconds ?? DEFAULTS.dbStopGraceSeconds,
      securityOpts: NO_NEW_PRIVILEGES,
      ...ROTATED_LOGS,
      labels,
    };
    // A deploy never replaces the database. The backend replicas depend on it through the
    // migration job, so Terraform would replace it create-before-destroy, under the same name,
    // which Docker refuses; and MySQL keeps the password it was created with. So what it was
    // created with is kept (ignore_changes) and compared at plan: a new image, db_password or any
    // other setting of the container stops the plan with one line, before anything changes. The
    // password only as its hash (the state has the password itself in the container's env).
    // The rest, without tokens (their text changes from one synth to the next): the names as
    // they are, the password as its own entry above, and the labels the container really gets,
    // so computed at synth, once the stack's Aspects have added theirs.
    const settingsHash = () =>
      createHash('sha256')
        .update(
          JSON.stringify({
            ...config,
            image: undefined,
            env: config.env.filter((e) => !e.startsWith('MYSQL_PASSWORD=')),
            networksAdvanced: [{ name: `${props.name}-db-net`, aliases: [this.host] }],
            volumes: [{ volumeName: `${props.name}-db-data`, containerPath: DB_DATA_PATH }],
            labels: this.container.labelsInput,
          }),
        )
        .digest('hex')
        .slice(0, 16);
    const wanted = { image: props.image, password: Fn.sha256(password), settings: Lazy.stringValue({ produce: settingsHash }) };
    this.createdWith = new DataResource(this, 'created_with', { input: wanted, lifecycle: { ignoreChanges: ['input'] } });
    const kept = (key: keyof typeof wanted) => Token.asString(Fn.lookup(this.createdWith.input, key));
    this.container = new Container(this, 'container', {
      ...config,
      lifecycle: {
        precondition: [
          {
            // Built at synth too: the hash is then a plain string, written as a quoted literal.
            condition: Token.asString(
              Lazy.anyValue({
                produce: () =>
                  Op.and(Op.and(Op.eq(kept('image'), wanted.image), Op.eq(kept('password'), wanted.password)), Op.eq(kept('settings'), settingsHash())),
              }),
            ),
            errorMessage: `The database image, db_password or container settings changed since ${this.host} was created, and the database is never replaced by a deploy (MySQL keeps the password it was created with); see "Changing the database" in the README for the steps.`,
          },
        ],
      },
    });

    this.clientEnv = databaseClientEnv(props, this.host);
    if (props.backup) {
      this.backups = new DatabaseBackups(this, 'backup', {
        name: props.name,
        image: props.image,
        host: this.host,
        databaseName: props.databaseName,
        user: props.user,
        password: props.password,
        network: this.network,
        server: this.container,
        healthcheck: props.healthcheck ?? DEFAULT_DB_HEALTHCHECK,
        settings: props.backup,
      });
    }
  }

  get server(): Container {
    return this.container;
  }

  reportBackupsTo(metricsVolume: Volume): void {
    this.backups?.reportTo(metricsVolume);
  }

  outputs(): StackOutput[] {
    return [
      { name: 'database_container', value: this.container.name, description: 'The MySQL container.' },
      { name: 'database_volume', value: this.volume.name, description: 'The volume with the database files.' },
      ...(this.backups?.outputs() ?? []),
    ];
  }
}

export interface MigrationJobProps {
  readonly name: string;
  /** The backend's image id: migrations ship with the backend. */
  readonly image: string;
  readonly command: readonly string[];
  readonly env: readonly string[];
  /** The database's network, which the job joins (with Swarm, an attachable overlay). */
  readonly network: Network;
  /** What must be up and healthy first: the database's container or service. */
  readonly database: ITerraformDependable;
}

/**
 * Runs the migrations once per apply, before the backend replicas (which depend on it): a
 * one-shot container the deploy waits for, whose exit status must be 0.
 */
export class MigrationJob extends Construct {
  readonly container: Container;
  /** Replaced on every apply: its id names that apply's run of the job. */
  readonly run: DataResource;

  constructor(scope: Construct, id: string, props: MigrationJobProps) {
    super(scope, id);
    // The backend replicas depend on the job and are create_before_destroy, which Terraform
    // extends to what they depend on: the next run is created before the last one is removed,
    // so, as Docker refuses two containers of one name, each run has a name of its own.
    this.run = new DataResource(this, 'run', { triggersReplace: { at: Fn.timestamp() } });
    this.container = new Container(this, 'container', {
      name: `${props.name}-migrate-${Token.asString(Fn.substr(this.run.id, 0, 6))}`,
      image: props.image,
      command: props.command.map(terraformLiteral),
      // A new value on every apply: the job is replaced, so it runs once per apply.
      env: [...props.env, `WAYSHUB_APPLY_AT=${Fn.timestamp()}`],
      networksAdvanced: [{ name: props.network.name }],
      attach: true,
      logs: true,
      mustRun: false,
      restart: 'no',
      securityOpts: NO_NEW_PRIVILEGES,
      ...ROTATED_LOGS,
      labels: labelBlocks({ [ROLE_LABEL]: 'migrate' }),
      dependsOn: [props.database],
      lifecycle: {
        postcondition: [
          {
            condition: '${self.exit_code == 0}',
            errorMessage: `The migration job failed; see its output with: docker logs $(docker ps -lq --filter name=${props.name}-migrate-)`,
          },
        ],
      },
    });
  }
}
