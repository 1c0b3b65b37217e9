// The guide's lab (docs/guide.md, section 4), run as a reader would: its own commands, read from
// the guide, with the output it shows. Two things differ, and only these: `cdktf deploy` is the
// local apply (this machine can't download the docker provider), and the commands point at this
// test's stack (e2elab on a free port, so a real `wayshub` deployment on the machine is safe):
// container names, and curl's connection (`--connect-to`; the URL and Host header stay).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { labSteps, matchesExpected } from '../../docs/lab';
import { describeE2E } from '../support/e2e-gate';
import { freePort, request, waitFor } from '../support/http';
import { Deployment, deployStack } from '../support/deploy';
import { synthToDir } from '../support/synth';
import { ensureTestImages } from '../support/test-images';

const NAME = 'e2elab';
const log = (line: string) => process.stderr.write(`  [guide-lab] ${line}\n`);
const GUIDE = path.join(__dirname, '..', '..', 'docs', 'guide.md');

describeE2E("the guide's lab", () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-guide-lab-'));
  let port: number;
  let deployment: Deployment;

  beforeAll(async () => {
    const images = await ensureTestImages(log);
    port = await freePort();
    deployment = await deployStack(
      synthToDir({ name: NAME, domain: 'wayshub.localhost', app: { image: images.app, port: 3000 }, proxy: { image: images.nginx, httpPort: port } }),
      { workDir, log },
    );
  }, 600_000);

  afterAll(async () => {
    await deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  /** A command line of the guide, pointed at this test's stack. */
  const names = (text: string) => text.replace(/\bwayshub-(proxy|net|app-)/g, `${NAME}-$1`);
  // Port 80 of the URL (and so the Host header) stays; curl connects to this stack's port.
  const here = (line: string) => names(line).replace(/\bcurl /g, `curl --connect-to wayshub.localhost:80:127.0.0.1:${port} `);

  test("the lab's commands give the output the guide shows", async () => {
    const steps = labSteps(fs.readFileSync(GUIDE, 'utf8'));
    expect(steps.map((s) => s.name)).toEqual(['exchange', 'deploy', 'wrong-host', 'rotate', 'names', 'addresses', 'kill', 'scale', 'access-log']);
    // Section 1's exchange needs the deployed stack: it runs after the deploy.
    const order = ['deploy', 'exchange', 'wrong-host', 'rotate', 'names', 'addresses', 'kill', 'scale', 'access-log'];
    for (const step of order.map((name) => steps.find((s) => s.name === name)!)) {
      const shell: string[] = [];
      for (const line of step.commands.split('\n')) {
        const deploy = /^npx cdktf deploy --auto-approve(?: --var replicas=(\d+))?$/.exec(line);
        if (!deploy) {
          shell.push(here(line));
          continue;
        }
        await deployment.apply({ replicas: Number(deploy[1] ?? 3) });
        await waitFor('the site to answer', 20_000, async () => (await request(port, { host: 'wayshub.localhost' })).status === 200);
      }
      const r = spawnSync('bash', ['-o', 'pipefail', '-c', shell.join('\n')], { encoding: 'utf8', timeout: 60_000 });
      log(`${step.name}:\n${r.stdout.trimEnd()}`);
      expect({ step: step.name, status: r.status, stderr: r.stderr }).toEqual({ step: step.name, status: 0, stderr: '' });
      expect({ step: step.name, output: r.stdout, matches: matchesExpected(r.stdout, names(step.expected)) }).toEqual({
        step: step.name,
        output: r.stdout,
        matches: true,
      });
      if (step.name === 'rotate') {
        // Round robin over three replicas: three addresses, each twice.
        const addresses = r.stdout.split('\n').filter((line) => line.startsWith('upstream='));
        const counts = [...new Set(addresses)].map((a) => addresses.filter((x) => x === a).length);
        expect(counts).toEqual([2, 2, 2]);
      }
      if (step.name === 'names') {
        // The same, by name: three replicas, each twice.
        const answers = r.stdout.split('\n').filter((line) => line.length > 0);
        expect([...new Set(answers)].map((n) => answers.filter((x) => x === n).length)).toEqual([2, 2, 2]);
      }
    }
  }, 300_000);
});
