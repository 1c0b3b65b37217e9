// The database's backups as a user meets them: rows written through api.<domain>, `npm run
// backup`, the data volume destroyed, `npm run restore`, and the same rows read back through the
// API; the drill's scratch database; a copy in S3 (s3rver, started by scripts/s3-up.sh) that a
// restore uses once the backup volume is lost; a failure that turns the container unhealthy.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { WayshubSettingsInput } from '../../constructs/settings';
import { describeE2E } from '../support/e2e-gate';
import { freePort, replicasAnswering, waitFor } from '../support/http';
import { BackendDeployment, callApi } from '../support/backend-deployment';
import { ensureAllTestImages } from '../support/test-images';
import { replicaNames } from '../support/replicas';
import { TEST_S3, ensureRcloneImage } from '../support/s3';
import { Prometheus, ensureMetricsImage, repositoryConfig, repositoryDashboard, startPrometheus } from '../support/prometheus';
import { promql } from '../../scripts/dashboard-picture/spec';

const NAME = 'e2ebk';
const DOMAIN = 'wayshub.localhost';
const API = `api.${DOMAIN}`;
const ROWS = 200;
const PREFIX = `e2e-${process.pid}-${Date.now()}`;
const SECRETS = {
  db_password: 'p@ss w/rd?#1+"e2e\\:%',
  jwt_private_key: 'e2e-jwt-private-key-0123456789',
  backup_s3_access_key_id: TEST_S3.accessKeyId,
  backup_s3_secret_access_key: TEST_S3.secretAccessKey,
};
const log = (line: string) => process.stderr.write(`  [backups] ${line}\n`);
const docker = (...args: string[]) => {
  const run = spawnSync('docker', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`docker ${args.join(' ')}: ${run.stderr.trim()}`);
  return run.stdout.trim();
};
const ROOT = path.join(__dirname, '../..');

/**
 * This machine's address on Docker's default bridge. Docker leaves the gateway out of the
 * bridge's IPAM config when its interface already had an address as the daemon started (found on
 * a machine whose docker0 outlived a daemon): then it is the interface's own.
 */
function bridgeAddress(): string {
  const gateway = docker('network', 'inspect', 'bridge', '-f', '{{(index .IPAM.Config 0).Gateway}}');
  if (gateway) return gateway;
  const name = docker('network', 'inspect', 'bridge', '-f', '{{index .Options "com.docker.network.bridge.name"}}') || 'docker0';
  const shown = spawnSync('ip', ['-4', '-o', 'addr', 'show', name], { encoding: 'utf8' });
  const address = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(shown.stdout)?.[1];
  if (!address)
    throw new Error(
      `Docker's default bridge names no gateway and ${name} has no IPv4 address (ip: ${shown.stderr.trim() || shown.stdout.trim()}): how do containers reach this machine?`,
    );
  return address;
}

/** `npm run backup|restore -- args` as a user runs it; its output, status and time. */
function npm(script: 'backup' | 'restore', ...args: string[]): { status: number; output: string; seconds: number } {
  const started = Date.now();
  const run = spawnSync('npm', ['run', '-s', script, '--', ...args, '--stack', NAME], { cwd: ROOT, encoding: 'utf8' });
  const output = `${run.stdout}${run.stderr}`;
  log(`npm run ${script} -- ${args.join(' ')}: exit ${run.status} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { status: run.status ?? 1, output, seconds: (Date.now() - started) / 1000 };
}

const health = (container: string) => docker('inspect', '-f', '{{.State.Health.Status}}', container);
async function waitForHealth(container: string, wanted: string, ms: number): Promise<number> {
  const started = Date.now();
  while (health(container) !== wanted) {
    if (Date.now() - started > ms) throw new Error(`${container} is ${health(container)}, not ${wanted}, after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return Date.now() - started;
}
const metric = (name: string) => Number(/^(\S+) (\S+)$/m.exec(docker('exec', `${NAME}-backup`, 'grep', `^${name} `, '/backups/.wayshub/metrics.prom'))?.[2]);

describeE2E(
  'backups whose restore is proven',
  () => {
    let port: number;
    let metricsPort: number;
    let metricsImage: string;
    let prometheus: Prometheus | undefined;
    let settings: WayshubSettingsInput;
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-backups-work-'));
    const stack = new BackendDeployment({ workDir, secrets: SECRETS, log });
    const deploy = () => stack.deploy(settings, { replicas: 1, backend_replicas: 2 });
    const api = (method: string, route: string, body?: string) => callApi(port, API, method, route, body);
    const rows = async () => (await api('GET', 'rows')).json as Array<{ id: number; value: string }>;
    let written: Array<{ id: number; value: string }> = [];
    let firstBackup = '';

    beforeAll(async () => {
      const [images, rclone, metrics] = await Promise.all([ensureAllTestImages(log), ensureRcloneImage(log), ensureMetricsImage(log)]);
      metricsImage = metrics;
      port = await freePort();
      metricsPort = await freePort();
      // Containers reach the S3 server on this machine through any address of it: docker0's.
      const hostAddress = bridgeAddress();
      settings = {
        name: NAME,
        domain: DOMAIN,
        app: { image: images.app },
        backend: { image: images.backend, port: 5000 },
        database: { image: images.db, migrateCommand: ['node', '/app/backend.js', 'migrate'] },
        backup: {
          // Far from now: no scheduled run lands between a test's steps (the last test tries the schedule).
          schedule: `${String((new Date().getUTCHours() + 12) % 24).padStart(2, '0')}:00`,
          drill: true,
          s3: { url: `s3://${TEST_S3.bucket}/${PREFIX}`, endpoint: `http://${hostAddress}:${TEST_S3.port}`, image: rclone },
        },
        proxy: { image: images.nginx, httpPort: port },
        // The backups' runs are counted on the proxy's metrics endpoint.
        metrics: { enabled: true, port: metricsPort, image: metricsImage },
      };
    });

    afterAll(async () => {
      await prometheus?.stop();
      if (stack.deployment) {
        await stack.deployment.destroy({ volumes: true }).catch(async () => {
          await stack
            .deploy({ ...settings, database: { ...settings.database, allowDestroy: true } }, { replicas: 1, backend_replicas: 1 })
            .catch(() => undefined);
          await stack.deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
        });
      }
      spawnSync('docker', ['volume', 'rm', '-f', `${NAME}-db-backups`]);
    });

    test(`${ROWS} rows written through the API come back after the data volume is destroyed and the backup restored`, async () => {
      const result = await deploy();
      expect(result.outputs).toMatchObject({ backup_container: `${NAME}-backup`, backup_volume: `${NAME}-db-backups` });
      await replicasAnswering(port, API, replicaNames(NAME, 'backend').slice(0, 2), 20_000);
      // Quotes, backslashes, a newline and non-Latin text: the dump must keep them byte for byte.
      for (let i = 0; i < ROWS; i++) expect((await api('POST', 'rows', `row ${i}: 'quoted' "double" \\ back\nslash, Bahasa: ayo! 日本 ${i}`)).status).toBe(201);
      written = await rows();
      expect(written).toHaveLength(ROWS);

      const backup = npm('backup');
      expect(backup.status).toBe(0);
      const name = /backed up (\S+\.sql\.gz): (\d+) bytes/.exec(backup.output);
      expect(name).not.toBeNull();
      log(`backup: ${name?.[1]}, ${name?.[2]} bytes, npm run backup took ${backup.seconds.toFixed(1)} s (with the drill and the copy to S3)`);
      expect(backup.output).toMatch(/drill: passed, \d+ tables; rows: .*rows=200/);
      firstBackup = name?.[1] ?? '';
      expect(docker('exec', `${NAME}-backup`, 'sh', '-c', `cd /backups && sha256sum -c ${firstBackup}.sha256`)).toBe(`${firstBackup}: OK`);

      // What a broken disk does: the database's container and data volume are gone.
      docker('rm', '-f', `${NAME}-db`);
      docker('volume', 'rm', `${NAME}-db-data`);
      await deploy();
      await replicasAnswering(port, API, replicaNames(NAME, 'backend').slice(0, 2), 30_000);
      expect(await rows()).toEqual([]);

      const restore = npm('restore', 'latest', '--yes');
      expect(restore.status).toBe(0);
      expect(restore.output).toContain(`loading ${firstBackup} into database wayshub at ${NAME}-db`);
      const back = await rows();
      log(
        `restore: ${back.length} of ${written.length} rows back through the API, npm run restore took ${restore.seconds.toFixed(1)} s (with its safety backup)`,
      );
      expect(back).toEqual(written);
    });

    test('a restore without --yes changes nothing and says how; a bad name is refused', () => {
      const unconfirmed = npm('restore', 'latest');
      expect(unconfirmed.status).toBe(1);
      expect(unconfirmed.output).toContain('run again with --yes, or with --scratch');
      const bad = npm('restore', 'wayshub;reboot', '--yes');
      expect(bad.status).toBe(2);
      expect(bad.output).toContain('"wayshub;reboot": not a backup name');
    });

    test('--scratch restores into the scratch database and leaves the running one alone', async () => {
      // The list has the first backup, and the restore's safety backup (of the empty database) after it.
      const listed = npm('backup', '--list').output.trim().split('\n');
      expect(listed).toHaveLength(2);
      expect(listed[1]).toMatch(new RegExp(`^${firstBackup.replace(/\./g, '\\.')} \\d+ bytes$`));
      const restore = npm('restore', firstBackup, '--scratch');
      expect(restore.status).toBe(0);
      expect(restore.output).toContain(`into database wayshub at ${NAME}-db-scratch`);
      expect(restore.output).toContain(`inspect it with: docker exec -it ${NAME}-db-scratch`);
      const counted = docker(
        'exec',
        '-e',
        `MYSQL_PWD=${SECRETS.db_password}`,
        `${NAME}-db-scratch`,
        'mariadb',
        '-u',
        'wayshub',
        '-N',
        'wayshub',
        '-e',
        'SELECT COUNT(*) FROM `rows`',
      );
      expect(Number(counted)).toBe(ROWS);
      expect(await rows()).toEqual(written);
    });

    test('the bucket has each backup with a matching hash; with the backup volume lost, the newest comes back from it', async () => {
      expect((await api('POST', 'rows', 'written after the first backup')).status).toBe(201);
      const newest = await rows();
      expect(npm('backup').status).toBe(0);
      const inBucket = npm('backup', '--list', '--from-s3');
      expect(inBucket.status).toBe(0);
      const local = npm('backup', '--list')
        .output.trim()
        .split('\n')
        .map((line) => line.split(' ')[0]);
      expect(inBucket.output.trim().split('\n')).toEqual(expect.arrayContaining(local));
      // The S3 server's own copy is the same file as the volume's.
      const sha = (file: string) => docker('exec', `${NAME}-backup`, 'sha256sum', `/backups/${file}`).split(' ')[0];
      const served = spawnSync('curl', ['-sf', `http://127.0.0.1:${TEST_S3.port}/${TEST_S3.bucket}/${PREFIX}/${local[0]}.sha256`], { encoding: 'utf8' });
      expect(served.stdout.split(' ')[0]).toBe(sha(local[0]));

      // The volume's backups are gone, and a bad migration emptied the table.
      docker('exec', `${NAME}-backup`, 'sh', '-c', 'rm -f /backups/*.sql.gz /backups/*.sql.gz.sha256');
      docker('exec', '-e', `MYSQL_PWD=${SECRETS.db_password}`, `${NAME}-db`, 'mariadb', '-u', 'wayshub', 'wayshub', '-e', 'DELETE FROM `rows`');
      expect(await rows()).toEqual([]);
      const restore = npm('restore', 'latest', '--from-s3', '--yes');
      expect(restore.status).toBe(0);
      expect(restore.output).toContain(`fetching ${local[0]} from s3:${TEST_S3.bucket}/${PREFIX}`);
      const back = await rows();
      log(`restore from S3: ${back.length} of ${newest.length} rows back, npm run restore took ${restore.seconds.toFixed(1)} s`);
      expect(back).toEqual(newest);
      // A sync after the loss deletes nothing in the bucket: it copies, and keeps its own retention.
      expect(docker('exec', `${NAME}-backup-s3`, 'sh', '/wayshub/s3-copy.sh', 'sync')).toContain('synced');
      expect(npm('backup', '--list', '--from-s3').output).toContain(local[0]);
    });

    test('a failed backup is loud: a non-zero exit with the reason, an unhealthy container, a failure counted and alerted; the next good one heals it', async () => {
      // A real Prometheus with the repository's scrape config and alerts.
      prometheus = await startPrometheus(metricsImage, await repositoryConfig(metricsPort), await freePort());
      const p = prometheus;
      const counted = (result: string) => p.value(`wayshub_backup_runs_total{database="wayshub", result="${result}"}`);
      const lastOk = () => p.value('min(wayshub_backup_last_run_ok * wayshub_backup_drill_last_ok)');
      const firing = async () => (await p.query('ALERTS{alertname="WayshubBackupFailed", alertstate="firing"}')).length;
      /** Waits until Prometheus has these counts and this many alerts firing; how long it took. */
      const prometheusHas = (what: string, wanted: { ok: number; failed: number; lastOk: number; firing: number }) =>
        waitFor(what, 30_000, async () => {
          const has = { ok: await counted('ok'), failed: await counted('failed'), lastOk: await lastOk(), firing: await firing() };
          if (JSON.stringify(has) !== JSON.stringify(wanted)) throw new Error(`Prometheus has ${JSON.stringify(has)}, not ${JSON.stringify(wanted)}`);
          return true;
        });
      const failedBefore = metric('wayshub_backup_runs_total{result="failed"}');
      const okBefore = metric('wayshub_backup_runs_total{result="ok"}');
      await prometheusHas('the backups counted as the volume has them', { ok: okBefore, failed: failedBefore, lastOk: 1, firing: 0 });

      // The user's password changed behind the stack's back: every dump is refused.
      const setPassword = (from: string, to: string) =>
        docker(
          'exec',
          '-e',
          `MYSQL_PWD=${from}`,
          `${NAME}-db`,
          'mariadb',
          '-u',
          'wayshub',
          '-e',
          `SET PASSWORD = PASSWORD('${to.replace(/\\/g, '\\\\').replace(/'/g, "''")}')`,
        );
      setPassword(SECRETS.db_password, 'changed-behind-its-back');
      const failed = npm('backup');
      const failedAt = Date.now();
      expect(failed.status).not.toBe(0);
      expect(failed.output).toMatch(/error: the dump failed: .*Access denied for user 'wayshub'/);
      const unhealthyAfter = await waitForHealth(`${NAME}-backup`, 'unhealthy', 40_000);
      log(`a failed backup: the container turned unhealthy ${(unhealthyAfter / 1000).toFixed(0)} s after it`);
      expect(docker('logs', '--tail', '50', `${NAME}-backup`)).toContain('error: the dump failed');
      expect(docker('inspect', '-f', '{{range .State.Health.Log}}{{.Output}}{{end}}', `${NAME}-backup`)).toContain('Access denied');
      expect(metric('wayshub_backup_runs_total{result="failed"}')).toBe(failedBefore + 1);
      expect(metric('wayshub_backup_last_run_ok')).toBe(0);
      await prometheusHas('the failure counted and WayshubBackupFailed firing', {
        ok: okBefore,
        failed: failedBefore + 1,
        lastOk: 0,
        firing: 1,
      });
      log(`a failed backup: counted and WayshubBackupFailed firing in Prometheus ${((Date.now() - failedAt) / 1000).toFixed(1)} s after npm run backup ended`);

      setPassword('changed-behind-its-back', SECRETS.db_password);
      expect(npm('backup').status).toBe(0);
      await waitForHealth(`${NAME}-backup`, 'healthy', 40_000);
      expect(metric('wayshub_backup_last_run_ok')).toBe(1);
      await prometheusHas('the alert ended by the good backup', { ok: okBefore + 1, failed: failedBefore + 1, lastOk: 1, firing: 0 });

      // The dashboard's backup panels have data.
      const dashboard = repositoryDashboard();
      const panels = dashboard.panels.filter((panel) => /^Backups/.test(panel.title));
      expect(panels).toHaveLength(3);
      for (const panel of panels)
        for (const { expr } of panel.targets)
          expect({ panel: panel.title, hasData: (await p.query(promql(expr))).length > 0 }).toEqual({ panel: panel.title, hasData: true });

      // An exporter that restarts serves the same totals: they come from the backups' volume.
      docker('restart', `${NAME}-metrics`);
      const served = async () => {
        const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
          (r) => r.text(),
          () => '',
        );
        return /^wayshub_backup_runs_total\{database="wayshub",result="ok"\} (\d+)/m.exec(text)?.[1];
      };
      await waitFor('the restarted exporter serves the backups again', 30_000, async () => (await served()) === String(okBefore + 1));
    });

    test('`every 1m` backs up on its own, and the destroy leaves the backups volume', async () => {
      await stack.deploy(
        { ...settings, backup: { ...settings.backup, schedule: 'every 1m' }, database: { ...settings.database, allowDestroy: true } },
        { replicas: 1, backend_replicas: 1 },
      );
      const scheduled = /schedule: every 60 s;[^\n]*\n[^\n]*next backup in 60 s\n[^\n]*backing up database/;
      const started = Date.now();
      while (!scheduled.test(docker('logs', `${NAME}-backup`)) && Date.now() - started < 90_000) await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(docker('logs', `${NAME}-backup`)).toMatch(scheduled);
      log(`the first scheduled backup started ${((Date.now() - started) / 1000).toFixed(0)} s after the deploy`);

      await stack.last.destroy({ volumes: true });
      expect(docker('volume', 'ls', '-q', '--filter', `name=^${NAME}-db-data$`)).toBe('');
      expect(docker('volume', 'ls', '-q', '--filter', `name=^${NAME}-db-backups$`)).toBe(`${NAME}-db-backups`);
      stack.deployment = undefined;
    });
  },
  { s3: true },
);
