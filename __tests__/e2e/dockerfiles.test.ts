// The Dockerfiles in docker/ and `npm run prepare-apps` on a real engine, the way the README has
// a user run them on fresh clones of the wayshub apps. The stand-in checkouts have the real
// repositories' traps (dockerfile-apps/): a stale yarn.lock beside a package-lock.json that pins
// postcss 8.1, a build that needs OpenSSL's legacy provider on Node 17+, a committed .env and
// env.example with secrets, a backend with no route on / and a sign-up that crashes the process.
// The Node here is Debian's 18 (there is no Node 16 to be had), so the documented path is the
// README's Node 17+ one. Builds that install packages reach the npm registry.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describeE2E } from '../support/e2e-gate';
import { Load, LoadReport, WebSocketSession, freePort, request, waitFor } from '../support/http';
import { Deployment, deployStack } from '../support/deploy';
import { synthToDir } from '../support/synth';
import { BuildOptions, RunResult, buildKitClient, dockerBuild, ensureAllTestImages, run } from '../support/test-images';
import { replica, replicaNames } from '../support/replicas';

const NAME = 'e2edf';
const DOMAIN = 'wayshub.localhost';
const API = `api.${DOMAIN}`;
const ROOT = path.join(__dirname, '..', '..');
const FRONTEND_DOCKERFILE = path.join(ROOT, 'docker', 'wayshub-frontend.Dockerfile');
const BACKEND_DOCKERFILE = path.join(ROOT, 'docker', 'wayshub-backend.Dockerfile');
const FIXTURES = path.join(__dirname, '..', 'support', 'test-images', 'dockerfile-apps');
// The test app, for an app that holds WebSockets open.
const TEST_APP = path.join(__dirname, '..', 'support', 'test-images', 'test-app', 'server.js');
const FRONTEND_TAG = 'wayshub-e2e/dockerfile-frontend:test';
const BACKEND_TAG = 'wayshub-e2e/dockerfile-backend:test';
// What the stand-in backend's committed .env and env.example hold.
const COMMITTED_SECRET = 'standin-committed-api-secret-91b3';
const log = (line: string) => process.stderr.write(`  [dockerfiles] ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const output = (result: RunResult) => (result.stdout + result.stderr).trim();

function mustBuild(what: string, result: RunResult): void {
  if (result.code !== 0) throw new Error(`${what} failed:\n${output(result).split('\n').slice(-20).join('\n')}`);
}

/** `npm run prepare-apps -- <args>`, as the README has users run it from this project. */
const prepareApps = (...args: string[]) => run('npm', ['--prefix', ROOT, 'run', '-s', 'prepare-apps', '--', ...args]);

/**
 * Builds a throwaway image, runs a shell command in it without network (as the stack's
 * one-shot jobs would run), removes the image, and returns what the command printed.
 */
async function runInBuilt(
  what: string,
  dockerfile: string,
  context: string,
  buildArgs: Record<string, string>,
  command: string,
  options: BuildOptions = {},
): Promise<string> {
  const tag = `wayshub-e2e/dockerfile-throwaway:${path
    .basename(context)
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '')}`;
  mustBuild(what, await dockerBuild(dockerfile, context, tag, buildArgs, options));
  try {
    return docker('run', '--rm', '--network', 'none', tag, 'sh', '-c', command);
  } finally {
    docker('rmi', tag);
  }
}

/** Every byte of an image as `docker save` writes it: all its layers and its config. */
function savedImage(tag: string): Buffer {
  return execFileSync('docker', ['save', tag], { maxBuffer: 1024 * 1024 * 1024 });
}

// Copies made by checkoutCopy, removed after the tests.
const scratch: string[] = [];

/** A copy of a stand-in checkout (or of another copy), to change without touching the original. */
function checkoutCopy(app: 'frontend' | 'backend', from = path.join(FIXTURES, app)): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wayshub-${app}-checkout-`));
  scratch.push(dir);
  fs.cpSync(from, dir, { recursive: true });
  return dir;
}

interface ContainerState {
  StartedAt: string;
  Health: { Status: string; Log: Array<{ Start: string; End: string; ExitCode: number }> };
}

const fileHashes = (dir: string): Record<string, string> =>
  Object.fromEntries(
    (fs.readdirSync(dir, { recursive: true }) as string[])
      .filter((file) => fs.statSync(path.join(dir, file)).isFile())
      .sort()
      .map((file) => [
        file,
        createHash('sha256')
          .update(fs.readFileSync(path.join(dir, file)))
          .digest('hex'),
      ]),
  );

describeE2E('the wayshub apps built as the README says, from checkouts with the real repositories’ traps', () => {
  let port: number;
  let apiUrl: string;
  let baseArgs: Record<string, string>;
  let nodeMajor: string;
  let deployment: Deployment;
  let frontend: string;
  let backend: string;
  let prepared: RunResult;
  // The build arguments of each app's image as the stack runs it.
  const buildArgs = (app: 'frontend' | 'backend'): Record<string, string> =>
    app === 'frontend'
      ? { ...baseArgs, REACT_APP_API_URL: apiUrl }
      : // The stand-in has no migrations, so no sequelize-cli (installing it would need the network).
        { NODE_IMAGE: baseArgs.NODE_IMAGE, SEQUELIZE_CLI: '' };

  beforeAll(async () => {
    const images = await ensureAllTestImages(log);
    port = await freePort();
    apiUrl = `http://${API}:${port}/api/v1`;
    baseArgs = { NODE_IMAGE: images.nodeBuild, NGINX_IMAGE: images.nginx };
    nodeMajor = docker('run', '--rm', '--network', 'none', images.nodeBuild, 'node', '-p', 'parseInt(process.versions.node)');
    // The README: prepare both checkouts, then build both images with the commands it shows
    // (the classic builder, Docker 20.10's default; BuildKit is tested below).
    frontend = checkoutCopy('frontend');
    backend = checkoutCopy('backend');
    prepared = await prepareApps('--node', nodeMajor, frontend, backend);
    mustBuild('npm run prepare-apps', prepared);
    mustBuild('building the frontend', await dockerBuild(FRONTEND_DOCKERFILE, frontend, FRONTEND_TAG, buildArgs('frontend'), { network: true }));
    mustBuild('building the backend', await dockerBuild(BACKEND_DOCKERFILE, backend, BACKEND_TAG, buildArgs('backend')));
    // Default healthchecks: the frontend runs on Debian's nginx (no wget, curl or node), the
    // backend on Debian's Node (no wget or curl) and answers 404 on /.
    const stackDir = synthToDir({
      name: NAME,
      domain: DOMAIN,
      app: { image: FRONTEND_TAG, port: 80 },
      backend: { image: BACKEND_TAG, port: 5000 },
      database: { enabled: false },
      proxy: { image: images.nginx, httpPort: port },
    });
    deployment = await deployStack(stackDir, { workDir: fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-dockerfiles-work-')), log });
    await deployment.apply({ jwt_private_key: 'e2e-jwt-private-key-0123456789', replicas: 2, backend_replicas: 2 });
  }, 600_000);

  afterAll(async () => {
    await deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    spawnSync('docker', ['rmi', FRONTEND_TAG, BACKEND_TAG], { stdio: 'ignore' });
    // The classic builder keeps each multi-stage build's earlier stages as untagged images; ours
    // carry the test images' label (from the Node build image).
    spawnSync('docker', ['image', 'prune', '--force', '--filter', 'label=wayshub-e2e.recipe'], { stdio: 'ignore' });
    for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('npm run prepare-apps', () => {
    test('makes the two edits and the Node 17+ lock fix, and shows each as a diff', () => {
      const said = prepared.stdout;
      expect(said).toContain('src/config/api.js: reads REACT_APP_API_URL now');
      expect(said).toContain('+   baseURL: process.env.REACT_APP_API_URL || "http://localhost:5000/api/v1",');
      expect(said).toContain('yarn.lock: deleted: it does not match package.json (it lacks postcss-safe-parser)');
      expect(said).toMatch(/node_modules\/postcss-safe-parser\/node_modules\/postcss 8\.1\.10 -> 8\.\d+\.\d+/);
      expect(said).toContain('config/config.json: production reads DATABASE_URL now');
      expect(said).toContain('+     "use_env_variable": "DATABASE_URL",');
      expect(said).toContain('.env: left as it is; docker/wayshub-backend.Dockerfile keeps it out of the image');
      const config = JSON.parse(fs.readFileSync(path.join(backend, 'config', 'config.json'), 'utf8')) as Record<string, unknown>;
      expect(config.production).toEqual({ use_env_variable: 'DATABASE_URL', dialect: 'mysql' });
      expect(config.development).toEqual(expect.objectContaining({ database: 'wayshub' }));
      expect(fs.existsSync(path.join(frontend, 'yarn.lock'))).toBe(false);
    });

    test('run again, it changes nothing', async () => {
      const before = [fileHashes(frontend), fileHashes(backend)];
      const again = await prepareApps('--node', nodeMajor, frontend, backend);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('src/config/api.js: reads REACT_APP_API_URL already');
      expect(again.stdout).toContain('config/config.json: production reads DATABASE_URL already');
      expect(again.stdout).toContain(`package-lock.json: loads on Node ${nodeMajor} already`);
      expect([fileHashes(frontend), fileHashes(backend)]).toEqual(before);
    });

    test('for Node 16 it leaves the lock files alone, and says what Node 17+ would need', async () => {
      const dir = checkoutCopy('frontend');
      const before = fileHashes(dir);
      const result = await prepareApps('--dry-run', dir);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('src/config/api.js: would change: reads REACT_APP_API_URL now');
      expect(result.stdout).toContain('yarn.lock: does not match package.json (it lacks postcss-safe-parser); the Dockerfile installs from package-lock.json');
      expect(result.stdout).toContain(
        "pins postcss 8.1.10 (node_modules/postcss-safe-parser/node_modules/postcss), which Node 17+ can't load; left as it is for Node 16",
      );
      expect(fileHashes(dir)).toEqual(before);
    });

    test('what it does not recognize it leaves alone and exits 1; a bad argument gets one line and exit 2', async () => {
      const dir = checkoutCopy('frontend');
      fs.writeFileSync(path.join(dir, 'src', 'config', 'api.js'), 'export const API = { baseURL: window.API };\n');
      const before = fileHashes(dir);
      const result = await prepareApps(dir);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('src/config/api.js: left alone: expected one line like baseURL: "http://localhost:5000/api/v1", found 0');
      expect(result.stderr.trim()).toBe('prepare-apps: some edits were left alone (above); make them by hand as docs/full-wayshub.md shows');
      expect(fileHashes(dir)).toEqual(before);

      const bad = await prepareApps('--node', 'eighteen', dir, os.tmpdir());
      expect(bad.code).toBe(2);
      expect(bad.stdout).toBe('');
      expect(bad.stderr.trim().split('\n')).toEqual([
        'prepare-apps: invalid --node: "eighteen"; allowed: the major version of the NODE_IMAGE you build with, e.g. 16 or 18',
      ]);
    });
  });

  test('<domain> serves the built app with the API URL baked in, and router paths get the app', async () => {
    await waitFor('the frontend to answer through the proxy', 20_000, async () => (await request(port, { host: DOMAIN })).status === 200);
    const index = await request(port, { host: DOMAIN });
    const bundle = /src="(\/static\/js\/main\.[0-9a-f]+\.js)"/.exec(index.body)?.[1];
    expect(bundle).toBeDefined();
    const js = await request(port, { host: DOMAIN, path: bundle });
    expect(js.status).toBe(200);
    expect(js.body).toContain(`baseURL: ${JSON.stringify(apiUrl)} || "http://localhost:5000/api/v1"`);
    const routed = await request(port, { host: DOMAIN, path: '/channel/3' });
    expect(routed.status).toBe(200);
    expect(routed.body).toBe(index.body);
  });

  test('index.html is never cached, hashed assets are cached for good, a missing asset is a 404', async () => {
    const index = await request(port, { host: DOMAIN });
    expect(index.headers['cache-control']).toBe('no-cache');
    const bundle = /src="([^"]+)"/.exec(index.body)?.[1] ?? '';
    expect((await request(port, { host: DOMAIN, path: bundle })).headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await request(port, { host: DOMAIN, path: '/static/js/main.00000000.js' })).status).toBe(404);
  });

  test('every replica is healthy under the default healthchecks within 60 s of its start', async () => {
    const replicas = [...replicaNames(NAME, 'app'), ...replicaNames(NAME, 'backend')];
    expect(replicas).toHaveLength(4);
    for (const replica of replicas) {
      await waitFor(`${replica} to be healthy`, 60_000, () => docker('inspect', '-f', '{{.State.Health.Status}}', replica) === 'healthy');
      const state = JSON.parse(docker('inspect', '-f', '{{json .State}}', replica)) as ContainerState;
      // Docker keeps the last 5 checks: the first passing one kept is at or after the first pass.
      const passed = state.Health.Log.find((check) => check.ExitCode === 0);
      const seconds = (Date.parse(passed?.End ?? '') - Date.parse(state.StartedAt)) / 1000;
      log(`${replica}: healthy, a check passed ${seconds.toFixed(1)} s after start`);
      expect(seconds).toBeLessThan(60);
    }
    // Neither image has the clients the old check needed: nginx has bash only, the backend node.
    expect(docker('exec', replica(NAME, 'app', 1), 'sh', '-c', 'for c in curl wget node; do command -v $c; done; true')).toBe('');
    expect(docker('exec', replica(NAME, 'backend', 1), 'sh', '-c', 'for c in curl wget; do command -v $c; done; true')).toBe('');
    expect((await request(port, { host: API, path: '/' })).status).toBe(404);
  });

  test('no source maps are published unless asked for', async () => {
    const index = await request(port, { host: DOMAIN });
    const bundle = /src="([^"]+)"/.exec(index.body)?.[1] ?? '';
    expect((await request(port, { host: DOMAIN, path: `${bundle}.map` })).status).toBe(404);
    const listed = await runInBuilt(
      'building the frontend with source maps',
      FRONTEND_DOCKERFILE,
      frontend,
      { ...baseArgs, GENERATE_SOURCEMAP: 'true' },
      'ls /usr/share/nginx/html/static/js',
      { network: true },
    );
    expect(listed).toMatch(/main\.[0-9a-f]+\.js\.map/);
  });

  test('the frontend runs as a plain user with no capabilities', () => {
    for (const replica of replicaNames(NAME, 'app')) {
      expect(docker('exec', replica, 'id', '-u')).toBe('101');
      expect(docker('exec', replica, 'grep', 'CapEff', '/proc/1/status')).toMatch(/CapEff:\s+0{16}$/);
    }
  });

  test('api.<domain> reaches the backend built from its Dockerfile: node index.js on 5000 as `node`, in production', async () => {
    const r = await request(port, { host: API, path: '/api/v1/whoami' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual(expect.objectContaining({ user: 'node', nodeEnv: 'production', hasJwtKey: true, databaseHost: null }));
  });

  test('a sign-up that crashes a backend replica: Docker restarts it, and no GET fails meanwhile', async () => {
    const state = (replica: string) => JSON.parse(docker('inspect', '-f', '{{json .State}}', replica)) as ContainerState;
    const replicas = replicaNames(NAME, 'backend');
    const restarts = () => replicas.map((replica) => Number(docker('inspect', '-f', '{{.RestartCount}}', replica)));
    const before = restarts();
    const load = new Load(port, API, 40, { path: '/api/v1/whoami' });
    let report: LoadReport;
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const signUp = await request(port, { host: API, path: '/api/v1/register', method: 'POST', body: Buffer.from('{}') });
      expect(signUp.status).toBe(500);
      // One replica ends (ERR_HTTP_HEADERS_SENT), Docker starts it again, and it passes a check.
      const sum = (counts: number[]) => counts.reduce((a, b) => a + b);
      await waitFor('a backend replica to restart', 20_000, () => sum(restarts()) === sum(before) + 1);
      const crashed = replicas[restarts().findIndex((n, i) => n > before[i])];
      const logs = spawnSync('docker', ['logs', crashed], { encoding: 'utf8' });
      expect(logs.stdout + logs.stderr).toContain('ERR_HTTP_HEADERS_SENT');
      await waitFor(`${crashed} to pass a healthcheck after its restart`, 60_000, () => {
        const now = state(crashed);
        return now.Health.Status === 'healthy' && now.Health.Log.some((check) => check.ExitCode === 0 && Date.parse(check.Start) > Date.parse(now.StartedAt));
      });
    } finally {
      // Stopped here, so that a failed step above can't leave the load running.
      report = await load.stop();
    }
    log(
      `crash under load: ${report.sent} sent, ${report.ok} ok, ${report.failed} failed, ${report.resent} resent, max ${report.maxLatencyMs} ms in ${report.seconds.toFixed(1)} s`,
    );
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(report.sent);
    // The restarted replica passes its first check about 10 s after it starts.
    expect(report.sent).toBeGreaterThan(200);
  });

  describe('removing backend replicas: the drain preload of the backend Dockerfile', () => {
    // The stand-in, like wayshub-backend, has no SIGTERM handler. As PID 1 Node then ignores
    // SIGTERM, and Docker kills it at the end of the stop timeout, cutting what is in flight;
    // run under an init or `npm start` it exits at once. The preload drains it either way.
    async function slowRequestThroughStop(command: string[]): Promise<{ answer: string; stopSeconds: number }> {
      const name = 'wayshub-e2e-drain-probe';
      const hostPort = await freePort();
      spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
      docker('run', '-d', '--name', name, '-p', `127.0.0.1:${hostPort}:5000`, BACKEND_TAG, ...command);
      try {
        await waitFor('the backend to listen', 10_000, async () => (await request(hostPort, { host: API, path: '/api/v1/whoami' })).status === 200);
        const slow = request(hostPort, { host: API, path: '/api/v1/slow?ms=2000' }).then(
          (r) => `${r.status} ${r.body.trim()}`,
          (e: Error) => e.message,
        );
        await new Promise((r) => setTimeout(r, 300));
        const t0 = Date.now();
        await run('docker', ['stop', '-t', '30', name]);
        return { answer: await slow, stopSeconds: (Date.now() - t0) / 1000 };
      } finally {
        spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
      }
    }

    test('a 2 s request in flight at SIGTERM is answered, and the replica exits soon after; an app that exits at once cuts it', async () => {
      const drained = await slowRequestThroughStop([]);
      log(`with the preload: ${JSON.stringify(drained)}`);
      expect(drained.answer).toMatch(/^200 slow 2000 ms/);
      expect(drained.stopSeconds).toBeLessThan(10);
      // An app that exits at once on SIGTERM, as the stand-in does when Node is not PID 1.
      const cut = await slowRequestThroughStop(['node', '-e', "process.on('SIGTERM', () => process.exit(0)); require('/app/index.js');"]);
      log(`an app that exits at once, without the preload: ${JSON.stringify(cut)}`);
      expect(cut.answer).toMatch(/socket hang up|ECONNRESET/);
    });

    test('a WebSocket open at SIGTERM gets a close frame (1001) 1 s before the drain limit, not a reset at the kill', async () => {
      const name = 'wayshub-e2e-drain-websocket';
      const hostPort = await freePort();
      spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
      // The test app with no SIGTERM handler of its own, run as the Dockerfile runs the backend.
      docker(
        'create',
        '--name',
        name,
        '-p',
        `127.0.0.1:${hostPort}:5000`,
        '-e',
        'PORT=5000',
        '-e',
        'ON_SIGTERM=none',
        '-e',
        'WAYSHUB_DRAIN_SECONDS=5',
        BACKEND_TAG,
        'node',
        '--require',
        '/usr/local/lib/wayshub/drain.js',
        '/tmp/server.js',
      );
      try {
        docker('cp', TEST_APP, `${name}:/tmp/server.js`);
        docker('start', name);
        await waitFor('the app to listen', 10_000, async () => (await request(hostPort, { host: API }).catch(() => ({ status: 0 }))).status === 200);
        const ws = await WebSocketSession.open(hostPort, API, '/ws');
        await new Promise((r) => setTimeout(r, 500));
        const t0 = Date.now();
        const stopped = run('docker', ['stop', '-t', '5', name]).then(() => (Date.now() - t0) / 1000);
        const report = await ws.ended;
        const closedAfter = (Date.now() - t0) / 1000;
        const stopSeconds = await stopped;
        log(
          `WebSocket through a stop with a 5 s limit: ${report.sent} sent, ${report.echoed} echoed, close ${report.closeCode ?? 'none'} ${closedAfter.toFixed(1)} s after SIGTERM; stop took ${stopSeconds.toFixed(1)} s`,
        );
        expect(report.closeCode).toBe(1001);
        expect(report.echoed).toBeGreaterThanOrEqual(report.sent - 1);
        // Open and echoing until the last second, then closed; the process then exits by itself.
        expect(closedAfter).toBeGreaterThan(3.5);
        expect(stopSeconds).toBeLessThan(5);
      } finally {
        spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
      }
    });

    test('scale-down 5 → 2 with 2 s GETs and POSTs in flight: every request is answered', async () => {
      const vars = { jwt_private_key: 'e2e-jwt-private-key-0123456789', replicas: 2 };
      await deployment.apply({ ...vars, backend_replicas: 5 });
      expect(replicaNames(NAME, 'backend')).toHaveLength(5);
      const removed = [3, 4, 5].map((n) => replica(NAME, 'backend', n));
      const body = Buffer.from('{"hello":"world"}');
      const loads = {
        GET: new Load(port, API, 40, { path: '/api/v1/whoami' }),
        'slow GET': new Load(port, API, 5, { path: '/api/v1/slow?ms=2000' }),
        POST: new Load(port, API, 10, { path: '/api/v1/echo', post: body }),
        // nginx never resends a POST a replica cut: these pass only if the replicas drain.
        'slow POST': new Load(port, API, 5, { path: '/api/v1/slow?ms=2000', post: body }),
      };
      let reports: LoadReport[];
      try {
        await new Promise((r) => setTimeout(r, 2500));
        const t0 = Date.now();
        await deployment.apply({ ...vars, backend_replicas: 2 });
        log(`scale-down 5 -> 2 took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        await new Promise((r) => setTimeout(r, 2000));
      } finally {
        reports = await Promise.all(Object.values(loads).map((load) => load.stop()));
      }
      Object.keys(loads).forEach((what, i) => {
        const r = reports[i];
        log(`${what}: ${r.sent} sent, ${r.ok} ok, ${r.failed} failed, ${r.resent} resent, max ${r.maxLatencyMs} ms in ${r.seconds.toFixed(1)} s`);
        expect(r.failures).toEqual([]);
        expect(r.ok).toBe(r.sent);
      });
      for (const name of removed) expect(spawnSync('docker', ['inspect', name]).status).not.toBe(0);
      expect(replicaNames(NAME, 'backend')).toHaveLength(2);
    });
  });

  describe("the backend's committed .env and env.example never reach the image", () => {
    test.each([
      ['the classic builder (Docker 20.10)', {}],
      ['BuildKit (Docker 23+)', 'buildkit'],
    ] as const)('%s: not in any layer, and their values nowhere in the image', async (_what, builder) => {
      const options: BuildOptions = builder === 'buildkit' ? { buildKit: await buildKitClient() } : {};
      const tag = 'wayshub-e2e/dockerfile-backend:secrets';
      const built = await dockerBuild(BACKEND_DOCKERFILE, checkoutCopy('backend'), tag, buildArgs('backend'), options);
      mustBuild('building the backend', built);
      try {
        if (!builder) expect(output(built)).toContain('wayshub-backend: left out of the image: env.example');
        const listed = docker('run', '--rm', '--network', 'none', tag, 'ls', '-a', '/app').split('\n');
        expect(listed).toContain('index.js');
        expect(listed.filter((file) => /env/.test(file))).toEqual([]);
        expect(savedImage(tag).includes(COMMITTED_SECRET)).toBe(false);
      } finally {
        docker('rmi', tag);
      }
    });

    test('the check can fail: the checkout stage, which the image does not contain, has them', async () => {
      const tag = 'wayshub-e2e/dockerfile-backend:checkout-stage';
      mustBuild(
        'building the checkout stage',
        await dockerBuild(BACKEND_DOCKERFILE, checkoutCopy('backend'), tag, buildArgs('backend'), { target: 'checkout' }),
      );
      try {
        expect(savedImage(tag).includes(COMMITTED_SECRET)).toBe(true);
      } finally {
        docker('rmi', tag);
      }
    });
  });

  // The one build here that needs sequelize-cli from the npm registry: wayshub-backend lists it
  // under devDependencies, which --omit=dev leaves out, and the migration job can't download it.
  test('a backend with sequelize-cli only in devDependencies still gets it for the migration job', async () => {
    const dir = checkoutCopy('backend');
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ ...pkg, dependencies: { sequelize: '^6.37.0' }, devDependencies: { 'sequelize-cli': '^6.6.0' } }, null, 2),
    );
    // Run as the migration job runs it: the image's user, no network.
    const version = await runInBuilt(
      'building the backend with the npm registry',
      BACKEND_DOCKERFILE,
      dir,
      { NODE_IMAGE: baseArgs.NODE_IMAGE },
      'npx --no-install sequelize --version',
      { network: true },
    );
    expect(version).toMatch(/CLI: 6\.\d+\.\d+, ORM: 6\./);
  });

  describe('the lock file the frontend installs from', () => {
    test('the checkout as it is, on Node 17+: package-lock.json is used (yarn.lock is stale), and the postcss it pins stops the build with one line', async () => {
      // No cache: the install step's own line is what this test reads.
      const built = await dockerBuild(FRONTEND_DOCKERFILE, checkoutCopy('frontend'), 'wayshub-e2e/dockerfile-frontend:as-is', buildArgs('frontend'), {
        network: true,
        noCache: true,
      });
      expect(built.code).not.toBe(0);
      expect(output(built)).toContain(
        'wayshub-frontend: yarn.lock does not match package.json (postcss-safe-parser); installing from package-lock.json, which does',
      );
      expect(output(built)).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
      expect(output(built)).toContain(
        `wayshub-frontend: Node ${nodeMajor} cannot load a package the lock file pins (postcss 8.1 in wayshub-frontend); in wayshub-edge run: npm run prepare-apps -- --node ${nodeMajor} <this checkout>`,
      );
    });

    test('Node 17+ gets --openssl-legacy-provider unless NODE_OPTIONS is given; without it the md4 hash stops the build with one line', async () => {
      const built = await dockerBuild(
        FRONTEND_DOCKERFILE,
        frontend,
        'wayshub-e2e/dockerfile-frontend:no-legacy',
        { ...buildArgs('frontend'), NODE_OPTIONS: '--no-warnings' },
        {
          network: true,
        },
      );
      expect(built.code).not.toBe(0);
      expect(output(built)).toContain(
        `wayshub-frontend: Node ${nodeMajor} needs --openssl-legacy-provider in NODE_OPTIONS for this build (it was: --no-warnings)`,
      );
    });

    test('a yarn.lock that matches package.json is installed with yarn', async () => {
      const dir = checkoutCopy('frontend');
      // No dependencies: an empty yarn.lock matches, and nothing needs the network.
      fs.rmSync(path.join(dir, 'package-lock.json'));
      fs.writeFileSync(path.join(dir, 'yarn.lock'), '# yarn lockfile v1\n');
      fs.writeFileSync(
        path.join(dir, 'package.json'),
        JSON.stringify({ name: 'standin', version: '0.0.0', private: true, scripts: { build: 'node build.js' } }),
      );
      fs.writeFileSync(
        path.join(dir, 'build.js'),
        "require('fs').mkdirSync('build'); require('fs').writeFileSync('build/index.html', 'built by ' + process.env.npm_config_user_agent.split('/')[0]);\n",
      );
      expect(await runInBuilt('building with yarn', FRONTEND_DOCKERFILE, dir, baseArgs, 'cat /usr/share/nginx/html/index.html')).toBe('built by yarn');
    });

    test('when neither lock file matches package.json, one line says which to regenerate', async () => {
      const dir = checkoutCopy('frontend');
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...pkg, dependencies: { ...pkg.dependencies, axios: '^0.21.1' } }));
      const built = await dockerBuild(FRONTEND_DOCKERFILE, dir, 'wayshub-e2e/dockerfile-frontend:stale', baseArgs);
      expect(built.code).not.toBe(0);
      expect(output(built)).toContain(
        'wayshub-frontend: yarn.lock does not match package.json (postcss-safe-parser, axios) and package-lock.json does not match package.json (axios); in the checkout, regenerate yarn.lock (yarn install) or package-lock.json (npm install --package-lock-only) and delete the other',
      );
    });

    test('a checkout without a lock file is refused, saying what to do', async () => {
      const dir = checkoutCopy('frontend');
      fs.rmSync(path.join(dir, 'yarn.lock'));
      fs.rmSync(path.join(dir, 'package-lock.json'));
      const built = await dockerBuild(FRONTEND_DOCKERFILE, dir, 'wayshub-e2e/dockerfile-frontend:nolock', baseArgs);
      expect(built.code).not.toBe(0);
      expect(output(built)).toContain('no yarn.lock or package-lock.json in the checkout; commit one');
    });
  });

  // A checkout someone has worked in has its own installs (native modules built for their
  // machine), an old build, .git, and for the backend a .env with their secrets. BuildKit reads
  // docker/<name>.Dockerfile.dockerignore; with the classic builder the Dockerfiles remove them
  // in a stage the image does not contain.
  describe('a checkout someone has worked in', () => {
    const HOST_FILES = {
      frontend: ['node_modules/host-only/index.js', 'build/host-only.txt', '.git/HEAD'],
      backend: ['node_modules/host-only/index.js', '.git/HEAD', '.env.local', 'uploads/host-only.png'],
    };
    const worked = (app: 'frontend' | 'backend') => {
      // The frontend as prepare-apps left it, so that it builds on this Node.
      const dir = checkoutCopy(app, app === 'frontend' ? frontend : undefined);
      for (const file of HOST_FILES[app]) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), 'from the host\n');
      }
      return dir;
    };

    test.each([
      ['frontend', 'classic builder'],
      ['frontend', 'BuildKit'],
      ['backend', 'classic builder'],
      ['backend', 'BuildKit'],
    ] as const)("%s, %s: the checkout's installs, build, .git (and the backend's .env files and uploads) stay out", async (app, builder) => {
      const options: BuildOptions = { network: app === 'frontend', target: app === 'frontend' ? 'build' : undefined };
      if (builder === 'BuildKit') options.buildKit = await buildKitClient();
      const found = await runInBuilt(
        `building the ${app} (${builder})`,
        app === 'frontend' ? FRONTEND_DOCKERFILE : BACKEND_DOCKERFILE,
        worked(app),
        buildArgs(app),
        'find /app -maxdepth 3 | sort',
        options,
      );
      expect(found.split('\n')).toContain('/app/package.json');
      expect(found.split('\n').filter((f) => /host-only|^\/app\/(\.git|\.env|env\.example|uploads)/.test(f))).toEqual([]);
    });
  });
});
