// `npm run backup` and `npm run restore`: the database's backups, from the machine you deploy
// from. Both talk to the Docker host the docker CLI reaches (DOCKER_HOST, as for `cdktf deploy`)
// and run the backup container's own script there (constructs/engines/containers/backup/).
//
//   npm run backup                            one backup now (copied to S3 too, when that is on)
//   npm run backup -- --list [--from-s3]      the backups, newest first
//   npm run restore -- NAME|latest --yes      replace the database's data with a backup
//   npm run restore -- NAME|latest --scratch  into the scratch database, to look first
//   npm run restore -- latest --from-s3 ...   a backup from the S3 bucket
//   ... --stack NAME                          which stack, when the host runs several
import { spawnSync } from 'node:child_process';

const USAGE = `usage:
  npm run backup [-- --list [--from-s3]] [--stack NAME]
  npm run restore -- NAME|latest (--yes | --scratch) [--from-s3] [--stack NAME]`;

function fail(message: string, code = 1): never {
  console.error(`wayshub: ${message}`);
  process.exit(code);
}

interface Options {
  command: 'backup' | 'restore';
  list: boolean;
  fromS3: boolean;
  scratch: boolean;
  yes: boolean;
  stack?: string;
  backup?: string;
}

export function parseArgs(argv: readonly string[]): Options {
  const [command, ...rest] = argv;
  if (command !== 'backup' && command !== 'restore') fail(`the first word is backup or restore, not ${JSON.stringify(command)}\n${USAGE}`, 2);
  const options: Options = { command, list: false, fromS3: false, scratch: false, yes: false };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--list') options.list = true;
    else if (arg === '--from-s3') options.fromS3 = true;
    else if (arg === '--scratch' && command === 'restore') options.scratch = true;
    else if (arg === '--yes' && command === 'restore') options.yes = true;
    else if (arg === '--stack') {
      options.stack = rest[++i];
      if (!options.stack || !/^[a-z][a-z0-9-]{0,29}$/.test(options.stack))
        fail(`--stack needs a stack's name (its WAYSHUB name, e.g. wayshub), got ${JSON.stringify(options.stack ?? '')}`, 2);
    } else if (command === 'restore' && !arg.startsWith('-') && options.backup === undefined) options.backup = arg;
    else fail(`${JSON.stringify(arg)}: not an option here\n${USAGE}`, 2);
  }
  if (command === 'restore' && !options.list) {
    if (options.backup === undefined) fail(`which backup? give its name (npm run backup -- --list) or latest\n${USAGE}`, 2);
    if (!/^(latest|[A-Za-z0-9_]+-[0-9]{8}T[0-9]{6}Z\.sql\.gz)$/.test(options.backup))
      fail(`${JSON.stringify(options.backup)}: not a backup name (npm run backup -- --list shows them)`, 2);
    if (!options.yes && !options.scratch) {
      fail(
        `a restore replaces every table of the running database with the backup's (what is there now is backed up first); run again with --yes, or with --scratch to restore into the scratch database and look first`,
      );
    }
  }
  return options;
}

/** The one container of a role on the Docker host, of the chosen stack. */
function container(role: string, stack: string | undefined, what: string): { name: string; stack: string } {
  const args = [
    'ps',
    '--filter',
    `label=wayshub.role=${role}`,
    ...(stack ? ['--filter', `label=wayshub.stack=${stack}`] : []),
    '--format',
    '{{.Names}} {{.Label "wayshub.stack"}}',
  ];
  const listed = spawnSync('docker', args, { encoding: 'utf8' });
  if (listed.error || listed.status !== 0) {
    fail(
      `docker ps failed: ${(listed.stderr || String(listed.error)).trim()}; is DOCKER_HOST (${process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'}) the stack's Docker host?`,
    );
  }
  const found = listed.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => ({ name: line.split(' ')[0], stack: line.split(' ')[1] ?? '' }));
  if (found.length === 0) {
    fail(
      `no ${what} runs on this Docker host${stack ? ` for the stack ${stack}` : ''}; deploy with the database${role === 'backup-s3' ? ' and WAYSHUB_BACKUP_S3 set' : ''} first (WAYSHUB_BACKUP is on by default)`,
    );
  }
  if (found.length > 1) fail(`several stacks have a ${what} here (${found.map((f) => f.stack).join(', ')}): choose one with --stack NAME`);
  return found[0];
}

/** Runs a script in a container, its output streamed as it comes; returns its exit status. */
function exec(name: string, args: readonly string[]): number {
  const run = spawnSync('docker', ['exec', name, ...args], { stdio: 'inherit' });
  return run.status ?? 1;
}

function main(): void {
  const options = parseArgs(process.argv.slice(2));
  const backup = container('backup', options.stack, 'backup container');
  const stack = options.stack ?? backup.stack;
  const s3 = () => container('backup-s3', stack, 'S3 copier').name;
  const backupScript = ['bash', '/wayshub/backup.sh'];
  const s3Script = ['sh', '/wayshub/s3-copy.sh'];

  if (options.list) process.exit(options.fromS3 ? exec(s3(), [...s3Script, 'list']) : exec(backup.name, [...backupScript, 'list']));

  if (options.command === 'backup') {
    const status = exec(backup.name, [...backupScript, 'now']);
    if (status !== 0) process.exit(status);
    // With S3 on, the new backup is there before this returns.
    const copier = spawnSync('docker', ['ps', '-q', '--filter', 'label=wayshub.role=backup-s3', '--filter', `label=wayshub.stack=${stack}`], {
      encoding: 'utf8',
    });
    if (copier.stdout.trim()) process.exit(exec(s3(), [...s3Script, 'sync']));
    return;
  }

  let wanted = options.backup as string;
  if (options.fromS3) {
    // Downloaded into the backup volume (from-s3/), where the restore finds it and checks it.
    const fetched = spawnSync('docker', ['exec', s3(), ...s3Script, 'fetch', wanted], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (fetched.status !== 0) process.exit(fetched.status ?? 1);
    wanted = fetched.stdout.trim().split('\n').pop() ?? '';
  }
  process.exit(exec(backup.name, [...backupScript, 'restore', wanted, ...(options.scratch ? ['--scratch'] : [])]));
}

if (require.main === module) main();
