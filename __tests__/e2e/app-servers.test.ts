// The bootcamp's own scenario (../shared/seed/task.md): two app servers on two "VMs" behind the
// proxy, `WAYSHUB_APP_SERVERS=<vm1>:3000,<vm2>:3000` with no replicas of our own, and its four
// cases under load: one down, the other down, both down, both back, with no deploy in between.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describeE2E } from '../support/e2e-gate';
import { LoadReport, expectNoFailures, freePort, request, sleep, startLoads, stopLoads, waitFor } from '../support/http';
import { Deployment, deployStack } from '../support/deploy';
import { synthToDir } from '../support/synth';
import { ensureTestImages } from '../support/test-images';
import { AppServerVm } from '../support/vms';

const NAME = 'e2evms';
const DOMAIN = 'wayshub.localhost';
const log = (line: string) => process.stderr.write(`  [app servers] ${line}\n`);

describeE2E(
  'app servers the stack does not run (two VMs)',
  () => {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-vms-'));
    const vms = [new AppServerVm('vm1', 1), new AppServerVm('vm2', 2)];
    let port: number;
    let deployment: Deployment;

    /** Which VMs answer, over enough requests to reach each. */
    async function answering(): Promise<string[]> {
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const r = await request(port, { host: DOMAIN, timeoutMs: 5000 });
        if (r.status === 200) seen.add(r.body.trim());
      }
      return [...seen].sort();
    }

    beforeAll(async () => {
      const images = await ensureTestImages(log);
      for (const vm of vms) vm.create();
      await Promise.all(vms.map((vm) => vm.start()));
      port = await freePort();
      deployment = await deployStack(
        synthToDir({
          name: NAME,
          domain: DOMAIN,
          // An image no one has: with no replica, it is never pulled.
          app: { image: 'wayshub-e2e/not-built:none', servers: vms.map((vm) => `${vm.address}:3000`) },
          proxy: { image: images.nginx, httpPort: port },
        }),
        { workDir, log },
      );
      await deployment.apply({ replicas: 0 });
      await waitFor('both VMs to answer through the proxy', 20_000, async () => (await answering()).length === 2);
    }, 600_000);

    afterAll(async () => {
      await deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
      for (const vm of vms) vm.destroy();
      fs.rmSync(workDir, { recursive: true, force: true });
    });

    /** Load while `during` runs, then a look at who answered. */
    async function underLoad(what: string, during: () => Promise<void>): Promise<Record<string, LoadReport>> {
      const loads = startLoads(port, DOMAIN);
      let reports: Record<string, LoadReport>;
      try {
        await sleep(2000);
        await during();
        await sleep(2000);
      } finally {
        reports = await stopLoads(loads, log, () => '');
      }
      const byVm = Object.values(reports).reduce<Record<string, number>>((acc, r) => {
        for (const [vm, n] of Object.entries(r.byReplica)) acc[vm] = (acc[vm] ?? 0) + n;
        return acc;
      }, {});
      log(`${what}: answered by ${JSON.stringify(byVm)}`);
      return reports;
    }

    test('no image of ours is pulled or run: the VMs alone answer, taking turns', async () => {
      expect(await answering()).toEqual(['vm1', 'vm2']);
      const docker = (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8' });
      expect(docker('ps', '-aq', '--filter', `name=${NAME}-app`).stdout.trim()).toBe('');
      expect(docker('image', 'inspect', 'wayshub-e2e/not-built:none').status).not.toBe(0);
    });

    test.each([0, 1])('VM %i down under load, then back: no request fails, and the other answers meanwhile', async (i) => {
      const [down, other] = [vms[i], vms[1 - i]];
      const reports = await underLoad(`${down.name} down`, async () => {
        await down.stop();
        expect(await answering()).toEqual([other.name]);
        await sleep(3000);
        await down.start();
        // Tried again once its fail_timeout (5 s) is over: no deploy, no reload.
        await waitFor(`${down.name} to answer again`, 15_000, async () => (await answering()).length === 2);
      });
      expectNoFailures(reports);
    });

    test('both down: a plain 502 page at once; both back: served again, no deploy', async () => {
      await Promise.all(vms.map((vm) => vm.stop()));
      const t0 = Date.now();
      const r = await request(port, { host: DOMAIN, timeoutMs: 10_000 });
      log(`both down: HTTP ${r.status} after ${Date.now() - t0} ms`);
      expect(r.status).toBe(502);
      expect(r.body).toContain('502 Bad Gateway');
      await Promise.all(vms.map((vm) => vm.start()));
      const t1 = Date.now();
      await waitFor('both VMs to answer again', 20_000, async () => (await answering()).length === 2);
      log(`both back: served by both again after ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    });
  },
  { namespaces: true },
);
