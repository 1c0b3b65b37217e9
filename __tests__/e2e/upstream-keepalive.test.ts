// A kept-alive connection between nginx and a replica must never be closed by the replica
// first: nginx could write a request on it at that very moment, and a POST it has already sent
// is not retried (the client gets a 502). Node's http server closes an idle connection after
// 5 s (server.keepAliveTimeout), so the proxy closes its idle upstream connections after 2 s.
// Here the real nginx, with the config the renderer writes, talks to a Node server with Node's
// defaults, and the server logs who closed each connection.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { NGINX_CONF_PATH, renderNginxConfig } from '../../nginx/render';
import { describeE2E } from '../support/e2e-gate';
import { freePort, request, sleep, waitFor } from '../support/http';
import { ensureTestImages } from '../support/test-images';

const PREFIX = 'wayshub-e2e-keepalive';
const NETWORK = `${PREFIX}-net`;
const APP = `${PREFIX}-app`;
const HOST = 'keepalive.localhost';
const log = (line: string) => process.stderr.write(`  [keepalive] ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

// Node's http server with every default (keepAliveTimeout 5 s); it says who closed each connection.
const SERVER = [
  "const server = require('http').createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok')); });",
  "server.on('connection', (socket) => { let byPeer = false; socket.on('end', () => { byPeer = true; });",
  "  socket.on('close', () => console.log(byPeer ? 'closed by the proxy' : 'closed by the app')); });",
  "server.listen(3000, () => console.log('keepAliveTimeout=' + server.keepAliveTimeout));",
].join('\n');

describeE2E('idle connections from the proxy to a Node replica', () => {
  let images: { nginx: string; app: string };
  const started: string[] = [];

  beforeAll(async () => {
    images = await ensureTestImages(log);
    spawnSync('docker', ['rm', '-f', APP], { stdio: 'ignore' });
    spawnSync('docker', ['network', 'rm', NETWORK], { stdio: 'ignore' });
    docker('network', 'create', NETWORK);
    docker('run', '-d', '--name', APP, '--network', NETWORK, '--network-alias', APP, images.app, 'node', '-e', SERVER);
    started.push(APP);
    await waitFor('the Node server to listen', 10_000, () => docker('logs', APP).includes('keepAliveTimeout=5000'));
  }, 600_000);

  afterAll(() => {
    spawnSync('docker', ['rm', '-f', ...started], { stdio: 'ignore' });
    spawnSync('docker', ['network', 'rm', NETWORK], { stdio: 'ignore' });
  });

  /** nginx with the rendered config for this upstream keep-alive timeout, published on a free port. */
  async function proxy(keepaliveTimeoutSeconds: number): Promise<number> {
    const name = `${PREFIX}-proxy-${keepaliveTimeoutSeconds}`;
    const files = renderNginxConfig({
      sites: [
        {
          serverNames: [HOST],
          maxBodySize: '1m',
          connectTimeoutSeconds: 1,
          readTimeoutSeconds: 60,
          nextUpstreamTries: 3,
          nextUpstreamTimeoutSeconds: 10,
          upstream: {
            name: 'ka',
            alias: APP,
            port: 3000,
            loadBalancing: { method: 'round_robin' },
            maxFails: 1,
            failTimeoutSeconds: 5,
            keepalive: 32,
            keepaliveTimeoutSeconds,
          },
        },
      ],
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keepalive-nginx-'));
    for (const f of files) {
      fs.mkdirSync(path.join(dir, path.dirname(f.path)), { recursive: true });
      fs.writeFileSync(path.join(dir, f.path), f.content);
    }
    const port = await freePort();
    spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
    const id = docker(
      'create',
      '--name',
      name,
      '--network',
      NETWORK,
      '-p',
      `127.0.0.1:${port}:80`,
      images.nginx,
      'nginx',
      '-c',
      NGINX_CONF_PATH,
      '-g',
      'daemon off;',
    );
    started.push(name);
    docker('cp', `${dir}/etc/.`, `${id}:/etc/`);
    docker('start', id);
    fs.rmSync(dir, { recursive: true, force: true });
    await waitFor('nginx to answer', 10_000, async () => (await request(port, { host: HOST })).status === 200);
    return port;
  }

  /** POSTs with idle pauses around Node's 5 s; returns their statuses and who closed the connections meanwhile. */
  async function postsWithPauses(port: number): Promise<{ statuses: number[]; byProxy: number; byApp: number }> {
    const before = docker('logs', APP);
    const statuses: number[] = [];
    for (const pause of [5200, 4900, 5500]) {
      statuses.push((await request(port, { host: HOST, method: 'POST', body: Buffer.from('{"n":1}') })).status);
      await sleep(pause);
    }
    statuses.push((await request(port, { host: HOST, method: 'POST', body: Buffer.from('{"n":2}') })).status);
    const lines = docker('logs', APP).slice(before.length);
    const count = (what: string) => lines.split(what).length - 1;
    return { statuses, byProxy: count('closed by the proxy'), byApp: count('closed by the app') };
  }

  test('with the default 2 s, nginx closes every idle connection before Node would, and every POST is answered', async () => {
    const result = await postsWithPauses(await proxy(2));
    log(`keepalive_timeout 2s: ${JSON.stringify(result)}`);
    expect(result.statuses).toEqual([200, 200, 200, 200]);
    expect(result.byApp).toBe(0);
    expect(result.byProxy).toBeGreaterThanOrEqual(3);
  });

  test('the check can fail: with 60 s, Node closes the idle connections itself (where a POST can be lost)', async () => {
    const result = await postsWithPauses(await proxy(60));
    log(`keepalive_timeout 60s: ${JSON.stringify(result)}`);
    // The pauses of 5.2 and 5.5 s outlast Node's 5 s; the one of 4.9 s does not.
    expect(result.byApp).toBeGreaterThanOrEqual(2);
  });
});
