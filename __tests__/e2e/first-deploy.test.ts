// A learner's first deploy: no app image given, nothing built. The replicas are the demo app on
// the proxy's own nginx image (here the e2e image stands for nginx:1.30-alpine, as no registry
// is reachable), each answering with its name, and curl in a loop shows them taking turns.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describeE2E } from '../support/e2e-gate';
import { freePort, replicasAnswering, request } from '../support/http';
import { Deployment, deployStack } from '../support/deploy';
import { replicaNames } from '../support/replicas';
import { synthToDir } from '../support/synth';
import { ensureTestImages } from '../support/test-images';

const NAME = 'e2efirst';
const DOMAIN = 'wayshub.localhost';
const log = (line: string) => process.stderr.write(`  [first deploy] ${line}\n`);

describeE2E('a first deploy with nothing built', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-first-'));
  let port: number;
  let deployment: Deployment;

  beforeAll(async () => {
    const images = await ensureTestImages(log);
    port = await freePort();
    // Only what a test must set: its own names and port, and the nginx image it has.
    deployment = await deployStack(synthToDir({ name: NAME, domain: DOMAIN, proxy: { image: images.nginx, httpPort: port } }), { workDir, log });
    await deployment.apply();
  }, 600_000);

  afterAll(async () => {
    await deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('three healthy replicas answer with their names, taking turns', async () => {
    const names = replicaNames(NAME);
    expect(names).toHaveLength(3);
    await replicasAnswering(port, DOMAIN, names, 20_000);
    // Round robin: six requests in a row reach each replica twice.
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push((await request(port, { host: DOMAIN })).body.trim());
    log(`six requests answered by: ${answers.join(' ')}`);
    for (const name of names) expect(answers.filter((a) => a === name)).toHaveLength(2);
  });
});
