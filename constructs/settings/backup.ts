// Settings of the database's backups: on with the database on one host, a schedule, retention,
// the restore drill, and an optional copy to S3-compatible storage.
import { DEFAULTS } from './defaults';
import type { Engine } from './engine';
import { NAMES } from './names';
import { Mutable, SettingsError, checkBoolean, checkImage, checkWhole } from './validators';

/** Where the backups are copied: a bucket and a prefix in S3-compatible storage. */
export interface BackupS3Settings {
  /** `s3://bucket/prefix`, as typed. */
  readonly url: string;
  readonly bucket: string;
  /** The folder in the bucket, without slashes at either end; may be empty. */
  readonly prefix: string;
  /**
   * `https://host[:port]` of a service that is not AWS (MinIO, Garage, R2, Spaces...).
   * @default AWS S3
   */
  readonly endpoint?: string;
  readonly region: string;
  /** An rclone image: it copies the backups there. */
  readonly image: string;
}

export interface BackupSettings {
  /** `HH:MM` (every day, UTC) or `every 30m` / `every 6h`, as typed. */
  readonly schedule: string;
  /** Newest backup of each of the last N days kept. */
  readonly keepDaily: number;
  /** Newest backup of each of the last N weeks kept. */
  readonly keepWeekly: number;
  /** Each new backup restored into a scratch database and checked; also where `npm run restore -- --scratch` goes. */
  readonly drill: boolean;
  readonly s3?: BackupS3Settings;
}

/** What a caller may set: `enabled: false` turns backups off. */
export type BackupInput = Mutable<Omit<BackupSettings, 's3'>> & { enabled?: boolean; s3?: Mutable<Omit<BackupS3Settings, 'bucket' | 'prefix'>> };

const DAILY = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const EVERY = /^every ([1-9][0-9]{0,3})(m|h)$/;
const S3_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])((?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*)\/?$/;
const ENDPOINT = /^https?:\/\/(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:]+\])(?::[0-9]{1,5})?\/?$/;

/** The schedule as backup.sh reads it: `daily HH:MM` or `every <seconds>`. */
export function scheduleForScript(schedule: string): string {
  const every = EVERY.exec(schedule);
  if (every) return `every ${Number(every[1]) * (every[2] === 'h' ? 3600 : 60)}`;
  return `daily ${schedule}`;
}

export function resolveBackup(input: BackupInput, engine: Engine): BackupSettings | undefined {
  if (input.enabled !== undefined) checkBoolean(input.enabled, NAMES.backup);
  if (engine === 'swarm') {
    // The backup container needs the database's network and a volume on the database's node.
    if (input.enabled === true)
      throw new SettingsError(NAMES.backup, true, 'allowed with WAYSHUB_ENGINE=swarm: off (not yet on Swarm: see docs/operations.md#backups)');
    return undefined;
  }
  if (input.enabled === false) return undefined;

  const schedule = input.schedule ?? DEFAULTS.backupSchedule;
  const every = typeof schedule === 'string' ? EVERY.exec(schedule) : null;
  const tooOften = every !== null && ((every[2] === 'm' && Number(every[1]) > 10080) || (every[2] === 'h' && Number(every[1]) > 168));
  if (typeof schedule !== 'string' || (!DAILY.test(schedule) && !every) || tooOften) {
    throw new SettingsError(
      NAMES.backupSchedule,
      schedule,
      'allowed: HH:MM for every day at that time (UTC), e.g. 03:00; or every 30m / every 6h (up to a week)',
    );
  }
  const keepDaily = input.keepDaily ?? DEFAULTS.backupKeepDaily;
  checkWhole(keepDaily, NAMES.backupKeepDaily, 1, 3660, 'allowed: a whole number of days from 1 to 3660');
  const keepWeekly = input.keepWeekly ?? DEFAULTS.backupKeepWeekly;
  checkWhole(keepWeekly, NAMES.backupKeepWeekly, 0, 520, 'allowed: a whole number of weeks from 0 to 520');
  const drill = checkBoolean(input.drill ?? false, NAMES.backupDrill);
  return { schedule, keepDaily, keepWeekly, drill, s3: input.s3 && resolveS3(input.s3) };
}

function resolveS3(input: NonNullable<BackupInput['s3']>): BackupS3Settings {
  const url = input.url ?? '';
  const parts = typeof url === 'string' ? S3_URL.exec(url) : null;
  // No "." or ".." folder: S3 keeps them as names, every other tool reads them as paths.
  if (!parts || /\/\.\.?(\/|$)/.test(url)) {
    throw new SettingsError(
      NAMES.backupS3,
      url,
      'allowed: s3://bucket/prefix: a bucket name (3 to 63 of a-z, 0-9, "." and "-"), then folders of A-Z, a-z, 0-9, "_", "-" and "."',
    );
  }
  const endpoint = input.endpoint;
  if (endpoint !== undefined && (typeof endpoint !== 'string' || !ENDPOINT.test(endpoint) || Number(/:([0-9]+)\/?$/.exec(endpoint)?.[1] ?? 1) > 65535)) {
    throw new SettingsError(NAMES.backupS3Endpoint, endpoint, 'allowed: https://host or http://host:port of an S3-compatible service, nothing after the port');
  }
  const region = input.region ?? DEFAULTS.backupS3Region;
  if (typeof region !== 'string' || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(region)) {
    throw new SettingsError(NAMES.backupS3Region, region, 'allowed: a region name of a-z, 0-9 and "-", e.g. us-east-1 or auto');
  }
  const image = checkImage(input.image ?? DEFAULTS.rcloneImage, NAMES.backupS3Image);
  return { url, bucket: parts[1], prefix: parts[2].replace(/^\//, ''), endpoint: endpoint?.replace(/\/$/, ''), region, image };
}
