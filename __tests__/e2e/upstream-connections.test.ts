// The proxy's connections to its replicas, with the real nginx and the config the renderer
// writes, against Node servers that log what reached them.
//
// Idle connections: a kept-alive connection must never be closed by the replica first: nginx
// could write a request on it at that very moment, and a POST it has already sent is not retried
// (the client gets a 502). Node's http server closes an idle connection after 5 s
// (server.keepAliveTimeout), so the proxy closes its idle upstream connections after 2 s.
//
// Retries: when every try failed, nginx's own 502 sends a GET once more, and a POST only if no
// replica got a byte of it (a scale-down's refused connections, or the replica list changing
// under a request); a POST a replica received is never sent twice.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { NGINX_CONF_PATH, renderNginxConfig } from '../../nginx/render';
import { describeE2E } from '../support/e2e-gate';
import { freePort, request, sleep, waitFor } from '../support/http';
import { ensureTestImages } from '../support/test-images';

const PREFIX = 'wayshub-e2e-upstream';
const NETWORK = `${PREFIX}-net`;
const HOST = 'upstream.localhost';
const log = (line: string) => process.stderr.write(`  [upstream] ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

// Node's http server with every default (keepAliveTimeout 5 s); it says who closed each connection.
const KEEPALIVE_SERVER = [
  "const server = require('http').createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok')); });",
  "server.on('connection', (socket) => { let byPeer = false; socket.on('end', () => { byPeer = true; });",
  "  socket.on('close', () => console.log(byPeer ? 'closed by the proxy' : 'closed by the app')); });",
  "server.listen(3000, () => console.log('keepAliveTimeout=' + server.keepAliveTimeout));",
].join('\n');
// Logs "got <method> [<body>]" for every request that reached it; answers it, or (CUT=1) cuts the
// connection without an answer once the whole request has arrived.
const LOGGING_SERVER = [
  "const server = require('http').createServer((req, res) => { let body = '';",
  "  req.on('data', (c) => { body += c; }); req.on('end', () => { console.log('got ' + req.method + ' [' + body + ']');",
  "    if (process.env.CUT) res.socket.destroy(); else res.end(require('os').hostname()); }); });",
  "server.listen(3000, () => console.log('listening'));",
].join('\n');
// A replica that is going away: nothing listens, every connection is refused.
const NOTHING_LISTENS = 'setInterval(() => {}, 1 << 30)';

describeE2E('the proxy and the connections to its replicas', () => {
  let images: { nginx: string; app: string };
  const started: string[] = [];

  /** A Node container on the network, answering to these aliases. */
  function replica(name: string, script: string, aliases: string[], env: string[] = []): string {
    const full = `${PREFIX}-${name}`;
    spawnSync('docker', ['rm', '-f', full], { stdio: 'ignore' });
    const aliasArgs = aliases.flatMap((a) => ['--network-alias', a]);
    const envArgs = env.flatMap((e) => ['-e', e]);
    docker('run', '-d', '--name', full, '--hostname', full, '--network', NETWORK, ...aliasArgs, ...envArgs, images.app, 'node', '-e', script);
    started.push(full);
    return full;
  }

  beforeAll(async () => {
    images = await ensureTestImages(log);
    spawnSync('docker', ['network', 'rm', NETWORK], { stdio: 'ignore' });
    docker('network', 'create', NETWORK);
  }, 600_000);

  afterAll(() => {
    spawnSync('docker', ['rm', '-f', ...started], { stdio: 'ignore' });
    spawnSync('docker', ['network', 'rm', NETWORK], { stdio: 'ignore' });
  });

  /** nginx with the rendered config for one upstream alias, published on a free port. */
  async function proxy(name: string, upstream: { alias: string; keepaliveTimeoutSeconds: number; nextUpstreamTries: number }): Promise<number> {
    const container = `${PREFIX}-proxy-${name}`;
    const files = renderNginxConfig({
      sites: [
        {
          serverNames: [HOST],
          maxBodySize: '1m',
          connectTimeoutSeconds: 1,
          readTimeoutSeconds: 60,
          nextUpstreamTries: upstream.nextUpstreamTries,
          nextUpstreamTimeoutSeconds: 10,
          upstream: {
            name: 'up',
            alias: upstream.alias,
            port: 3000,
            loadBalancing: { method: 'round_robin' },
            maxFails: 1,
            failTimeoutSeconds: 1,
            keepalive: 32,
            keepaliveTimeoutSeconds: upstream.keepaliveTimeoutSeconds,
          },
        },
      ],
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'upstream-nginx-'));
    for (const f of files) {
      fs.mkdirSync(path.join(dir, path.dirname(f.path)), { recursive: true });
      fs.writeFileSync(path.join(dir, f.path), f.content);
    }
    const port = await freePort();
    spawnSync('docker', ['rm', '-f', container], { stdio: 'ignore' });
    const id = docker(
      'create',
      '--name',
      container,
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
    started.push(container);
    docker('cp', `${dir}/etc/.`, `${id}:/etc/`);
    docker('start', id);
    fs.rmSync(dir, { recursive: true, force: true });
    // Until nginx has resolved the alias (just after it starts) it has no replica at all.
    await waitFor('nginx to answer', 10_000, async () => (await request(port, { host: HOST })).status === 200);
    return port;
  }

  const post = (port: number, body: string) => request(port, { host: HOST, method: 'POST', body: Buffer.from(body) });
  /** The request bodies that reached this container, in order. */
  const received = (container: string, method: string) =>
    docker('logs', container)
      .split('\n')
      .map((line) => new RegExp(`^got ${method} \\[(.*)\\]$`).exec(line)?.[1])
      .filter((body): body is string => body !== undefined);

  describe('idle connections to a Node replica', () => {
    let app: string;
    const ALIAS = `${PREFIX}-keepalive`;

    beforeAll(async () => {
      app = replica('keepalive-app', KEEPALIVE_SERVER, [ALIAS]);
      await waitFor('the Node server to listen', 10_000, () => docker('logs', app).includes('keepAliveTimeout=5000'));
    });

    /** POSTs with idle pauses around Node's 5 s; returns their statuses and who closed the connections meanwhile. */
    async function postsWithPauses(port: number): Promise<{ statuses: number[]; byProxy: number; byApp: number }> {
      const before = docker('logs', app);
      const statuses: number[] = [];
      for (const pause of [5200, 4900, 5500]) {
        statuses.push((await post(port, '{"n":1}')).status);
        await sleep(pause);
      }
      statuses.push((await post(port, '{"n":2}')).status);
      const lines = docker('logs', app).slice(before.length);
      const count = (what: string) => lines.split(what).length - 1;
      return { statuses, byProxy: count('closed by the proxy'), byApp: count('closed by the app') };
    }

    test('with the default 2 s, nginx closes every idle connection before Node would, and every POST is answered', async () => {
      const result = await postsWithPauses(await proxy('keepalive-2', { alias: ALIAS, keepaliveTimeoutSeconds: 2, nextUpstreamTries: 3 }));
      log(`keepalive_timeout 2s: ${JSON.stringify(result)}`);
      expect(result.statuses).toEqual([200, 200, 200, 200]);
      expect(result.byApp).toBe(0);
      expect(result.byProxy).toBeGreaterThanOrEqual(3);
    });

    test('the check can fail: with 60 s, Node closes the idle connections itself (where a POST can be lost)', async () => {
      const result = await postsWithPauses(await proxy('keepalive-60', { alias: ALIAS, keepaliveTimeoutSeconds: 60, nextUpstreamTries: 3 }));
      log(`keepalive_timeout 60s: ${JSON.stringify(result)}`);
      // The pauses of 5.2 and 5.5 s outlast Node's 5 s; the one of 4.9 s does not.
      expect(result.byApp).toBeGreaterThanOrEqual(2);
    });
  });

  // One try per request (proxy_next_upstream_tries 1) makes nginx answer its own 502 at the
  // first failure, as it does when the replica list changes under a request in a scale-down.
  describe("nginx's own 502, sent once more where that is safe", () => {
    /** POSTs one by one, each with its own body, 300 ms apart (a failed replica is skipped 1 s). */
    async function posts(port: number, count: number): Promise<Array<{ body: string; status: number; replica: string }>> {
      const out = [];
      // A replica the readiness check found failing is skipped for 1 s (fail_timeout): wait it out.
      await sleep(1100);
      for (let i = 1; i <= count; i++) {
        const body = `post-${i}`;
        const r = await post(port, body);
        out.push({ body, status: r.status, replica: r.status === 200 ? r.body : '' });
        await sleep(300);
      }
      return out;
    }

    test('a POST that every try found refused (it reached no replica) is sent once more and answered', async () => {
      const alias = `${PREFIX}-refused`;
      const answering = replica('refused-answering', LOGGING_SERVER, [alias]);
      const refusing = replica('refused-refusing', NOTHING_LISTENS, [alias]);
      await waitFor('the answering replica to listen', 10_000, () => docker('logs', answering).includes('listening'));
      const port = await proxy('refused', { alias, keepaliveTimeoutSeconds: 2, nextUpstreamTries: 1 });
      const results = await posts(port, 8);
      // nginx's error log goes to the container's stderr.
      const errorLog = spawnSync('docker', ['logs', `${PREFIX}-proxy-refused`], { encoding: 'utf8' }).stderr;
      const refusedLines = errorLog.split('\n').filter((l) => l.includes('connect() failed (111'));
      log(`every try refused: ${results.map((r) => r.status).join(' ')}; ${refusedLines.length} refused connections`);
      expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
      // The refusing replica was tried (round robin) and each POST reached the other one exactly once.
      expect(refusedLines.length).toBeGreaterThan(0);
      expect(received(answering, 'POST')).toEqual(results.map((r) => r.body));
      expect(received(refusing, 'POST')).toEqual([]);
    });

    test('a POST a replica received and then cut is answered 502 and never sent twice; a GET cut the same way is sent again', async () => {
      const alias = `${PREFIX}-cut`;
      const answering = replica('cut-answering', LOGGING_SERVER, [alias]);
      const cutting = replica('cut-cutting', LOGGING_SERVER, [alias], ['CUT=1']);
      await waitFor('both replicas to listen', 10_000, () => [answering, cutting].every((c) => docker('logs', c).includes('listening')));
      const port = await proxy('cut', { alias, keepaliveTimeoutSeconds: 2, nextUpstreamTries: 1 });
      const results = await posts(port, 8);
      const cut = results.filter((r) => r.status === 502).map((r) => r.body);
      log(`a replica cut them: ${results.map((r) => r.status).join(' ')}`);
      // The cutting replica got some (round robin); each reached exactly one replica, once.
      expect(cut.length).toBeGreaterThan(0);
      expect(results.every((r) => r.status === 200 || r.status === 502)).toBe(true);
      expect(received(cutting, 'POST')).toEqual(cut);
      expect(received(answering, 'POST')).toEqual(results.filter((r) => r.status === 200).map((r) => r.body));

      await sleep(1100);
      const gets = [];
      for (let i = 0; i < 4; i++) gets.push((await request(port, { host: HOST })).status);
      expect(gets).toEqual([200, 200, 200, 200]);
      expect(received(cutting, 'GET').length).toBeGreaterThan(0);
    });
  });
});
