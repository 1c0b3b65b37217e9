// A deployment with the backend and its database, as a user runs it: synthesize, then apply
// with the secrets in TF_VAR_*; the applies are counted (the migration job runs once each), and
// the backend's API is called through the proxy.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { WayshubSettingsInput } from '../../constructs/settings';
import { request } from './http';
import type { TestImages } from './test-images';
import { Deployment, deployStack } from './deploy';
import { synthToDir } from './synth';

export interface BackendDeploymentProps {
  /** The local apply's work dir: its Terraform state lives there across deploys. */
  workDir: string;
  /** db_password, jwt_private_key, ... */
  secrets: Readonly<Record<string, string>>;
  log: (line: string) => void;
}

/**
 * A stack whose frontend and backend are both the test app (on 3000 and 5000; it answers a POST
 * with the bytes it received), without the stack's database.
 */
export function testAppWithApi(
  name: string,
  domain: string,
  images: TestImages,
  httpPort: number,
  backend: Partial<NonNullable<WayshubSettingsInput['backend']>> = {},
): WayshubSettingsInput {
  return {
    name,
    domain,
    app: { image: images.app },
    backend: { image: images.app, port: 5000, env: { PORT: '5000' }, ...backend },
    database: { enabled: false },
    proxy: { image: images.nginx, httpPort },
  };
}

export class BackendDeployment {
  /** The local apply of the last deploy. */
  deployment?: Deployment;
  /** cdk.tf.json of the last deploy, to check that no secret is in it. */
  stackJson = '';
  /** Applies that completed: as many migration runs. */
  applies = 0;

  constructor(private readonly props: BackendDeploymentProps) {}

  /** The local apply of the last deploy; a test that calls it before any deploy is wrong. */
  get last(): Deployment {
    if (!this.deployment) throw new Error('BackendDeployment: nothing deployed yet');
    return this.deployment;
  }

  /** Synthesizes and applies; `secrets` replaces some of the deployment's secrets for this deploy. */
  async deploy(settings: WayshubSettingsInput, replicas: { replicas: number; backend_replicas: number }, secrets: Readonly<Record<string, string>> = {}) {
    const stackDir = synthToDir(settings);
    this.stackJson = fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8');
    this.deployment = await deployStack(stackDir, { workDir: this.props.workDir, log: this.props.log });
    const result = await this.deployment.apply({ ...this.props.secrets, ...secrets, ...replicas });
    this.applies++;
    return result;
  }
}

/** Calls the backend's API at http://<host>:<port>/api/v1/<route>; the answer is JSON. */
export async function callApi(port: number, host: string, method: string, route: string, body?: string): Promise<{ status: number; json: unknown }> {
  const r = await request(port, { host, method, path: `/api/v1/${route}`, body: body === undefined ? undefined : Buffer.from(body) });
  return { status: r.status, json: JSON.parse(r.body) as unknown };
}
