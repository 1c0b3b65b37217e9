// The full topology on a real engine: frontend at <domain>, backend at api.<domain>, MySQL
// (MariaDB from Debian) on its own internal network with a persistent volume, and the
// migration job once per apply. A test backend writes and reads rows through the proxy.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { WayshubSettingsInput } from '../../constructs/settings';
import { describeE2E } from '../support/e2e-gate';
import { freePort, replicasAnswering } from '../support/http';
import { BackendDeployment, callApi } from '../support/backend-deployment';
import { ensureAllTestImages } from '../support/test-images';
import { replica, replicaNames } from '../support/replicas';

const NAME = 'e2edb';
const DOMAIN = 'wayshub.localhost';
const API = `api.${DOMAIN}`;
// Characters that must survive DATABASE_URL encoding (a space and a plus among them).
const SECRETS = { db_password: 'p@ss w/rd?#1+e2e:%', jwt_private_key: 'e2e-jwt-private-key-0123456789' };
const log = (line: string) => process.stderr.write(`  [db] ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
// The first n replicas of a tier in its current revision (`<name>-backend-<revision>-<n>`).
const names = (role: 'app' | 'backend', n: number) => replicaNames(NAME, role).slice(0, n);
/** The migration job's container of the last apply (each run has a name of its own). */
function migrateJob(): string {
  const jobs = docker('ps', '-a', '--filter', `name=^${NAME}-migrate-`, '--format', '{{.Names}}').split('\n').filter(Boolean);
  expect(jobs).toHaveLength(1);
  return jobs[0];
}

describeE2E('frontend, backend and MySQL with migrations', () => {
  let port: number;
  let settings: WayshubSettingsInput;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-db-work-'));
  const stack = new BackendDeployment({ workDir, secrets: SECRETS, log });

  /** Synthesizes with these settings and applies, like `cdktf deploy` with the secrets in TF_VAR_*. */
  const deploy = (backendReplicas: number, overrides: Partial<WayshubSettingsInput> = {}) =>
    stack.deploy({ ...settings, ...overrides }, { replicas: 1, backend_replicas: backendReplicas });
  const api = (method: string, route: string, body?: string) => callApi(port, API, method, route, body);

  beforeAll(async () => {
    const images = await ensureAllTestImages(log);
    port = await freePort();
    settings = {
      name: NAME,
      domain: DOMAIN,
      app: { image: images.app },
      backend: { image: images.backend, port: 5000, env: { TZ: 'Asia/Jakarta' } },
      database: { image: images.db, migrateCommand: ['node', '/app/backend.js', 'migrate'] },
      proxy: { image: images.nginx, httpPort: port },
    };
  });

  afterAll(async () => {
    // Data volumes are protected; a test run must not leave one behind.
    await stack.deployment?.destroy({ volumes: true }).catch(async () => {
      await deploy(1, { database: { ...settings.database, allowDestroy: true } }).catch(() => undefined);
      await stack.deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    });
    spawnSync('docker', ['volume', 'rm', '-f', `${NAME}-db-backups`]);
  });

  test('a row written through api.<domain> is read back; <domain> still reaches the frontend', async () => {
    const result = await deploy(2);
    expect(result.outputs).toMatchObject({ database_container: `${NAME}-db`, database_volume: `${NAME}-db-data`, backend_replica_names: names('backend', 2) });
    await replicasAnswering(port, API, names('backend', 2), 20_000);
    await replicasAnswering(port, DOMAIN, names('app', 1), 20_000);

    const created = await api('POST', 'rows', 'hello from alvin.xyz');
    expect(created.status).toBe(201);
    const rows = await api('GET', 'rows');
    expect(rows.json).toEqual([expect.objectContaining({ value: 'hello from alvin.xyz' })]);
  });

  test('the backend gets DATABASE_URL, DB_*, the JWT key and NODE_ENV; no secret is in cdk.tf.json', async () => {
    const config = (await api('GET', 'config')).json;
    expect(config).toMatchObject({
      dbHost: `${NAME}-db`,
      dbPort: 3306,
      dbUser: 'wayshub',
      dbName: 'wayshub',
      nodeEnv: 'production',
      databaseUrlMatches: true,
      jwtKeyLength: SECRETS.jwt_private_key.length,
    });
    expect(stack.stackJson).not.toContain(SECRETS.db_password);
    expect(stack.stackJson).not.toContain(SECRETS.jwt_private_key);
  });

  test("the migration job ran with the backend's environment, backend.env included", () => {
    const envOf = (container: string) =>
      (JSON.parse(docker('inspect', '-f', '{{json .Config.Env}}', container)) as string[]).filter((e) => !/^WAYSHUB_(APPLY_AT|DRAIN_SECONDS)=/.test(e));
    const migrate = envOf(migrateJob());
    expect(migrate).toContain('TZ=Asia/Jakarta');
    expect(migrate).toContain(`DB_PASSWORD=${SECRETS.db_password}`);
    expect(migrate.sort()).toEqual(envOf(replica(NAME, 'backend', 1)).sort());
  });

  test('the database can be reached neither from the proxy nor from the frontend', () => {
    const proxyNets = Object.keys(JSON.parse(docker('inspect', '-f', '{{json .NetworkSettings.Networks}}', `${NAME}-proxy`)) as Record<string, unknown>);
    expect(proxyNets).toEqual([`${NAME}-net`]);
    expect(spawnSync('docker', ['exec', `${NAME}-proxy`, 'getent', 'hosts', `${NAME}-db`]).status).not.toBe(0);
    const probe = spawnSync(
      'docker',
      [
        'exec',
        replica(NAME, 'app', 1),
        'node',
        '-e',
        `require('net').connect(3306, '${NAME}-db').on('connect', () => process.exit(0)).on('error', (e) => { console.log(e.code); process.exit(1); })`,
      ],
      { encoding: 'utf8' },
    );
    expect(probe.status).toBe(1);
    expect(probe.stdout.trim()).toMatch(/ENOTFOUND|EAI_AGAIN/);
    expect(docker('network', 'inspect', '-f', '{{.Internal}}', `${NAME}-db-net`)).toBe('true');
  });

  test('the row survives backend_replicas 2 → 4 → 1 and a re-apply; the migration ran once per apply', async () => {
    await deploy(4);
    await replicasAnswering(port, API, names('backend', 4), 15_000);
    await deploy(1);
    await deploy(1);
    const rows = await api('GET', 'rows');
    expect(rows.json).toEqual([expect.objectContaining({ value: 'hello from alvin.xyz' })]);
    expect((await api('GET', 'migrations')).json).toEqual({ count: stack.applies });
    expect(docker('inspect', '-f', '{{.State.ExitCode}}', migrateJob())).toBe('0');
  });

  test('a failing migration stops the deploy with its message', async () => {
    const failing = { database: { ...settings.database, migrateCommand: ['node', '/app/backend.js', 'migrate', '--fail'] } };
    // Terraform wraps its diagnostics at 80 columns: compared with single spaces.
    const failed = await deploy(1, failing).then(
      () => 'applied',
      (e: Error) => e.message.replace(/\s+/g, ' '),
    );
    expect(failed).toContain('The migration job failed; see its output with: docker logs $(docker ps -lq --filter name=e2edb-migrate-)');
    stack.applies--; // that apply did not complete
  });

  test('a new db_password or database image is refused at plan with one line; the database and its rows stay as they were', async () => {
    const db = docker('inspect', '-f', '{{.Id}}', `${NAME}-db`);
    const refused =
      /The database image, db_password or container settings changed since e2edb-db was created, and the database is never replaced by a deploy .*see "Changing the database" in the README/;
    const newPassword = await stack.deploy({ ...settings }, { replicas: 1, backend_replicas: 1 }, { db_password: 'a-new-password-e2e' }).then(
      () => 'applied',
      (e: Error) => e.message.replace(/\s+/g, ' '),
    );
    log(`a new db_password: ${/The database image[^.]*\./.exec(newPassword)?.[0] ?? newPassword}`);
    expect(newPassword).toMatch(refused);
    expect(newPassword).not.toContain('a-new-password-e2e');
    const newImage = await deploy(1, { database: { ...settings.database, image: `${settings.database?.image ?? ''}-renamed` } }).then(
      () => 'applied',
      (e: Error) => e.message.replace(/\s+/g, ' '),
    );
    expect(newImage).toMatch(refused);
    expect(docker('inspect', '-f', '{{.Id}}', `${NAME}-db`)).toBe(db);
    expect((await api('GET', 'rows')).json).toEqual([expect.objectContaining({ value: 'hello from alvin.xyz' })]);
  });

  test('destroy refuses to delete the data until allowed, then leaves nothing but the backups volume', async () => {
    await deploy(1);
    await expect(stack.last.destroy({ volumes: true })).rejects.toThrow(/prevent_destroy/);
    expect(docker('volume', 'ls', '-q', '--filter', `name=${NAME}-db-data`)).toBe(`${NAME}-db-data`);

    await deploy(1, { database: { ...settings.database, allowDestroy: true } });
    await stack.last.destroy({ volumes: true });
    expect(docker('ps', '-aq', '--filter', `label=wayshub.stack=${NAME}`)).toBe('');
    expect(docker('volume', 'ls', '-q', '--filter', `label=wayshub.stack=${NAME}`)).toBe('');
    // Backups are on by default, in a volume Terraform never manages: even this destroy leaves it.
    expect(docker('volume', 'ls', '-q', '--filter', `name=^${NAME}-db-backups$`)).toBe(`${NAME}-db-backups`);
  });
});
