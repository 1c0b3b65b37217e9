// The proxy's access log is written in batches (buffer=4k to stdout, for a third more
// throughput; buffer=64k to a file with WAYSHUB_ACCESS_LOG=file: bench/results/). No line may be
// lost or broken for that: every request gets exactly one whole line, within about a second,
// lines still in a buffer are written when nginx stops, and none is lost when the file rotates.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { ACCESS_LOG_ROTATE_MB } from '../../constructs/engines/containers/proxy-container';
import { AccessLog } from '../../constructs/settings';
import { describeE2E } from '../support/e2e-gate';
import { freePort, request, sleep, waitFor } from '../support/http';
import { Deployment, deployStack } from '../support/deploy';
import { synthToDir } from '../support/synth';
import { ensureTestImages } from '../support/test-images';

const DOMAIN = 'wayshub.localhost';
const run = promisify(execFile);
const LOG_FILE = '/var/log/wayshub/access.log';
const log = (line: string) => process.stderr.write(`  [access-log] ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
// The whole line, as log_format wayshub writes it: a line cut or mixed with another fails this.
const WHOLE_LINE =
  /^\S+ - - \[[^\]]+\] "(GET|POST) \/\?run=(\w+)&n=(\d+) HTTP\/1\.1" 200 \d+ "-" "-" host=wayshub\.localhost upstream=[\d.]+:3000 upstream_status=200 upstream_time=[\d.]+ request_time=[\d.]+$/;
const numbered = (lines: readonly string[]) => lines.map((line) => Number(WHOLE_LINE.exec(line)?.[3] ?? -1)).sort((a, b) => a - b);

describeE2E("the proxy's buffered access log", () => {
  describe.each<[AccessLog, string]>([
    ['docker', 'e2elog'],
    ['file', 'e2elogf'],
  ])('WAYSHUB_ACCESS_LOG=%s', (accessLog, name) => {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-access-log-'));
    const proxy = `${name}-proxy`;
    let port: number;
    let deployment: Deployment;

    /**
     * Every line the proxy wrote, where this mode puts them. The file is read where its volume
     * is on this host (the tests' Docker is local): at once, and a stopped proxy's too.
     */
    const allLines = (files = [LOG_FILE]) => {
      if (accessLog === 'docker') return docker('logs', proxy);
      const dir = docker('volume', 'inspect', '-f', '{{.Mountpoint}}', `${proxy}-access-log`).trim();
      return files
        .map((f) => path.join(dir, path.basename(f)))
        .map((onHost) => (fs.existsSync(onHost) ? fs.readFileSync(onHost, 'utf8') : ''))
        .join('');
    };
    /** The lines of one run (requests tagged ?run=<tag>&n=<i>). */
    const linesOf = (tag: string, files?: string[]) =>
      allLines(files)
        .split('\n')
        .filter((line) => line.includes(`run=${tag}&`));

    beforeAll(async () => {
      const images = await ensureTestImages(log);
      port = await freePort();
      deployment = await deployStack(
        synthToDir({ name, domain: DOMAIN, app: { image: images.app, port: 3000 }, proxy: { image: images.nginx, httpPort: port, accessLog } }),
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
      const numbers = numbered(lines);
      log(
        `${accessLog}: ${requests.length} requests (200 POST), ${lines.length} lines, ${numbers.filter((n) => n < 0).length} not whole; the last line ${lastLineMs} ms after the last answer`,
      );
      expect(lines.filter((line) => !WHOLE_LINE.test(line))).toEqual([]);
      expect(numbers).toEqual(requests);
      expect(lastLineMs).toBeLessThanOrEqual(1_500);
      // Each mode writes its lines to one place only.
      if (accessLog === 'file') expect(docker('logs', proxy).includes(`run=${tag}&`)).toBe(false);
    }, 60_000);

    if (accessLog === 'file') {
      test(`the file moves aside past ${ACCESS_LOG_ROTATE_MB} MB while requests go on: no line lost or broken, the new file started empty`, async () => {
        const tag = 'rotate';
        // Whole lines of filler, each write a whole number of them, so no request's line is cut by one.
        const fill = () =>
          run('docker', [
            'exec',
            proxy,
            'sh',
            '-c',
            `yes filler | dd of=${LOG_FILE} bs=917504 count=${Math.ceil(ACCESS_LOG_ROTATE_MB / 0.875) + 1} iflag=fullblock oflag=append conv=notrunc status=none`,
          ]);
        const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
        let sent = 0;
        const statuses: number[] = [];
        const until = Date.now() + 4_000;
        const loops = Array.from({ length: 8 }, async () => {
          while (Date.now() < until) statuses.push((await request(port, { host: DOMAIN, path: `/?run=${tag}&n=${sent++}`, agent })).status);
        });
        await sleep(500);
        await fill();
        const filledAt = Date.now();
        await Promise.all(loops);
        agent.destroy();
        await sleep(1_500);

        const sizes = docker('exec', proxy, 'sh', '-c', `stat -c %s ${LOG_FILE}.1 ${LOG_FILE}`).trim().split('\n').map(Number);
        const before = linesOf(tag, [`${LOG_FILE}.1`]);
        const after = linesOf(tag, [LOG_FILE]);
        log(
          `${sent} requests over 4 s, the file filled past ${ACCESS_LOG_ROTATE_MB} MB ${filledAt - until + 4_000} ms in: ${before.length} lines in the rotated file (${sizes[0]} bytes), ${after.length} in the new one (${sizes[1]} bytes)`,
        );
        expect(statuses.filter((s) => s !== 200)).toEqual([]);
        expect(sizes[0]).toBeGreaterThan(ACCESS_LOG_ROTATE_MB * 1024 * 1024);
        // The new file started empty: it holds this run's lines after the move and nothing else
        // (its size depends on how fast this machine answers: 0.7 to 1.7 MB so far).
        const others = docker('exec', proxy, 'sh', '-c', `grep -c -v 'run=${tag}&' ${LOG_FILE} || true`).trim();
        expect(Number(others)).toBe(0);
        expect(sizes[1]).toBeLessThan(ACCESS_LOG_ROTATE_MB * 1024 * 1024);
        // Rotated in the middle of the run: lines on both sides, every one whole and counted once.
        expect(before.length).toBeGreaterThan(0);
        expect(after.length).toBeGreaterThan(0);
        expect([...before, ...after].filter((line) => !WHOLE_LINE.test(line))).toEqual([]);
        expect(numbered([...before, ...after])).toEqual(Array.from({ length: sent }, (_, n) => n));
      }, 60_000);
    }

    test('lines still in the buffer are written when the proxy stops', async () => {
      const tag = 'stop';
      for (let n = 0; n < 5; n++) expect((await request(port, { host: DOMAIN, path: `/?run=${tag}&n=${n}` })).status).toBe(200);
      // Five lines are far less than a batch: they wait in the workers' buffers (the flush is 1 s away).
      const beforeStop = linesOf(tag).length;
      docker('stop', proxy);
      const afterStop = linesOf(tag);
      log(`${accessLog}: 5 requests: ${beforeStop} lines before the stop, ${afterStop.length} after it`);
      expect(beforeStop).toBeLessThan(5);
      expect(numbered(afterStop)).toEqual([0, 1, 2, 3, 4]);
    }, 60_000);
  });
});
