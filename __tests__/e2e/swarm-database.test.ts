// MySQL with WAYSHUB_ENGINE=swarm on a real single-node swarm: a one-host deployment with rows
// in its database switches to Swarm as the README says (Terraform forgets the data volume,
// destroy, deploy) and keeps its rows; the database task runs on the node labelled
// wayshub.database=true with that volume and reads its password from a Docker secret; only the
// backend's tasks and the migration job reach it; a backend rollout under GET and POST load on
// the database is counted; destroy leaves the volume.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DATABASE_NODE_LABEL, PROXY_NODE_LABEL, WayshubSettingsInput } from '../../constructs/settings';
import { describeE2E } from '../support/e2e-gate';
import { Load, LoadReport, freePort, sleep, stopLoads, waitFor } from '../support/http';
import { BackendDeployment, callApi } from '../support/backend-deployment';
import { ensureAllTestImages } from '../support/test-images';

const NAME = 'e2eswdb';
const DOMAIN = 'wayshub.localhost';
const API = `api.${DOMAIN}`;
const VOLUME = `${NAME}-db-data`;
const SECRETS = { db_password: 'swarm p@ss+word#1', jwt_private_key: 'e2e-jwt-private-key-0123456789' };
const log = (line: string) => process.stderr.write(`  [swarm-db] ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const serviceLogs = (service: string) => (seconds: number) => {
  const r = spawnSync('docker', ['service', 'logs', '--raw', '--since', `${seconds}s`, service], { encoding: 'utf8', timeout: 15_000 });
  return `${r.stdout}\n${r.stderr}`;
};
/** The container of a service's running task (one node: it is here). */
const taskContainer = (service: string) => docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`).split('\n')[0];

describeE2E('MySQL in Swarm mode (WAYSHUB_ENGINE=swarm) on a single-node swarm', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-swarm-db-'));
  let initialized = false;
  let node = '';
  let port: number;
  let base: WayshubSettingsInput;
  const stack = new BackendDeployment({ workDir, secrets: SECRETS, log });
  const deploy = (settings: Partial<WayshubSettingsInput>, backendReplicas = 2) =>
    stack.deploy({ ...base, ...settings }, { replicas: 1, backend_replicas: backendReplicas });
  const api = (method: string, route: string, body?: string) => callApi(port, API, method, route, body);
  const apiAnswers = () =>
    waitFor('the API to answer from the database', 60_000, async () => (await api('GET', 'rows').catch(() => ({ status: 0 }))).status === 200);

  beforeAll(async () => {
    const images = await ensureAllTestImages(log);
    if (docker('info', '--format', '{{.Swarm.LocalNodeState}}') !== 'active') {
      docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
      initialized = true;
    }
    node = docker('info', '--format', '{{.Swarm.NodeID}}');
    docker('node', 'update', '--label-add', `${PROXY_NODE_LABEL}=true`, '--label-add', `${DATABASE_NODE_LABEL}=true`, node);
    port = await freePort();
    base = {
      name: NAME,
      domain: DOMAIN,
      engine: 'swarm',
      app: { image: images.app, port: 3000 },
      backend: { image: images.backend, port: 5000, env: { TZ: 'Asia/Jakarta' } },
      database: { image: images.db, migrateCommand: ['node', '/app/backend.js', 'migrate'] },
      proxy: { image: images.nginx, httpPort: port },
    };
    // A running one-host deployment with a row in its database: the first test switches it.
    await deploy({ engine: 'containers' }, 1);
    await apiAnswers();
    expect((await api('POST', 'rows', 'written on one host')).status).toBe(201);
  }, 600_000);

  afterAll(async () => {
    await stack.deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    // With Swarm the volume is the node's, outside Terraform: the test removes its own.
    spawnSync('docker', ['volume', 'rm', VOLUME], { stdio: 'ignore' });
    // And the backups volume the one-host deployment made (no destroy deletes it).
    spawnSync('docker', ['volume', 'rm', `${NAME}-db-backups`], { stdio: 'ignore' });
    if (initialized) spawnSync('docker', ['swarm', 'leave', '--force'], { stdio: 'ignore' });
    else spawnSync('docker', ['node', 'update', '--label-rm', DATABASE_NODE_LABEL, node], { stdio: 'ignore' });
    fs.rmSync(workDir, { recursive: true, force: true });
  }, 180_000);

  test('a one-host deployment switches as the README says (state rm of the volume, destroy, deploy) and keeps its rows', async () => {
    const t0 = Date.now();
    await stack.last.forget('docker_volume.db_data');
    await stack.last.destroy();
    expect(docker('volume', 'ls', '-q', '--filter', `name=^${VOLUME}$`)).toBe(VOLUME);
    const result = await deploy({});
    await apiAnswers();
    log(`switch with the database (state rm, destroy, deploy): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(result.outputs).toMatchObject({ database_service: `${NAME}-db`, database_volume: VOLUME, backend_service_name: `${NAME}-backend` });
    expect(docker('ps', '-a', '--filter', `name=^${NAME}-db$`, '--format', '{{.Names}}')).toBe('');
    expect((await api('GET', 'rows')).json).toEqual([expect.objectContaining({ value: 'written on one host' })]);
    // One migration per apply, the one-host apply's included: the same database.
    expect((await api('GET', 'migrations')).json).toEqual({ count: stack.applies });
  });

  test('the database task runs on the labelled node with its volume and reads the password from a Docker secret; no spec and no cdk.tf.json holds it', () => {
    const spec = JSON.parse(docker('service', 'inspect', '-f', '{{json .Spec.TaskTemplate}}', `${NAME}-db`)) as {
      ContainerSpec: { Env: string[]; Mounts: { Source: string; Target: string }[] };
      Placement: { Constraints: string[] };
    };
    expect(spec.Placement.Constraints).toEqual([`node.labels.${DATABASE_NODE_LABEL} == true`]);
    expect(spec.ContainerSpec.Mounts).toEqual([expect.objectContaining({ Source: VOLUME, Target: '/var/lib/mysql' })]);
    expect(spec.ContainerSpec.Env).toContain('MYSQL_PASSWORD_FILE=/run/secrets/db-password');
    expect(spec.ContainerSpec.Env.join('\n')).not.toContain(SECRETS.db_password);
    const db = taskContainer(`${NAME}-db`);
    expect(docker('exec', db, 'cat', '/run/secrets/db-password')).toBe(SECRETS.db_password);
    expect(docker('inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', db)).toBe(VOLUME);
    expect(stack.stackJson).not.toContain(SECRETS.db_password);
    expect(stack.stackJson).not.toContain(SECRETS.jwt_private_key);
  });

  test("only the backend's tasks and the migration job reach the database: not the proxy, not the frontend", () => {
    for (const service of [`${NAME}-proxy`, `${NAME}-app`]) {
      expect(spawnSync('docker', ['exec', taskContainer(service), 'getent', 'hosts', `${NAME}-db`]).status).not.toBe(0);
    }
    expect(spawnSync('docker', ['exec', taskContainer(`${NAME}-backend`), 'getent', 'hosts', `${NAME}-db`]).status).toBe(0);
    expect(docker('network', 'inspect', '-f', '{{.Driver}} {{.Internal}} {{.Attachable}}', `${NAME}-db-net`)).toBe('overlay true true');
  });

  test('a backend change rolls its tasks one by one under GET and POST load on the database; the migration runs first', async () => {
    const loads = {
      'GET (a query)': new Load(port, API, 40, { path: '/api/v1/migrations' }),
      'POST (an insert)': new Load(port, API, 10, { path: '/api/v1/rows', post: Buffer.from('under load'), okStatus: 201 }),
    };
    let reports: Record<string, LoadReport>;
    const t0 = Date.now();
    try {
      await sleep(2000);
      await deploy({ backend: { ...base.backend, env: { TZ: 'UTC' } } });
      await sleep(3000);
    } finally {
      reports = await stopLoads(loads, log, serviceLogs(`${NAME}-proxy`));
    }
    log(`backend rollout with the database: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const tz = docker('service', 'inspect', '-f', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}', `${NAME}-backend`);
    expect(tz).toContain('TZ=UTC');
    expect((await api('GET', 'migrations')).json).toEqual({ count: stack.applies });
    for (const r of Object.values(reports)) {
      expect(r.failures).toEqual([]);
      expect(r.ok).toBe(r.sent);
    }
    const rows = (await api('GET', 'rows')).json as unknown[];
    expect(rows).toHaveLength(1 + reports['POST (an insert)'].ok);
  });

  test('destroy removes the services, the secret and the networks; the data volume stays on its node', async () => {
    await stack.last.destroy();
    expect(docker('service', 'ls', '-q', '--filter', `label=wayshub.stack=${NAME}`)).toBe('');
    expect(docker('secret', 'ls', '-q', '--filter', `name=${NAME}-db-password`)).toBe('');
    expect(docker('network', 'ls', '-q', '--filter', `name=${NAME}-`)).toBe('');
    expect(docker('volume', 'ls', '-q', '--filter', `name=^${VOLUME}$`)).toBe(VOLUME);
  });
});
