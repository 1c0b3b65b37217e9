// Settings of the backend's MySQL database: on with the backend unless turned off.
import { DEFAULTS } from './defaults';
import { NAMES } from './names';
import { Mutable, SettingsError, checkImage } from './validators';

/** MySQL for the backend, on by default with the backend. */
export interface DatabaseSettings {
  /** A MySQL-compatible image that follows the official MYSQL_* environment contract. */
  readonly image: string;
  /** Database and user name. */
  readonly databaseName: string;
  readonly user: string;
  /** Whether `cdktf destroy` may delete the data volume (off: Terraform refuses). */
  readonly allowDestroy: boolean;
  /** Run once per apply, in the backend image, before the backend replicas. */
  readonly migrateCommand: readonly string[];
}

/** What a caller may set: `enabled: false` turns the database off. */
export type DatabaseInput = Mutable<DatabaseSettings> & { enabled?: boolean };

export function resolveDatabase(db: DatabaseInput): DatabaseSettings | undefined {
  if (db.enabled === false) return undefined;
  const image = checkImage(db.image ?? DEFAULTS.dbImage, NAMES.dbImage);
  const databaseName = db.databaseName ?? 'wayshub';
  const user = db.user ?? 'wayshub';
  // Both go into MYSQL_* variables and the DATABASE_URL.
  if (!/^[A-Za-z0-9_]{1,32}$/.test(databaseName)) throw new SettingsError(NAMES.dbName, databaseName, 'allowed: 1 to 32 of letters, digits and _');
  if (!/^[A-Za-z0-9_]{1,32}$/.test(user)) throw new SettingsError(NAMES.dbUser, user, 'allowed: 1 to 32 of letters, digits and _');
  const migrateCommand = db.migrateCommand ?? ['npx', 'sequelize', 'db:migrate'];
  if (migrateCommand.length === 0 || migrateCommand.some((part) => typeof part !== 'string' || part.length === 0 || /[\0\n\r]/.test(part))) {
    throw new SettingsError(NAMES.migrateCommand, migrateCommand, 'allowed: a non-empty single-line command, e.g. npx sequelize db:migrate');
  }
  return { image, databaseName, user, allowDestroy: db.allowDestroy ?? false, migrateCommand: [...migrateCommand] };
}
