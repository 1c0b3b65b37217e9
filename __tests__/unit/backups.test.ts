// The database's backups as synthesized: on with the database, their settings checked, the
// secrets only as references, the volume outside Terraform; and the retention rules, run by
// the real shells the scripts run under (bash in the database's image, a POSIX sh in rclone's).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { scheduleForScript, settingsWarnings, withEnvironment } from '../../constructs/settings';
import { refusalOf, settingsFromEnv } from '../support/settings-from-env';
import { synthStack } from '../support/synth';

const SCRIPTS = path.join(__dirname, '../../constructs/engines/containers/backup');
const BACKEND = { WAYSHUB_BACKEND_IMAGE: 'wayshub-backend:1' };
const settingsFrom = (env: Record<string, string>) => settingsFromEnv({ ...BACKEND, ...env });
const refusal = (env: Record<string, string>) => refusalOf({ ...BACKEND, ...env });

describe('settings', () => {
  test('a backend with its database gets daily backups at 03:00 UTC, 7 daily and 4 weekly kept, no drill, no S3', () => {
    expect(settingsFrom({}).backup).toEqual({ schedule: '03:00', keepDaily: 7, keepWeekly: 4, drill: false, s3: undefined });
    expect(settingsFrom({ WAYSHUB_BACKUP: 'off' }).backup).toBeUndefined();
    expect(settingsFrom({ WAYSHUB_DATABASE: 'off' }).backup).toBeUndefined();
  });

  test('the schedule reaches the script as a time of day or seconds', () => {
    expect(scheduleForScript('03:00')).toBe('daily 03:00');
    expect(scheduleForScript('every 30m')).toBe('every 1800');
    expect(scheduleForScript('every 6h')).toBe('every 21600');
  });

  test('S3: the bucket and prefix from the URL, the endpoint without its slash', () => {
    expect(settingsFrom({ WAYSHUB_BACKUP_S3: 's3://alvin-backups/wayshub/db/', WAYSHUB_BACKUP_S3_ENDPOINT: 'http://10.0.0.5:9000/' }).backup?.s3).toEqual({
      url: 's3://alvin-backups/wayshub/db/',
      bucket: 'alvin-backups',
      prefix: 'wayshub/db',
      endpoint: 'http://10.0.0.5:9000',
      region: 'us-east-1',
      image: 'rclone/rclone:1.68.2',
    });
  });

  test.each<[string, Record<string, string>, string]>([
    ['a schedule in cron syntax', { WAYSHUB_BACKUP_SCHEDULE: '0 3 * * *' }, 'invalid backup.schedule (WAYSHUB_BACKUP_SCHEDULE): "0 3 * * *"; allowed: HH:MM'],
    ['an hour that does not exist', { WAYSHUB_BACKUP_SCHEDULE: '24:00' }, 'invalid backup.schedule (WAYSHUB_BACKUP_SCHEDULE): "24:00"'],
    ['seconds', { WAYSHUB_BACKUP_SCHEDULE: 'every 30s' }, 'invalid backup.schedule (WAYSHUB_BACKUP_SCHEDULE): "every 30s"'],
    ['less often than weekly', { WAYSHUB_BACKUP_SCHEDULE: 'every 200h' }, 'up to a week'],
    [
      'no daily backup kept',
      { WAYSHUB_BACKUP_KEEP_DAILY: '0' },
      'invalid backup.keepDaily (WAYSHUB_BACKUP_KEEP_DAILY): 0; allowed: a whole number of days from 1 to 3660',
    ],
    ['weeks as text', { WAYSHUB_BACKUP_KEEP_WEEKLY: 'four' }, 'invalid backup.keepWeekly (WAYSHUB_BACKUP_KEEP_WEEKLY): "four"'],
    ['an S3 URL of another scheme', { WAYSHUB_BACKUP_S3: 'https://alvin-backups.s3.amazonaws.com' }, 'invalid backup.s3.url (WAYSHUB_BACKUP_S3)'],
    ['a bucket in capitals', { WAYSHUB_BACKUP_S3: 's3://Alvin/db' }, 'allowed: s3://bucket/prefix'],
    ['a prefix that climbs', { WAYSHUB_BACKUP_S3: 's3://alvin-backups/../other' }, 'invalid backup.s3.url (WAYSHUB_BACKUP_S3): "s3://alvin-backups/../other"'],
    ['a prefix with a shell word', { WAYSHUB_BACKUP_S3: 's3://alvin-backups/$(reboot)' }, 'invalid backup.s3.url'],
    [
      'an endpoint with a path',
      { WAYSHUB_BACKUP_S3: 's3://b-1/p', WAYSHUB_BACKUP_S3_ENDPOINT: 'https://minio.alvin.xyz/bucket' },
      'invalid backup.s3.endpoint (WAYSHUB_BACKUP_S3_ENDPOINT): "https://minio.alvin.xyz/bucket"',
    ],
    ['an endpoint port out of range', { WAYSHUB_BACKUP_S3: 's3://b-1/p', WAYSHUB_BACKUP_S3_ENDPOINT: 'http://10.0.0.5:99999' }, 'invalid backup.s3.endpoint'],
    ['a region with a space', { WAYSHUB_BACKUP_S3: 's3://b-1/p', WAYSHUB_BACKUP_S3_REGION: 'us east' }, 'invalid backup.s3.region (WAYSHUB_BACKUP_S3_REGION)'],
    [
      'backups with Swarm',
      { WAYSHUB_ENGINE: 'swarm', WAYSHUB_BACKUP: 'on' },
      'invalid backup.enabled (WAYSHUB_BACKUP): true; allowed with WAYSHUB_ENGINE=swarm: off',
    ],
    [
      'a schedule with backups off',
      { WAYSHUB_BACKUP: 'off', WAYSHUB_BACKUP_SCHEDULE: '04:00' },
      'invalid backup.schedule (WAYSHUB_BACKUP_SCHEDULE): "04:00"; it has no effect unless the database on one host',
    ],
  ])('%s is refused with one line', (_what, env, expected) => {
    expect(refusal(env)).toContain(expected);
  });

  test('with Swarm the database has no backups, asking is refused (above), and every synth warns', () => {
    const swarm = settingsFrom({ WAYSHUB_ENGINE: 'swarm' });
    expect(swarm.backup).toBeUndefined();
    expect(settingsWarnings(swarm)).toEqual([expect.stringContaining('with WAYSHUB_ENGINE=swarm the database has no scheduled backups yet')]);
    expect(settingsWarnings(settingsFrom({}))).toEqual([]);
  });
});

describe('as synthesized', () => {
  const { json, text } = synthStack(
    withEnvironment(
      { domain: 'alvin.xyz' },
      {
        ...BACKEND,
        WAYSHUB_BACKUP_DRILL: 'on',
        WAYSHUB_BACKUP_SCHEDULE: 'every 6h',
        WAYSHUB_BACKUP_S3: 's3://alvin-backups/wayshub',
        WAYSHUB_BACKUP_S3_ENDPOINT: 'https://s3.alvin.xyz',
      },
    ),
  );
  const containers = json.resource.docker_container;

  test("the backup container runs the database's image on its network, with the password as a reference only", () => {
    expect(containers.backup).toMatchObject({
      name: 'wayshub-backup',
      image: 'mysql:8.0',
      entrypoint: ['/bin/bash', '/wayshub/backup.sh'],
      command: ['schedule'],
      networks_advanced: [{ name: '${docker_network.db_network.name}' }],
      volumes: [{ volume_name: 'wayshub-db-backups', container_path: '/backups' }],
      healthcheck: expect.objectContaining({ test: ['CMD', 'bash', '/wayshub/backup.sh', 'health'], retries: 1 }),
      capabilities: { drop: ['ALL'] },
      security_opts: ['no-new-privileges:true'],
    });
    expect(containers.backup.env).toEqual([
      'DB_HOST=wayshub-db',
      'DB_NAME=wayshub',
      'DB_USER=wayshub',
      'DB_PASSWORD=${var.db_password}',
      'WAYSHUB_BACKUP_SCHEDULE=every 21600',
      'WAYSHUB_BACKUP_KEEP_DAILY=7',
      'WAYSHUB_BACKUP_KEEP_WEEKLY=4',
      'WAYSHUB_SCRATCH_HOST=wayshub-db-scratch',
    ]);
    // The scripts as uploaded: bash's ${...} escaped from Terraform's interpolation.
    const uploaded = Object.fromEntries((containers.backup.upload as Array<{ file: string; content: string }>).map((u) => [u.file, u.content]));
    expect(Object.keys(uploaded)).toEqual(['/wayshub/backup.sh', '/wayshub/calendar.sh']);
    expect(uploaded['/wayshub/backup.sh']).toContain('--single-transaction');
    expect(uploaded['/wayshub/backup.sh']).not.toMatch(/(^|[^$])\$\{(?!TfToken)/);
  });

  test('the backups volume is no Terraform resource, so no destroy deletes it', () => {
    expect(Object.values(json.resource.docker_volume ?? {}).map((v) => (v as { name: string }).name)).not.toContain('wayshub-db-backups');
    expect(json.output.backup_volume.value).toBe('wayshub-db-backups');
  });

  test('the drill gets a scratch database of the same image and credentials, with no volume', () => {
    expect(containers.backup_scratch).toMatchObject({
      name: 'wayshub-db-scratch',
      image: 'mysql:8.0',
      env: ['MYSQL_DATABASE=wayshub', 'MYSQL_USER=wayshub', 'MYSQL_PASSWORD=${var.db_password}', 'MYSQL_RANDOM_ROOT_PASSWORD=yes'],
      networks_advanced: [{ name: '${docker_network.db_network.name}', aliases: ['wayshub-db-scratch'] }],
    });
    expect(containers.backup_scratch.volumes).toBeUndefined();
  });

  test('the S3 copier: rclone on a network with a way out, keys as sensitive variables checked before apply', () => {
    expect(json.resource.docker_network.backup_egress).toMatchObject({ name: 'wayshub-backup-net', driver: 'bridge' });
    expect(json.resource.docker_network.backup_egress.internal).toBeUndefined();
    expect(containers.backup_s3).toMatchObject({
      name: 'wayshub-backup-s3',
      image: 'rclone/rclone:1.68.2',
      entrypoint: ['/bin/sh', '/wayshub/s3-copy.sh'],
      networks_advanced: [{ name: '${docker_network.backup_egress.name}' }],
      volumes: [{ volume_name: 'wayshub-db-backups', container_path: '/backups' }],
    });
    expect(containers.backup_s3.env).toEqual(
      expect.arrayContaining([
        'WAYSHUB_S3_PATH=alvin-backups/wayshub',
        'RCLONE_CONFIG_S3_PROVIDER=Other',
        'RCLONE_CONFIG_S3_ENDPOINT=https://s3.alvin.xyz',
        'RCLONE_CONFIG_S3_ACCESS_KEY_ID=${var.backup_s3_access_key_id}',
        'RCLONE_CONFIG_S3_SECRET_ACCESS_KEY=${var.backup_s3_secret_access_key}',
      ]),
    );
    for (const key of ['backup_s3_access_key_id', 'backup_s3_secret_access_key']) {
      expect(json.variable[key]).toMatchObject({ type: 'string', sensitive: true });
      expect(json.variable[key].default).toBeUndefined();
    }
    expect((containers.backup_s3 as { lifecycle: { precondition: unknown[] } }).lifecycle.precondition).toHaveLength(2);
    expect(text).not.toMatch(/RCLONE_CONFIG_S3_SECRET_ACCESS_KEY=[^$]/);
  });

  test('AWS needs no endpoint: then rclone is told the provider is AWS', () => {
    const aws = synthStack(withEnvironment({ domain: 'alvin.xyz' }, { ...BACKEND, WAYSHUB_BACKUP_S3: 's3://alvin-backups' })).json;
    expect(aws.resource.docker_container.backup_s3.env).toEqual(expect.arrayContaining(['WAYSHUB_S3_PATH=alvin-backups', 'RCLONE_CONFIG_S3_PROVIDER=AWS']));
    expect(JSON.stringify(aws.resource.docker_container.backup_s3.env)).not.toContain('ENDPOINT');
  });

  test('without a drill or S3 there is the backup container alone', () => {
    const plain = synthStack(withEnvironment({ domain: 'alvin.xyz' }, BACKEND)).json;
    const names = Object.keys(plain.resource.docker_container);
    expect(names).toContain('backup');
    expect(names).not.toContain('backup_scratch');
    expect(names).not.toContain('backup_s3');
    expect(plain.variable.backup_s3_access_key_id).toBeUndefined();
  });
});

describe('the calendar: schedule and retention', () => {
  // The shells the scripts meet: bash (the database's image) and a POSIX sh (dash here; busybox in rclone's image).
  const shells = ['bash', 'sh'];
  const NOW = '2026-12-05T12:00:00Z';
  const at = (iso: string) => Math.floor(Date.parse(iso) / 1000);
  const name = (iso: string) => `wayshub-${iso.replace(/[-:]/g, '').replace(/\.\d+/, '')}.sql.gz`;
  const deleted = (shell: string, names: string[], keepDaily: number, keepWeekly: number, now = NOW): string[] => {
    const run = spawnSync(shell, ['-c', `. "${SCRIPTS}/calendar.sh"; wayshub_retention ${at(now)} ${keepDaily} ${keepWeekly}`], {
      input: names.join('\n') + '\n',
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    return run.stdout.split('\n').filter(Boolean).sort();
  };

  test.each(shells)('%s: days since 1970 agree with the calendar, leap years included', (shell) => {
    for (const day of ['1970-01-01', '2000-02-29', '2024-03-01', '2026-12-05', '2100-03-01']) {
      const run = spawnSync(shell, ['-c', `. "${SCRIPTS}/calendar.sh"; wayshub_days ${day.split('-').join(' ')}`], { encoding: 'utf8' });
      expect(Number(run.stdout)).toBe(Date.parse(`${day}T00:00:00Z`) / 86_400_000);
    }
  });

  test.each(shells)('%s: everything of the last 24 hours, then the newest of each day and week', (shell) => {
    const hourly = Array.from({ length: 30 }, (_, i) => name(new Date(at(NOW) * 1000 - i * 3600_000 - 60_000).toISOString()));
    const daily = Array.from({ length: 40 }, (_, i) => name(new Date(Date.parse('2026-12-03T03:00:00Z') - i * 86_400_000).toISOString()));
    const all = [...new Set([...hourly, ...daily])];
    const gone = deleted(shell, all, 3, 2);
    const kept = all.filter((n) => !gone.includes(n)).sort();
    // The last 24 hours: 24 hourly ones (12:00 back to 12:59 yesterday).
    expect(kept.filter((n) => hourly.slice(0, 24).includes(n))).toHaveLength(24);
    // Days: 12-05 and 12-04 (their newest are among the 24 hours), then 12-03; weeks: this one
    // (from Monday 11-30, its newest among the 24 hours) and the one before, whose newest is Sunday 11-29.
    expect(kept).toContain(name('2026-12-03T03:00:00.000Z'));
    expect(kept).toContain(name('2026-11-29T03:00:00.000Z'));
    expect(kept).not.toContain(name('2026-12-02T03:00:00.000Z'));
    expect(kept).not.toContain(name('2026-11-28T03:00:00.000Z'));
    expect(kept).toHaveLength(24 + 1 + 1);
  });

  test.each(shells)('%s: the next run of a daily time is later today, or tomorrow once it has passed; an interval is itself', (shell) => {
    const next = (now: string, schedule: string) =>
      Number(spawnSync(shell, ['-c', `. "${SCRIPTS}/calendar.sh"; wayshub_next_run_in ${at(now)} "${schedule}"`], { encoding: 'utf8' }).stdout);
    expect(next('2026-12-05T02:59:30Z', 'daily 03:00')).toBe(30);
    expect(next('2026-12-05T03:00:00Z', 'daily 03:00')).toBe(86_400);
    expect(next('2026-12-05T10:00:00Z', 'daily 03:00')).toBe(17 * 3600);
    expect(next('2026-12-31T23:30:00Z', 'daily 00:09')).toBe(39 * 60);
    expect(next('2026-12-05T10:00:00Z', 'every 1800')).toBe(1800);
  });

  test.each(shells)('%s: the newest is kept whatever the settings, and other files are left alone', (shell) => {
    const names = ['wayshub-20260101T030000Z.sql.gz', 'wayshub-20250101T030000Z.sql.gz', 'notes.txt', 'wayshub-20240101T030000Z.sql.gz.sha256'];
    expect(deleted(shell, names, 1, 0)).toEqual(['wayshub-20250101T030000Z.sql.gz']);
  });
});
