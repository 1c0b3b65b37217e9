// The backend at api.<domain> next to the frontend at <domain>, each with its own replica
// count, on a real engine (the test app plays both parts).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { testAppWithApi } from '../support/backend-deployment';
import { describeE2E } from '../support/e2e-gate';
import { freePort, replicasAnswering, request } from '../support/http';
import { Deployment, deployStack } from '../support/deploy';
import { synthToDir } from '../support/synth';
import { ensureTestImages } from '../support/test-images';
import { replica, replicaNames } from '../support/replicas';

const NAME = 'e2eapi';
const DOMAIN = 'wayshub.localhost';
const API = `api.${DOMAIN}`;
const log = (line: string) => process.stderr.write(`  [api] ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
// The backend's secrets as `cdktf deploy` gets them from TF_VAR_backend_secrets: JSON text,
// taken as it is (a "${" is no interpolation). Without the stack's database, the backend's own
// DATABASE_URL is one of them.
const SECRETS = {
  API_KEY: 'e2e-api-key-9f8e7d',
  API_SECRET: 'e2e api secret "quoted" $HOME ${x}',
  DATABASE_URL: 'mysql://wayshub:e2e-own-db-pw@db.alvin.xyz:3306/wayshub',
};
const JWT = { jwt_private_key: 'e2e-jwt-private-key-0123456789', backend_secrets: JSON.stringify(SECRETS) };
// The first n replicas of a tier in its current revision (`<name>-backend-<revision>-<n>`).
const names = (role: 'app' | 'backend', n: number) => replicaNames(NAME, role).slice(0, n);

describeE2E('frontend at <domain> and backend at api.<domain>', () => {
  let port: number;
  let deployment: Deployment;
  let stackJson = '';

  beforeAll(async () => {
    const images = await ensureTestImages(log);
    port = await freePort();
    // Without the stack's database: it has its own test (database.test.ts); this one is about routing and scaling.
    const stackDir = synthToDir(testAppWithApi(NAME, DOMAIN, images, port, { secretEnv: ['API_KEY', 'API_SECRET', 'DATABASE_URL'] }));
    stackJson = fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8');
    deployment = await deployStack(stackDir, { workDir: fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-api-work-')), log });
  });

  afterAll(async () => {
    await deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
  });

  test('api.<domain> reaches the backend replicas and <domain> the frontend replicas', async () => {
    const result = await deployment.apply({ ...JWT, replicas: 2, backend_replicas: 2 });
    expect(result.outputs).toMatchObject({
      api_url: `http://${API}:${port}/api/v1`,
      backend_replica_names: names('backend', 2),
      replica_names: names('app', 2),
    });
    await replicasAnswering(port, API, names('backend', 2), 20_000);
    await replicasAnswering(port, DOMAIN, names('app', 2), 20_000);
    for (let i = 0; i < 20; i++) {
      expect((await request(port, { host: API })).body).toMatch(new RegExp(`^${NAME}-backend-\\d{12}-\\d$`));
      expect((await request(port, { host: DOMAIN })).body).toMatch(new RegExp(`^${NAME}-app-\\d{12}-\\d$`));
    }
  });

  test('the frontend replicas are told the public API URL', () => {
    const env = JSON.parse(docker('inspect', '-f', '{{json .Config.Env}}', replica(NAME, 'app', 1))) as string[];
    expect(env).toContain(`REACT_APP_API_URL=http://${API}:${port}/api/v1`);
  });

  test('the backend gets its secret environment from backend_secrets; cdk.tf.json only names it', () => {
    for (const replica of names('backend', 2)) {
      const env = JSON.parse(docker('inspect', '-f', '{{json .Config.Env}}', replica)) as string[];
      expect(env).toEqual(expect.arrayContaining(Object.entries(SECRETS).map(([name, value]) => `${name}=${value}`)));
    }
    expect(stackJson).not.toContain(SECRETS.API_KEY);
    expect(stackJson).not.toContain('e2e-own-db-pw');
    expect(stackJson).not.toContain('e2e api secret');
  });

  test('a missing secret or a short JWT key is refused without printing what was given', async () => {
    const refused = async (vars: Record<string, string>) => {
      const error = await deployment.apply({ ...JWT, ...vars, replicas: 2, backend_replicas: 2 }).then(
        () => undefined,
        (e: unknown) => String(e),
      );
      expect(error).toBeDefined();
      expect(error).not.toContain('only-this-one-key');
      expect(error).not.toContain('short-jwt-key');
      return (error ?? '').replace(/\s+/g, ' ');
    };
    expect(await refused({ backend_secrets: JSON.stringify({ API_KEY: 'only-this-one-key' }) })).toContain(
      'backend_secrets must be a JSON object of strings with exactly these keys: API_KEY, API_SECRET, DATABASE_URL.',
    );
    expect(await refused({ jwt_private_key: 'short-jwt-key' })).toContain('jwt_private_key must be at least 16 characters.');
  });

  test('backend_replicas 2 → 4 → 1 scales only the backend; the proxy and the frontend stay', async () => {
    const keep = [`${NAME}-proxy`, ...names('app', 2)].map((n) => docker('inspect', '-f', '{{.Id}}', n));
    await deployment.apply({ ...JWT, replicas: 2, backend_replicas: 4 });
    await replicasAnswering(port, API, names('backend', 4), 10_000);
    await deployment.apply({ ...JWT, replicas: 2, backend_replicas: 1 });
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add((await request(port, { host: API })).body.trim());
    expect([...seen]).toEqual([replica(NAME, 'backend', 1)]);
    expect([`${NAME}-proxy`, ...names('app', 2)].map((n) => docker('inspect', '-f', '{{.Id}}', n))).toEqual(keep);
  });

  test('backend_replicas=0 is refused by Terraform with its own message', async () => {
    await expect(deployment.apply({ ...JWT, replicas: 2, backend_replicas: 0 })).rejects.toThrow(
      'backend_replicas must be a whole number from 1 to 20, got 0.',
    );
  });
});
