// wayshub is a video site: many uploads at once, each up to its site's limit, must reach the app
// whatever their number, and never fill the proxy's memory or its temp space (a 64 MB tmpfs on a
// read-only root, where nginx used to buffer every body: 16 uploads of 9 MB at once got 500).
// Default settings but the names, the port and the images this machine has.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { containerAccounting } from '../../bench/cgroup';
import { DEFAULTS } from '../../constructs/settings';
import { STREAM_BODY_FROM_BYTES, UPLOAD_RETRY_AFTER_SECONDS } from '../../nginx/render';
import { testAppWithApi } from '../support/backend-deployment';
import { describeE2E } from '../support/e2e-gate';
import { freePort, replicasAnswering } from '../support/http';
import { UploadResult, nginxSizeBytes, upload } from '../support/http/upload';
import { Deployment, deployStack } from '../support/deploy';
import { replicaNames } from '../support/replicas';
import { synthToDir } from '../support/synth';
import { ensureTestImages } from '../support/test-images';

const NAME = 'e2eup';
const DOMAIN = 'wayshub.localhost';
const API = `api.${DOMAIN}`;
const PROXY = `${NAME}-proxy`;
const AT_ONCE = 64;
/** What the proxy may hold for 64 streamed uploads: nginx itself, and 64 buffers of 128 KB. */
const PEAK_BOUND_MB = 64;
const log = (line: string) => process.stderr.write(`  [uploads] ${line}\n`);
const MB = 1024 * 1024;

/** nginx's error lines (not its warnings) since `since`: a proxy error is any of these. */
function proxyErrors(since: Date): string[] {
  const logs = spawnSync('docker', ['logs', '--since', since.toISOString(), PROXY], { encoding: 'utf8' });
  if (logs.status !== 0) throw new Error(`docker logs ${PROXY}: ${logs.stderr}`);
  return `${logs.stdout}\n${logs.stderr}`.split('\n').filter((line) => /\[(error|crit|alert|emerg)\]/.test(line));
}

/** Sends n uploads of `bytes` at once to `host`; reports them as the README's figures do. */
async function uploadsAtOnce(port: number, host: string, n: number, bytes: number) {
  const proxy = containerAccounting(PROXY);
  proxy.resetPeak();
  const since = new Date(Date.now() - 1000);
  const started = Date.now();
  const results: Array<UploadResult | Error> = await Promise.all(Array.from({ length: n }, () => upload(port, { host, bytes }).catch((e: Error) => e)));
  const seconds = (Date.now() - started) / 1000;
  const ok = results.filter((r): r is UploadResult => !(r instanceof Error) && r.status === 200 && (JSON.parse(r.body) as { bytes: number }).bytes === bytes);
  const failures = results.filter((r) => !ok.includes(r as UploadResult)).map((r) => (r instanceof Error ? r.message : `${r.status} ${r.body.slice(0, 80)}`));
  const report = {
    sent: n,
    ok: ok.length,
    failed: failures.length,
    maxLatencyMs: Math.max(...ok.map((r) => r.ms)),
    peakMb: Math.round((proxy.peakBytes() / MB) * 10) / 10,
    errors: proxyErrors(since),
  };
  log(
    `${n} x ${bytes} B to ${host}: sent ${report.sent}, ok ${report.ok}, failed ${report.failed}, max latency ${report.maxLatencyMs} ms, ` +
      `${((n * bytes) / MB / seconds).toFixed(0)} MB/s, proxy peak memory ${report.peakMb} MB, proxy error lines ${report.errors.length}`,
  );
  return { ...report, failures };
}

describeE2E('uploads: many at once, each up to its site limit', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-uploads-'));
  let port: number;
  let deployment: Deployment;

  beforeAll(async () => {
    const images = await ensureTestImages(log);
    port = await freePort();
    deployment = await deployStack(synthToDir(testAppWithApi(NAME, DOMAIN, images, port)), { workDir, log });
    await deployment.apply({ jwt_private_key: 'e2e-uploads-jwt-key' });
    await replicasAnswering(port, API, replicaNames(NAME, 'backend').slice(0, DEFAULTS.backendReplicas), 30_000);
  }, 600_000);

  afterAll(async () => {
    await deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  test(`${AT_ONCE} uploads at the API's limit (${DEFAULTS.apiMaxBodySize}) at once all reach the app, with the proxy's memory bounded`, async () => {
    const r = await uploadsAtOnce(port, API, AT_ONCE, nginxSizeBytes(DEFAULTS.apiMaxBodySize));
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(AT_ONCE);
    expect(r.errors).toEqual([]);
    expect(r.peakMb).toBeLessThan(PEAK_BOUND_MB);
  }, 600_000);

  test(`${AT_ONCE} uploads at the frontend's limit (${DEFAULTS.maxBodySize}) at once all reach the app`, async () => {
    const r = await uploadsAtOnce(port, DOMAIN, AT_ONCE, nginxSizeBytes(DEFAULTS.maxBodySize));
    expect(r.failures).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(r.peakMb).toBeLessThan(PEAK_BOUND_MB);
  }, 300_000);

  test('each site has its own limit: one byte over the frontend limit is 413 there and accepted by the API', async () => {
    const over = nginxSizeBytes(DEFAULTS.maxBodySize) + 1;
    expect((await upload(port, { host: DOMAIN, bytes: over })).status).toBe(413);
    const accepted = await upload(port, { host: API, bytes: over });
    expect(accepted.status).toBe(200);
    // Retry-After is only on the 503 of too many uploads.
    expect(accepted.headers['retry-after']).toBeUndefined();
    expect((await upload(port, { host: API, bytes: nginxSizeBytes(DEFAULTS.apiMaxBodySize) + 1 })).status).toBe(413);
  }, 120_000);

  test('past the uploads the proxy may hold at once, the next gets 503 with Retry-After, and the held ones finish', async () => {
    // One per MiB of the proxy's memory limit; each held open after its first KB.
    const held = DEFAULTS.proxyMemoryMb;
    let release = () => {};
    const released = new Promise<void>((r) => (release = r));
    const bytes = STREAM_BODY_FROM_BYTES * 2;
    const uploads = Array.from({ length: held }, () => upload(port, { host: API, bytes, holdAfter: 1024, release: released }));
    let extra: UploadResult;
    try {
      await new Promise((r) => setTimeout(r, 2000));
      extra = await upload(port, { host: API, bytes });
    } finally {
      release();
    }
    const done = await Promise.all(uploads);
    log(
      `upload ${held + 1} while ${held} are held: ${extra.status}, Retry-After ${String(extra.headers['retry-after'])}; the held ones: ${done.filter((r) => r.status === 200).length} x 200`,
    );
    expect(extra.status).toBe(503);
    expect(extra.headers['retry-after']).toBe(String(UPLOAD_RETRY_AFTER_SECONDS));
    expect(extra.headers['x-content-type-options']).toBe('nosniff');
    expect(extra.body).toContain('send this one again');
    expect(done.filter((r) => r.status === 200)).toHaveLength(held);
    // And the slot of each is free again.
    expect((await upload(port, { host: API, bytes })).status).toBe(200);
  }, 120_000);
});
