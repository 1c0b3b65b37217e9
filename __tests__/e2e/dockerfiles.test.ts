// The Dockerfiles in docker/ on a real engine: each builds a stand-in checkout shaped like the
// wayshub app it is for (same scripts and lock files, no dependencies, so no network is
// needed), on stand-in base images from Debian, and the stack deploys what they built.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describeE2E } from '../support/e2e-gate';
import { freePort, request, waitFor } from '../support/http';
import { LocalApply } from '../support/local-apply';
import { synthToDir } from '../support/synth';
import { BuildOptions, buildKitClient, dockerBuild, ensureAllTestImages, RunResult } from '../support/test-images';

const NAME = 'e2edf';
const DOMAIN = 'wayshub.localhost';
const API = `api.${DOMAIN}`;
const ROOT = path.join(__dirname, '..', '..');
const FRONTEND_DOCKERFILE = path.join(ROOT, 'docker', 'wayshub-frontend.Dockerfile');
const BACKEND_DOCKERFILE = path.join(ROOT, 'docker', 'wayshub-backend.Dockerfile');
const FIXTURES = path.join(__dirname, '..', 'support', 'test-images', 'dockerfile-apps');
const FRONTEND_TAG = 'wayshub-e2e/dockerfile-frontend:test';
const BACKEND_TAG = 'wayshub-e2e/dockerfile-backend:test';
const log = (line: string) => process.stderr.write(`  [dockerfiles] ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

function mustBuild(what: string, result: RunResult): void {
  if (result.code !== 0) throw new Error(`${what} failed:\n${(result.stdout + result.stderr).trim().split('\n').slice(-20).join('\n')}`);
}

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

// Copies made by checkoutCopy, removed after the tests.
const scratch: string[] = [];

/** A copy of a stand-in checkout, to change without touching the committed one. */
function checkoutCopy(app: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wayshub-${app}-checkout-`));
  scratch.push(dir);
  fs.cpSync(path.join(FIXTURES, app), dir, { recursive: true });
  return dir;
}

describeE2E('the Dockerfiles in docker/ build images the stack runs', () => {
  let port: number;
  let apiUrl: string;
  let baseArgs: Record<string, string>;
  let deployment: LocalApply;
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
    mustBuild('building the frontend', await dockerBuild(FRONTEND_DOCKERFILE, path.join(FIXTURES, 'frontend'), FRONTEND_TAG, buildArgs('frontend')));
    mustBuild('building the backend', await dockerBuild(BACKEND_DOCKERFILE, path.join(FIXTURES, 'backend'), BACKEND_TAG, buildArgs('backend')));
    const stackDir = synthToDir({
      name: NAME,
      domain: DOMAIN,
      app: { image: FRONTEND_TAG, port: 80 },
      backend: { image: BACKEND_TAG, port: 5000 },
      database: { enabled: false },
      proxy: { image: images.nginx, httpPort: port },
    });
    deployment = await LocalApply.fromStackDir(stackDir, { workDir: fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-dockerfiles-work-')), log });
    await deployment.apply({ jwt_private_key: 'e2e-jwt-private-key-0123456789', replicas: 2, backend_replicas: 1 });
  });

  afterAll(async () => {
    await deployment?.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    spawnSync('docker', ['rmi', FRONTEND_TAG, BACKEND_TAG], { stdio: 'ignore' });
    // The classic builder keeps each multi-stage build's first stage as an untagged image; ours
    // carry the test images' label (from the Node build image).
    spawnSync('docker', ['image', 'prune', '--force', '--filter', 'label=wayshub-e2e.recipe'], { stdio: 'ignore' });
    for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('<domain> serves the built app with the API URL baked in, and router paths get the app', async () => {
    await waitFor('the frontend to answer through the proxy', 20_000, async () => (await request(port, { host: DOMAIN })).status === 200);
    const index = await request(port, { host: DOMAIN });
    const bundle = /src="(\/static\/js\/main\.[0-9a-f]+\.js)"/.exec(index.body)?.[1];
    expect(bundle).toBeDefined();
    const js = await request(port, { host: DOMAIN, path: bundle });
    expect(js.status).toBe(200);
    expect(js.body).toContain(JSON.stringify(apiUrl));
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

  test('no source maps are published unless asked for', async () => {
    const index = await request(port, { host: DOMAIN });
    const bundle = /src="([^"]+)"/.exec(index.body)?.[1] ?? '';
    expect((await request(port, { host: DOMAIN, path: `${bundle}.map` })).status).toBe(404);
    const listed = await runInBuilt(
      'building the frontend with source maps',
      FRONTEND_DOCKERFILE,
      path.join(FIXTURES, 'frontend'),
      { ...baseArgs, GENERATE_SOURCEMAP: 'true' },
      'ls /usr/share/nginx/html/static/js',
    );
    expect(listed).toMatch(/main\.[0-9a-f]+\.js\.map/);
  });

  test('the frontend runs as a plain user with no capabilities, and the stack healthcheck passes', async () => {
    for (const replica of [`${NAME}-app-1`, `${NAME}-app-2`]) {
      expect(docker('exec', replica, 'id', '-u')).toBe('101');
      expect(docker('exec', replica, 'grep', 'CapEff', '/proc/1/status')).toMatch(/CapEff:\s+0{16}$/);
      await waitFor(`${replica} to be healthy`, 40_000, () => docker('inspect', '-f', '{{.State.Health.Status}}', replica) === 'healthy');
    }
  });

  test('api.<domain> reaches the backend built from its Dockerfile: node index.js on 5000 as `node`, in production', async () => {
    const r = await request(port, { host: API, path: '/api/v1/whoami' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ host: `${NAME}-backend-1`, user: 'node', nodeEnv: 'production', hasJwtKey: true, databaseHost: null });
  });

  // The one build here that needs the npm registry: wayshub-backend lists sequelize-cli under
  // devDependencies, which --omit=dev leaves out, and the migration job can't download it.
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

  test('a checkout with package-lock.json instead of yarn.lock builds with npm ci', async () => {
    const dir = checkoutCopy('frontend');
    fs.rmSync(path.join(dir, 'yarn.lock'));
    fs.writeFileSync(
      path.join(dir, 'package-lock.json'),
      JSON.stringify(
        {
          name: 'wayshub-frontend-standin',
          version: '0.0.0',
          lockfileVersion: 3,
          requires: true,
          packages: { '': { name: 'wayshub-frontend-standin', version: '0.0.0' } },
        },
        null,
        2,
      ),
    );
    const js = await runInBuilt(
      'building the frontend with package-lock.json',
      FRONTEND_DOCKERFILE,
      dir,
      { ...baseArgs, REACT_APP_API_URL: 'https://api.alvin.xyz/api/v1' },
      'cat /usr/share/nginx/html/static/js/main.*.js',
    );
    expect(js).toContain('"https://api.alvin.xyz/api/v1"');
  });

  // A checkout someone has worked in has its own installs (native modules built for their
  // machine), an old build, .git, and for the backend a .env with their secrets. BuildKit reads
  // docker/<name>.Dockerfile.dockerignore; the classic builder reads only a .dockerignore at
  // the checkout's root.
  describe('a checkout someone has worked in', () => {
    const HOST_FILES = {
      frontend: ['node_modules/host-only/index.js', 'build/host-only.txt', '.git/HEAD'],
      backend: ['node_modules/host-only/index.js', '.git/HEAD', '.env', 'uploads/host-only.png'],
    };
    const worked = (app: 'frontend' | 'backend', files: readonly string[]) => {
      const dir = checkoutCopy(app);
      for (const file of files) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), 'from the host\n');
      }
      return dir;
    };
    const dockerfile = (app: 'frontend' | 'backend') => (app === 'frontend' ? FRONTEND_DOCKERFILE : BACKEND_DOCKERFILE);
    // Everything under /app of the image (for the frontend: of its build stage).
    const listing = async (app: 'frontend' | 'backend', files: readonly string[], options: BuildOptions) => {
      const found = await runInBuilt(
        `building the ${app} (${options.buildKit ? 'BuildKit' : 'classic builder'})`,
        dockerfile(app),
        worked(app, files),
        buildArgs(app),
        'find /app -maxdepth 3 | sort',
        { ...options, target: app === 'frontend' ? 'build' : undefined },
      );
      return found.split('\n');
    };

    test.each(['frontend', 'backend'] as const)(
      "%s: BuildKit leaves the checkout's installs, build and .git (and the backend's .env and uploads) out",
      async (app) => {
        const found = await listing(app, HOST_FILES[app], { buildKit: await buildKitClient() });
        expect(found).toContain('/app/package.json');
        expect(found.filter((f) => /host-only|^\/app\/(\.git|\.env|uploads)/.test(f))).toEqual([]);
      },
    );

    test("the classic builder copies node_modules and .git in (hence the README's clean checkout), and refuses a backend .env", async () => {
      const found = await listing('backend', ['node_modules/host-only/index.js', '.git/HEAD'], {});
      expect(found).toEqual(expect.arrayContaining(['/app/node_modules/host-only/index.js', '/app/.git/HEAD']));
      const built = await dockerBuild(BACKEND_DOCKERFILE, worked('backend', ['.env']), 'wayshub-e2e/dockerfile-backend:dotenv', buildArgs('backend'));
      expect(built.code).not.toBe(0);
      expect(built.stdout + built.stderr).toContain("wayshub-backend: the checkout's .env would be baked into the image; build with BuildKit");
    });
  });

  test('a checkout without a lock file is refused, saying what to do', async () => {
    const dir = checkoutCopy('frontend');
    fs.rmSync(path.join(dir, 'yarn.lock'));
    const built = await dockerBuild(FRONTEND_DOCKERFILE, dir, 'wayshub-e2e/dockerfile-frontend:nolock', baseArgs);
    expect(built.code).not.toBe(0);
    expect(built.stdout + built.stderr).toContain('no yarn.lock or package-lock.json in the checkout; commit one');
  });
});
