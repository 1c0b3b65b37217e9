// The proxy's access log is written in batches (access_log ... buffer=4k flush=1s, for a third
// more throughput: bench/results/). No line may be lost or broken for that: every request gets
// exactly one whole line, within about a second, and lines still in a buffer are written when
// nginx stops.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { describeE2E } from '../support/e2e-gate';
import { freePort, request, sleep, waitFor } from '../support/http';
import { Deployment, deployStack } from '../support/deploy';
import { synthToDir } from '../support/synth';
import { ensureTestImages } from '../support/test-images';

const NAME = 'e2elog';
const DOMAIN = 'wayshub.localhost';
const PROXY = `${NAME}-proxy`;
const log = (line: string) => process.stderr.write(`  [access-log] ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
/** The proxy's access-log lines of one run (requests tagged ?run=<tag>&n=<i>). */
const linesOf = (tag: string) =>
  docker('logs', PROXY)
    .split('\n')
    .filter((line) => line.includes(`run=${tag}&`));
// The whole line, as log_format wayshub writes it: a line cut or mixed with another fails this.
const WHOLE_LINE =
  /^\S+ - - \[[^\]]+\] "(GET|POST) \/\?run=(\w+)&n=(\d+) HTTP\/1\.1" 200 \d+ "-" "-" host=wayshub\.localhost upstream=[\d.]+:3000 upstream_status=200 upstream_time=[\d.]+ request_time=[\d.]+$/;

describeE2E("the proxy's buffered access log", () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-access-log-'));
  let port: number;
  let deployment: Deployment;

  beforeAll(async () => {
    const images = await ensureTestImages(log);
    port = await freePort();
    deployment = await deployStack(
      synthToDir({ name: NAME, domain: DOMAIN, app: { image: images.app, port: 3000 }, proxy: { image: images.nginx, httpPort: port } }),
      { workDir, log },
    );
    await deployment.apply({ replicas: 2 });
    await waitFor('the site to answer', 20_000, async () => (await request(port, { host: DOMAIN })).status === 200);
  }, 600_000);

  afterAll(async () => {
    await deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('2,000 GETs and 200 POSTs from 32 connections: each gets exactly one whole line, the last within 1.5 s of its answer', async () => {
    const tag = 'burst';
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    const body = Buffer.alloc(2048, 'x');
    const requests = Array.from({ length: 2200 }, (_, n) => n);
    const statuses = await Promise.all(
      requests.map(
        async (n) => (await request(port, { host: DOMAIN, path: `/?run=${tag}&n=${n}`, agent, ...(n % 11 === 10 ? { method: 'POST', body } : {}) })).status,
      ),
    );
    const answeredAt = Date.now();
    agent.destroy();
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    let lines = linesOf(tag);
    while (lines.length < requests.length && Date.now() - answeredAt < 5_000) {
      await sleep(50);
      lines = linesOf(tag);
    }
    const lastLineMs = Date.now() - answeredAt;
    const numbers = lines.map((line) => Number(WHOLE_LINE.exec(line)?.[3] ?? -1));
    log(
      `${requests.length} requests (200 POST), ${lines.length} lines, ${numbers.filter((n) => n < 0).length} not whole; the last line ${lastLineMs} ms after the last answer`,
    );
    expect(lines.filter((line) => !WHOLE_LINE.test(line))).toEqual([]);
    expect([...numbers].sort((a, b) => a - b)).toEqual(requests);
    expect(lastLineMs).toBeLessThanOrEqual(1_500);
  }, 60_000);

  test('lines still in the buffer are written when the proxy stops', async () => {
    const tag = 'stop';
    for (let n = 0; n < 5; n++) expect((await request(port, { host: DOMAIN, path: `/?run=${tag}&n=${n}` })).status).toBe(200);
    // Five lines are far less than 4k: they wait in the workers' buffers (the flush is 1 s away).
    const beforeStop = linesOf(tag).length;
    docker('stop', PROXY);
    const afterStop = linesOf(tag);
    log(`5 requests: ${beforeStop} lines before the stop, ${afterStop.length} after it`);
    expect(beforeStop).toBeLessThan(5);
    expect(afterStop.map((line) => Number(WHOLE_LINE.exec(line)?.[3])).sort()).toEqual([0, 1, 2, 3, 4]);
  }, 60_000);
});
