// The database's backups on one host: a container of the database's own image that dumps it on
// a schedule into the `<name>-db-backups` volume (backup/backup.sh), the scratch database the
// restore drill loads each new backup into, and the copier to S3-compatible storage
// (backup/s3-copy.sh, in an rclone image). The scripts say what each step does.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Construct } from 'constructs';
import { ITerraformDependable, TerraformVariable } from 'cdktf';

import { healthcheckLabel } from '../../docker/healthcheck-label';
import { Container, Network, Volume } from '../../docker/provider';
import {
  EnvValue,
  NO_NEW_PRIVILEGES,
  ROLE_LABEL,
  ROTATED_LOGS,
  containerCapabilities,
  envEntries,
  labelBlocks,
  terraformLiteral,
  variableName,
  variableRef,
} from '../../docker/labels';
import { BackupSettings, scheduleForScript } from '../../settings';
import { StackOutput } from '../engine';
import { METRICS_DIR } from '../nginx-proxy';

/** Where the backups are, in every container that mounts their volume. */
export const BACKUP_DIR = '/backups';
/** Where the scripts are uploaded to. */
const SCRIPTS = '/wayshub';
const SCRIPT_SOURCES = path.join(__dirname, 'backup');
/** A failed backup turns the container unhealthy at the next probe: the probe is one try. */
const HEALTH = { interval: '15s', timeout: '20s', startPeriod: '10s', retries: 1 } as const;
const BACKUP_HEALTH = { test: ['CMD', 'bash', `${SCRIPTS}/backup.sh`, 'health'], ...HEALTH };
const S3_HEALTH = { test: ['CMD', 'sh', `${SCRIPTS}/s3-copy.sh`, 'health'], ...HEALTH };

export const BACKUP_ROLE = 'backup';
export const BACKUP_S3_ROLE = 'backup-s3';

export interface DatabaseBackupsProps {
  /** Prefix of the names: `<name>-backup`, `<name>-db-backups`, `<name>-db-scratch`, `<name>-backup-s3`. */
  readonly name: string;
  /** The database's image: its dump tool matches the server. */
  readonly image: string;
  /** The database's host name on its network. */
  readonly host: string;
  readonly databaseName: string;
  readonly user: string;
  /** The `db_password` variable (sensitive): only its reference is synthesized. */
  readonly password: TerraformVariable;
  /** The database's internal network. */
  readonly network: Network;
  /** The database's container: the backups start once it is up. */
  readonly server: ITerraformDependable;
  /** Healthcheck of the scratch database (the database's own). */
  readonly healthcheck: readonly string[];
  readonly settings: BackupSettings;
}

function script(name: string): { file: string; content: string } {
  return { file: `${SCRIPTS}/${name}`, content: terraformLiteral(fs.readFileSync(path.join(SCRIPT_SOURCES, name), 'utf8')) };
}

export class DatabaseBackups extends Construct {
  readonly container: Container;
  /** Not a Terraform resource, so `cdktf destroy` never deletes it: Docker makes it on first use. */
  readonly volumeName: string;
  /** The scratch database of the drill, with `drill`. */
  readonly scratch?: Container;
  /** The copier to S3, with `s3`. */
  readonly s3?: Container;
  /** The S3 keys (sensitive), with `s3`. */
  readonly s3AccessKeyId?: TerraformVariable;
  readonly s3SecretAccessKey?: TerraformVariable;
  private readonly volumes: Array<{ volumeName: string; containerPath: string }>;

  constructor(scope: Construct, id: string, props: DatabaseBackupsProps) {
    super(scope, id);
    const s = props.settings;
    this.volumeName = `${props.name}-db-backups`;
    const volumes = [{ volumeName: this.volumeName, containerPath: BACKUP_DIR }];
    this.volumes = volumes;
    const hardening = { capabilities: containerCapabilities(), securityOpts: NO_NEW_PRIVILEGES, ...ROTATED_LOGS, restart: 'unless-stopped' };
    const retention = {
      WAYSHUB_BACKUP_KEEP_DAILY: EnvValue.fromValue(String(s.keepDaily)),
      WAYSHUB_BACKUP_KEEP_WEEKLY: EnvValue.fromValue(String(s.keepWeekly)),
    };

    const scratchHost = `${props.name}-db-scratch`;
    if (s.drill) {
      // A second server of the same image and credentials, with no volume of its own: what a
      // drill or `npm run restore -- --scratch` loads into it is thrown away with it.
      const scratchHealth = { test: props.healthcheck.map(terraformLiteral), interval: '10s', timeout: '3s', startPeriod: '20s', retries: 10 };
      this.scratch = new Container(this, 'scratch', {
        name: scratchHost,
        hostname: scratchHost,
        image: props.image,
        env: [
          `MYSQL_DATABASE=${props.databaseName}`,
          `MYSQL_USER=${props.user}`,
          `MYSQL_PASSWORD=${props.password.stringValue}`,
          'MYSQL_RANDOM_ROOT_PASSWORD=yes',
        ],
        networksAdvanced: [{ name: props.network.name, aliases: [scratchHost] }],
        healthcheck: scratchHealth,
        restart: 'unless-stopped',
        securityOpts: NO_NEW_PRIVILEGES,
        ...ROTATED_LOGS,
        labels: labelBlocks({ [ROLE_LABEL]: 'scratch-database', ...healthcheckLabel(scratchHealth) }),
        destroyGraceSeconds: 10,
      });
    }

    const env = {
      DB_HOST: EnvValue.fromValue(props.host),
      DB_NAME: EnvValue.fromValue(props.databaseName),
      DB_USER: EnvValue.fromValue(props.user),
      DB_PASSWORD: EnvValue.fromReference(props.password.stringValue),
      WAYSHUB_BACKUP_SCHEDULE: EnvValue.fromValue(scheduleForScript(s.schedule)),
      ...retention,
      ...(s.drill ? { WAYSHUB_SCRATCH_HOST: EnvValue.fromValue(scratchHost) } : {}),
    };
    this.container = new Container(this, 'container', {
      name: `${props.name}-backup`,
      image: props.image,
      entrypoint: ['/bin/bash', `${SCRIPTS}/backup.sh`],
      command: ['schedule'],
      env: envEntries(env),
      upload: [script('backup.sh'), script('calendar.sh')],
      volumes,
      networksAdvanced: [{ name: props.network.name }],
      healthcheck: BACKUP_HEALTH,
      // A stop waits for a dump in progress (backup.sh ends on SIGTERM between runs).
      destroyGraceSeconds: 60,
      ...hardening,
      labels: labelBlocks({ [ROLE_LABEL]: BACKUP_ROLE, ...healthcheckLabel(BACKUP_HEALTH) }),
      dependsOn: [props.server, ...(this.scratch ? [this.scratch] : [])],
    });

    if (s.s3) {
      const sensitive = (id: string, description: string) => new TerraformVariable(this, id, { type: 'string', sensitive: true, description });
      this.s3AccessKeyId = sensitive('backup_s3_access_key_id', 'Access key id for the backups bucket (give it with TF_VAR_backup_s3_access_key_id).');
      this.s3SecretAccessKey = sensitive(
        'backup_s3_secret_access_key',
        'Secret access key for the backups bucket (give it with TF_VAR_backup_s3_secret_access_key).',
      );
      // The database's network is internal: the copier has its own, with a way out.
      const egress = new Network(this, 'egress', { name: `${props.name}-backup-net`, driver: 'bridge', labels: labelBlocks({ [ROLE_LABEL]: BACKUP_S3_ROLE }) });
      const s3Env = {
        DB_NAME: EnvValue.fromValue(props.databaseName),
        WAYSHUB_S3_PATH: EnvValue.fromValue(s.s3.prefix ? `${s.s3.bucket}/${s.s3.prefix}` : s.s3.bucket),
        ...retention,
        // rclone's remote `s3`, from its environment alone (no config file).
        RCLONE_CONFIG: EnvValue.fromValue('/dev/null'),
        RCLONE_CONFIG_S3_TYPE: EnvValue.fromValue('s3'),
        RCLONE_CONFIG_S3_PROVIDER: EnvValue.fromValue(s.s3.endpoint ? 'Other' : 'AWS'),
        ...(s.s3.endpoint ? { RCLONE_CONFIG_S3_ENDPOINT: EnvValue.fromValue(s.s3.endpoint) } : {}),
        RCLONE_CONFIG_S3_REGION: EnvValue.fromValue(s.s3.region),
        RCLONE_CONFIG_S3_ACCESS_KEY_ID: EnvValue.fromReference(this.s3AccessKeyId.stringValue),
        RCLONE_CONFIG_S3_SECRET_ACCESS_KEY: EnvValue.fromReference(this.s3SecretAccessKey.stringValue),
      };
      const keys = [this.s3AccessKeyId, this.s3SecretAccessKey];
      this.s3 = new Container(this, 's3', {
        name: `${props.name}-backup-s3`,
        image: s.s3.image,
        entrypoint: ['/bin/sh', `${SCRIPTS}/s3-copy.sh`],
        command: ['schedule'],
        env: envEntries(s3Env),
        upload: [script('s3-copy.sh'), script('calendar.sh')],
        volumes,
        networksAdvanced: [{ name: egress.name }],
        healthcheck: S3_HEALTH,
        destroyGraceSeconds: 30,
        ...hardening,
        labels: labelBlocks({ [ROLE_LABEL]: BACKUP_S3_ROLE, ...healthcheckLabel(S3_HEALTH) }),
        dependsOn: [this.container],
        lifecycle: {
          precondition: keys.map((key) => ({
            condition: `\${length(${variableRef(key)}) > 0}`,
            errorMessage: `${variableName(key)} is empty: give the bucket's keys with TF_VAR_backup_s3_access_key_id and TF_VAR_backup_s3_secret_access_key.`,
          })),
        },
      });
    }
  }

  /**
   * Mounts the proxy's metrics volume, where backup.sh adds a line per run: its exporter then
   * serves the backups' counters beside the proxy's (WAYSHUB_METRICS=on).
   */
  reportTo(metricsVolume: Volume): void {
    this.container.putVolumes([...this.volumes, { volumeName: metricsVolume.name, containerPath: METRICS_DIR }]);
  }

  outputs(): StackOutput[] {
    return [
      { name: 'backup_container', value: this.container.name, description: 'The container that backs the database up (npm run backup, npm run restore).' },
      { name: 'backup_volume', value: this.volumeName, description: 'The volume with the backups; a destroy leaves it.' },
    ];
  }
}
