// Builds the Docker images the end-to-end tests run, without any registry:
// the machine reaches only Debian's archive, so each image is a debootstrap
// rootfs piped into `docker import`. Images are cached by tag, and a lock
// keeps parallel jest workers from building the same thing twice.
import { spawn, StdioOptions } from 'child_process';
import { createHash } from 'crypto';
import { closeSync, openSync, promises as fs } from 'fs';
import os from 'os';
import path from 'path';

import { MIN_NGINX_VERSION } from '../../../constructs/settings';

export type Log = (line: string) => void;

export interface TestImages {
  nginx: string;
  app: string;
}

export interface AllTestImages extends TestImages {
  db: string;
  backend: string;
  /** Node with npm, yarn, a `node` user and the host's CAs: the NODE_IMAGE for docker/*.Dockerfile. */
  nodeBuild: string;
}

const NGINX_REPO = 'wayshub-e2e/nginx';
const NGINX_ALIAS = `${NGINX_REPO}:latest`;
const NODE_BASE = 'wayshub-e2e/node-base:bookworm';
const APP_REPO = 'wayshub-e2e/app';
const SERVER_JS = path.join(__dirname, 'test-app', 'server.js');
const DB_REPO = 'wayshub-e2e/mariadb';
const DB_SUITE = 'bookworm';
const DB_PACKAGES: readonly string[] = ['mariadb-server', 'mariadb-client'];
const DB_ENTRYPOINT = path.join(__dirname, 'mariadb-entrypoint.sh');
// The backend needs only the `mariadb` client binary: mariadb-client-core, without
// mariadb-client's perl scripts (and perl).
const NODE_DB_BASE = 'wayshub-e2e/node-mariadb-base:bookworm';
const BACKEND_REPO = 'wayshub-e2e/backend';
const BACKEND_JS = path.join(__dirname, 'test-app', 'backend.js');
// What the official node image has and the project's Dockerfiles use: npm, yarn classic and
// a `node` user. The two tools come from the npm registry (npm checks their integrity).
const NODE_BUILD_REPO = 'wayshub-e2e/node-build';
const NODE_BUILD_TOOLS: readonly string[] = ['npm@10.9.4', 'yarn@1.22.22'];

// Bump when the build steps change, so images cached by older steps are rebuilt.
const RECIPE = '3';
const RECIPE_LABEL = 'wayshub-e2e.recipe';
const VERSION_LABEL = 'wayshub-e2e.nginx-version';
const DB_VERSION_LABEL = 'wayshub-e2e.mariadb-version';

const CACHE_ROOT = '/var/cache/wayshub-e2e';
const LOCK_DIR = path.join(os.tmpdir(), 'wayshub-e2e-images.lock');
const LOCK_TIMEOUT_MS = 15 * 60 * 1000;

// Left out of the image: docker mounts its own /dev, /proc and /sys, and the
// rest is apt and documentation weight nothing in the tests reads.
const TAR_EXCLUDES = [
  './dev/*',
  './proc/*',
  './sys/*',
  './usr/share/doc/*',
  './usr/share/man/*',
  './usr/share/info/*',
  './usr/share/locale/*',
  './var/cache/apt/*',
  './var/lib/apt/lists/*',
];

const noLog: Log = () => undefined;

// ---------------------------------------------------------------- processes

interface RunOptions {
  stdio?: StdioOptions;
  input?: NodeJS.ReadableStream;
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'], env: options.env ? { ...process.env, ...options.env } : process.env });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new Error(`${cmd} not found: install it (apt-get install ${cmd})`) : err);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

export async function docker(args: readonly string[]): Promise<string> {
  const result = await run('docker', args);
  if (result.code !== 0) {
    throw new Error(
      `docker ${args[0]} failed: ${result.stderr.trim()}\n` + 'Is the Docker Engine running? (`docker info`; start it with `bash scripts/docker-up.sh`)',
    );
  }
  return result.stdout.trim();
}

export async function imageLabels(ref: string): Promise<Record<string, string> | undefined> {
  const result = await run('docker', ['image', 'inspect', '--format', '{{json .Config.Labels}}', ref]);
  if (result.code !== 0) return undefined;
  return (JSON.parse(result.stdout) as Record<string, string> | null) ?? {};
}

async function isCurrent(ref: string): Promise<boolean> {
  return (await imageLabels(ref))?.[RECIPE_LABEL] === RECIPE;
}

/**
 * After a build, removes the repository's other tags (older hashes or versions), which would
 * otherwise pile up on a developer's machine. One still used by a container stays.
 */
export async function dropOtherTags(keep: readonly string[]): Promise<void> {
  const repo = keep[0].slice(0, keep[0].lastIndexOf(':'));
  const listed = await run('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', repo]);
  const others = listed.stdout.split('\n').filter((ref) => ref.startsWith(`${repo}:`) && !keep.includes(ref));
  if (others.length > 0) await run('docker', ['rmi', ...others]);
}

// ---------------------------------------------------------------- locking

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// mkdir is atomic, so it doubles as a cross-process lock; the owner's pid
// inside lets a waiter break the lock of a build that was killed.
export async function withLock<T>(log: Log, body: () => Promise<T>, lockDir = LOCK_DIR): Promise<T> {
  const ownerFile = path.join(lockDir, 'pid');
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  let announced = false;
  for (;;) {
    try {
      await fs.mkdir(lockDir);
      await fs.writeFile(ownerFile, String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number(await fs.readFile(ownerFile, 'utf8').catch(() => ''));
    const created = (await fs.stat(lockDir).catch(() => undefined))?.mtimeMs ?? Date.now();
    // No pid file for long: the owner died between mkdir and writing it.
    const orphaned = owner === 0 && Date.now() - created > 10000;
    if ((owner > 0 && !isAlive(owner)) || orphaned) {
      await fs.rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`gave up waiting for ${lockDir} (held by pid ${owner || '?'}); if no image build is running, remove it`);
    }
    if (!announced) {
      log(`waiting for another process building the test images (lock ${lockDir}) ...`);
      announced = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  try {
    return await body();
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- rootfs

// First plain Debian archive in the host's apt sources (one-line or deb822
// format), so builds use the same mirror or proxy the host does.
async function debianMirror(): Promise<string> {
  const fallback = 'http://deb.debian.org/debian';
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  for (const name of await fs.readdir(dir).catch(() => [])) {
    if (name.endsWith('.list') || name.endsWith('.sources')) files.push(path.join(dir, name));
  }
  for (const file of files) {
    const text = await fs.readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const oneLine = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
      const deb822 = /^\s*URIs:\s*(.+)$/i.exec(line);
      const uris = oneLine ? [oneLine[1]] : deb822 ? deb822[1].trim().split(/\s+/) : [];
      const mirror = uris.find((uri) => /^https?:\/\/.+\/debian\/?$/.test(uri));
      if (mirror) return mirror.replace(/\/$/, '');
    }
  }
  return fallback;
}

export interface Rootfs {
  dir: string;
  cleanup: () => Promise<void>;
}

export async function debootstrap(name: string, suite: string, packages: readonly string[]): Promise<Rootfs> {
  if (process.getuid?.() !== 0) {
    throw new Error(`building the ${name} test image needs root (debootstrap): run the e2e tests as root once to build it`);
  }
  // One cache dir per image: debootstrap deletes files in its cache that fail
  // validation, which would race with a parallel build downloading them.
  const cacheDir = path.join(CACHE_ROOT, 'debootstrap', `${name}-${suite}`);
  const logFile = path.join(CACHE_ROOT, 'logs', `${name}-debootstrap.log`);
  await fs.mkdir(cacheDir, { recursive: true });
  await fs.mkdir(path.dirname(logFile), { recursive: true });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `wayshub-e2e-${name}-`));
  const cleanup = () => removeRootfs(dir);

  const mirror = await debianMirror();
  const fd = openSync(logFile, 'w');
  let result: RunResult;
  try {
    result = await run('debootstrap', ['--variant=minbase', `--include=${packages.join(',')}`, `--cache-dir=${cacheDir}`, suite, dir, mirror], {
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  if (result.code !== 0) {
    await cleanup();
    const tail = (await fs.readFile(logFile, 'utf8')).trim().split('\n').slice(-5).join('\n  ');
    throw new Error(
      `debootstrap of Debian ${suite} for the ${name} image failed (exit ${result.code}): ` +
        `is Debian's archive reachable at ${mirror}? See ${logFile}:\n  ${tail}`,
    );
  }
  return { dir, cleanup };
}

// debootstrap unmounts /proc, /sys and /dev binds on exit, but not if it was
// killed; never let a recursive delete walk into the host's /dev or /proc.
async function removeRootfs(dir: string): Promise<void> {
  const mountinfo = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const mounts = mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mountPoint): mountPoint is string => mountPoint !== undefined && mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const mountPoint of mounts) await run('umount', ['--lazy', mountPoint]);
  const result = await run('rm', ['-rf', '--one-file-system', dir]);
  if (result.code !== 0) throw new Error(`could not remove ${dir}: ${result.stderr.trim()}`);
}

export async function chroot(dir: string, args: readonly string[]): Promise<RunResult> {
  return run('chroot', [dir, ...args]);
}

// Streams the rootfs into `docker import`, with the Dockerfile-style changes.
export async function importRootfs(dir: string, tag: string, changes: readonly string[]): Promise<void> {
  const tar = spawn('tar', ['-C', dir, '--numeric-owner', ...TAR_EXCLUDES.map((pattern) => `--exclude=${pattern}`), '-c', '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tarErr = '';
  tar.stderr.on('data', (chunk: Buffer) => {
    tarErr += chunk.toString();
  });
  // 'exit', not 'close': tar's stdout belongs to docker, so 'close' may never come.
  const tarDone = new Promise<number>((resolve) => tar.on('exit', (code) => resolve(code ?? 1)));
  const changeArgs = [...changes, `LABEL ${RECIPE_LABEL}=${RECIPE}`].flatMap((change) => ['--change', change]);
  const importing = run('docker', ['import', ...changeArgs, '-', tag], { stdio: [tar.stdout, 'pipe', 'pipe'] });
  // Close our end of the pipe: if docker dies, tar must get EPIPE, not block on a reader that is us.
  tar.stdout.destroy();
  const imported = await importing;
  const tarCode = await tarDone;
  if (imported.code !== 0) {
    throw new Error(`docker import of ${tag} failed: ${imported.stderr.trim()}\nIs the Docker Engine running? (\`docker info\`)`);
  }
  if (tarCode !== 0) throw new Error(`tar of ${dir} failed: ${tarErr.trim()}`);
}

// `docker import --change STOPSIGNAL` needs Engine API 1.42 (Docker 23).
async function supportsStopSignal(): Promise<boolean> {
  const [major, minor] = (await docker(['version', '--format', '{{.Server.APIVersion}}'])).split('.').map(Number);
  return major > 1 || (major === 1 && minor >= 42);
}

export function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

// ---------------------------------------------------------------- nginx

function nginxTag(version: string): string {
  return `${NGINX_REPO}:${version}-debian`;
}

function atLeast(version: number[], minimum: readonly number[]): boolean {
  for (let i = 0; i < minimum.length; i++) {
    const part = version[i] ?? 0;
    if (part !== minimum[i]) return part > minimum[i];
  }
  return true;
}

async function cachedNginx(): Promise<string | undefined> {
  const labels = await imageLabels(NGINX_ALIAS);
  const version = labels?.[VERSION_LABEL];
  if (labels?.[RECIPE_LABEL] !== RECIPE || !version) return undefined;
  const tag = nginxTag(version);
  await docker(['tag', NGINX_ALIAS, tag]); // restores the versioned tag if only it was removed
  return tag;
}

async function buildNginx(log: Log): Promise<string> {
  const started = Date.now();
  log('building nginx image from Debian sid (about 20 s) ...');
  // In sid, nginx-light is only a transitional package (nginx + the echo
  // module); `nginx` itself has everything compiled in that the stack uses.
  // No wget, curl or node, like an nginx base on Debian: the stack's default healthcheck
  // must pass with the shell alone (bash's /dev/tcp).
  const rootfs = await debootstrap('nginx', 'sid', ['nginx']);
  try {
    const { dir } = rootfs;
    const probe = await chroot(dir, ['nginx', '-v']);
    const version = /nginx\/(\d+\.\d+\.\d+)/.exec(probe.stderr)?.[1];
    if (!version) throw new Error(`could not read the nginx version from \`nginx -v\`: ${probe.stderr.trim()}`);
    if (!atLeast(version.split('.').map(Number), MIN_NGINX_VERSION)) {
      throw new Error(`Debian sid ships nginx ${version}, older than the ${MIN_NGINX_VERSION.join('.')} the stack needs`);
    }
    // Same layout as the official image: log files point at the container's
    // stdout/stderr, and the directories nginx writes to exist.
    for (const sub of ['var/log/nginx', 'var/lib/nginx', 'run']) await fs.mkdir(path.join(dir, sub), { recursive: true });
    for (const [file, target] of [
      ['access.log', '/dev/stdout'],
      ['error.log', '/dev/stderr'],
    ]) {
      const link = path.join(dir, 'var/log/nginx', file);
      await fs.rm(link, { force: true });
      await fs.symlink(target, link);
    }
    const tag = nginxTag(version);
    const changes = ['CMD ["nginx","-g","daemon off;"]', `LABEL ${VERSION_LABEL}=${version}`];
    if (await supportsStopSignal()) changes.push('STOPSIGNAL SIGQUIT');
    else log('note: this Docker Engine cannot set STOPSIGNAL on import; nginx will get SIGTERM (fast shutdown)');
    await importRootfs(dir, tag, changes);
    await docker(['tag', tag, NGINX_ALIAS]);
    await dropOtherTags([tag, NGINX_ALIAS]);
    log(`nginx image ready: ${tag} in ${seconds(started)}`);
    return tag;
  } finally {
    await rootfs.cleanup();
  }
}

async function nginxImage(log: Log): Promise<string> {
  return (await cachedNginx()) ?? buildNginx(log);
}

// ---------------------------------------------------------------- app

/** A test app image's tag: its repository and the hash of its one script, so edits rebuild it. */
async function scriptTag(repo: string, script: string): Promise<string> {
  const hash = createHash('sha256')
    .update(await fs.readFile(script))
    .digest('hex');
  return `${repo}:${hash.slice(0, 12)}`;
}

const appTag = () => scriptTag(APP_REPO, SERVER_JS);

// Node and its libraries come from a base image built once; the app image
// only adds server.js on top, so editing the app rebuilds in about a second.
async function buildNodeBase(log: Log): Promise<void> {
  const started = Date.now();
  log('building Node base image from Debian bookworm (about 35 s) ...');
  // No wget or curl, like the official node:*-slim images: the default healthcheck uses node.
  const rootfs = await debootstrap('node', 'bookworm', ['nodejs', 'ca-certificates']);
  try {
    const probe = await chroot(rootfs.dir, ['node', '--version']);
    if (probe.code !== 0) throw new Error(`node does not run in the bookworm rootfs: ${probe.stderr.trim()}`);
    await fs.mkdir(path.join(rootfs.dir, 'app'));
    await importRootfs(rootfs.dir, NODE_BASE, ['ENV PORT=3000', 'WORKDIR /app']);
    log(`Node base image ready: ${NODE_BASE} (node ${probe.stdout.trim()}) in ${seconds(started)}`);
  } finally {
    await rootfs.cleanup();
  }
}

/** A test app image: its one script copied onto a cached Node base and committed with a CMD. */
async function layerScript(what: string, base: string, script: string, tag: string, changes: string[], log: Log): Promise<string> {
  const started = Date.now();
  const target = `/app/${path.basename(script)}`;
  const container = await docker(['create', base, 'true']);
  try {
    await docker(['cp', script, `${container}:${target}`]);
    const all = [`CMD ["node","${target}"]`, ...changes];
    await docker(['commit', ...all.flatMap((c) => ['--change', c]), container, tag]);
  } finally {
    await run('docker', ['rm', '-f', container]);
  }
  await dropOtherTags([tag]);
  log(`${what} image ready: ${tag} in ${seconds(started)}`);
  return tag;
}

// Two images start from the Node base: build it once even when both are built at once.
let nodeBaseReady: Promise<void> | undefined;
function nodeBase(log: Log): Promise<void> {
  nodeBaseReady ??= (async () => {
    if (!(await isCurrent(NODE_BASE))) await buildNodeBase(log);
  })().finally(() => {
    nodeBaseReady = undefined;
  });
  return nodeBaseReady;
}

async function appImage(log: Log): Promise<string> {
  const tag = await appTag();
  if (await isCurrent(tag)) return tag;
  await nodeBase(log);
  return layerScript('app', NODE_BASE, SERVER_JS, tag, [], log);
}

// ---------------------------------------------------------------- node-build

export interface BuildOptions {
  /** Let the build reach the network. @default false */
  network?: boolean;
  /** Build with BuildKit through this docker client (see buildKitClient). @default the classic builder */
  buildKit?: string;
  /** Build only up to this stage. */
  target?: string;
  /** Run every step again, even those the builder has cached. @default false */
  noCache?: boolean;
}

/**
 * `docker build`, without network unless asked, so a build can't quietly lean on anything the
 * machine lacks.
 */
export async function dockerBuild(
  dockerfile: string,
  context: string,
  tag: string,
  buildArgs: Record<string, string> = {},
  options: BuildOptions = {},
): Promise<RunResult> {
  const args = [
    'build',
    ...(options.network ? [] : ['--network', 'none']),
    ...(options.target ? ['--target', options.target] : []),
    ...(options.noCache ? ['--no-cache'] : []),
    ...(options.buildKit ? ['--progress', 'plain'] : ['--force-rm']),
    '-f',
    dockerfile,
    ...Object.entries(buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    '-t',
    tag,
    context,
  ];
  return run(options.buildKit ?? 'docker', args, { env: { DOCKER_BUILDKIT: options.buildKit ? '1' : '0' } });
}

/**
 * A docker client that builds with BuildKit (which reads <Dockerfile>.dockerignore): `docker`
 * when it has the buildx plugin, else Debian's docker.io client (20.10 has BuildKit built in;
 * 23 and later need buildx).
 */
export async function buildKitClient(): Promise<string> {
  if ((await run('docker', ['buildx', 'version'])).code === 0) return 'docker';
  const debian = await run('/usr/bin/docker', ['version', '--format', '{{.Client.Version}}']).catch(() => undefined);
  if (debian?.code === 0 && Number(debian.stdout.split('.')[0]) < 23) return '/usr/bin/docker';
  throw new Error("no docker client here builds with BuildKit: install the buildx plugin, or Debian's docker.io (apt-get install -y docker.io)");
}

// The host's CA bundle: where TLS to the npm registry is intercepted, builds with network
// trust what the host trusts (as NODE_EXTRA_CA_CERTS, on top of Node's own).
const HOST_CA = '/etc/ssl/certs/ca-certificates.crt';

async function nodeBuildTag(): Promise<string> {
  const ca = await fs.readFile(HOST_CA).catch(() => Buffer.alloc(0));
  const hash = createHash('sha256')
    .update(JSON.stringify([RECIPE, NODE_BUILD_TOOLS]))
    .update(ca)
    .digest('hex');
  return `${NODE_BUILD_REPO}:bookworm-${hash.slice(0, 12)}`;
}

async function buildNodeBuild(tag: string, log: Log): Promise<string> {
  const started = Date.now();
  await nodeBase(log);
  log(`building ${tag}: the Node base plus ${NODE_BUILD_TOOLS.join(' and ')} from the npm registry ...`);
  const context = await fs.mkdtemp(path.join(os.tmpdir(), 'wayshub-e2e-node-build-'));
  try {
    const packed = await run('npm', ['pack', '--silent', '--pack-destination', context, ...NODE_BUILD_TOOLS]);
    if (packed.code !== 0) {
      throw new Error(`npm pack ${NODE_BUILD_TOOLS.join(' ')} failed: is the npm registry reachable? ${packed.stderr.trim().split('\n').slice(-3).join(' ')}`);
    }
    await fs.copyFile(HOST_CA, path.join(context, 'host-ca.crt')).catch(() => fs.writeFile(path.join(context, 'host-ca.crt'), ''));
    const lines = [
      `FROM ${NODE_BASE}`,
      'COPY host-ca.crt /usr/local/share/wayshub-e2e/host-ca.crt',
      'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/wayshub-e2e/host-ca.crt NPM_CONFIG_UPDATE_NOTIFIER=false',
      'COPY *.tgz /tmp/',
      'RUN for tool in npm yarn; do mkdir -p /usr/local/lib/node_modules/$tool \\',
      '      && tar -xzf /tmp/$tool-*.tgz -C /usr/local/lib/node_modules/$tool --strip-components=1; done \\',
      ' && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\',
      ' && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\',
      ' && ln -s ../lib/node_modules/yarn/bin/yarn.js /usr/local/bin/yarn \\',
      ' && rm /tmp/*.tgz \\',
      " && echo 'node:x:1000:1000::/home/node:/bin/sh' >> /etc/passwd && echo 'node:x:1000:' >> /etc/group \\",
      ' && mkdir -p /home/node && chown 1000:1000 /home/node \\',
      ' && npm --version && yarn --version',
      `LABEL ${RECIPE_LABEL}=${RECIPE}`,
    ];
    await fs.writeFile(path.join(context, 'Dockerfile'), `${lines.join('\n')}\n`);
    const built = await dockerBuild(path.join(context, 'Dockerfile'), context, tag);
    if (built.code !== 0) throw new Error(`docker build of ${tag} failed:\n${(built.stdout + built.stderr).trim().split('\n').slice(-15).join('\n')}`);
    await dropOtherTags([tag]);
    log(`Node build image ready: ${tag} in ${seconds(started)}`);
    return tag;
  } finally {
    await fs.rm(context, { recursive: true, force: true });
  }
}

async function nodeBuildImage(log: Log): Promise<string> {
  const tag = await nodeBuildTag();
  return (await isCurrent(tag)) ? tag : buildNodeBuild(tag, log);
}

// ---------------------------------------------------------------- database

// The tag carries a hash of everything the image is made of, the entrypoint included.
async function dbTag(): Promise<string> {
  const hash = createHash('sha256')
    .update(JSON.stringify([RECIPE, DB_SUITE, DB_PACKAGES]))
    .update(await fs.readFile(DB_ENTRYPOINT))
    .digest('hex');
  return `${DB_REPO}:${DB_SUITE}-${hash.slice(0, 12)}`;
}

async function buildDb(tag: string, log: Log): Promise<string> {
  const started = Date.now();
  log(`building MariaDB image from Debian ${DB_SUITE} (about 30 s, a minute with nothing downloaded yet) ...`);
  const rootfs = await debootstrap('mariadb', DB_SUITE, DB_PACKAGES);
  try {
    const { dir } = rootfs;
    const probe = await chroot(dir, ['mariadbd', '--version']);
    const version = /Ver\s+(\S+)/.exec(probe.stdout)?.[1];
    if (probe.code !== 0 || !version) throw new Error(`mariadbd does not run in the ${DB_SUITE} rootfs: ${probe.stderr.trim()}`);
    // The healthcheck the stack gives the database calls mysqladmin (mariadb-admin's old name).
    const admin = await chroot(dir, ['mysqladmin', '--version']);
    if (admin.code !== 0) throw new Error(`mysqladmin does not run in the ${DB_SUITE} rootfs: ${admin.stderr.trim()}`);
    // The package's postinst made a database (root by unix_socket only, no app user): the
    // entrypoint makes its own in the volume. Left in the image, Docker would copy it into
    // every fresh named volume and the entrypoint would take it for an initialized one.
    const dataDir = path.join(dir, 'var/lib/mysql');
    for (const entry of await fs.readdir(dataDir)) await fs.rm(path.join(dataDir, entry), { recursive: true, force: true });
    const entrypoint = path.join(dir, 'usr/local/bin/docker-entrypoint.sh');
    await fs.copyFile(DB_ENTRYPOINT, entrypoint);
    await fs.chmod(entrypoint, 0o755);
    await importRootfs(dir, tag, [
      'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]',
      'CMD ["mysqld"]',
      'ENV LANG=C.UTF-8',
      'EXPOSE 3306',
      `LABEL ${DB_VERSION_LABEL}=${version}`,
    ]);
    await dropOtherTags([tag]);
    log(`MariaDB image ready: ${tag} (mariadbd ${version}) in ${seconds(started)}`);
    return tag;
  } finally {
    await rootfs.cleanup();
  }
}

async function dbImage(log: Log): Promise<string> {
  const tag = await dbTag();
  return (await isCurrent(tag)) ? tag : buildDb(tag, log);
}

// ---------------------------------------------------------------- backend

const backendTag = () => scriptTag(BACKEND_REPO, BACKEND_JS);

// Like the Node base, plus the mariadb client the backend talks to the database with.
async function buildNodeDbBase(log: Log): Promise<void> {
  const started = Date.now();
  log('building Node + mariadb client base image from Debian bookworm (about 30 s) ...');
  // curl and GNU wget, so the healthcheck tests can try each HTTP client the check may find.
  const rootfs = await debootstrap('node-mariadb', 'bookworm', ['nodejs', 'mariadb-client-core', 'curl', 'wget', 'ca-certificates']);
  try {
    const probe = await chroot(rootfs.dir, ['node', '--version']);
    if (probe.code !== 0) throw new Error(`node does not run in the bookworm rootfs: ${probe.stderr.trim()}`);
    const client = await chroot(rootfs.dir, ['mariadb', '--version']);
    if (client.code !== 0) throw new Error(`the mariadb client does not run in the bookworm rootfs: ${client.stderr.trim()}`);
    await fs.mkdir(path.join(rootfs.dir, 'app'));
    // No PORT here: backend.js listens on 5000 unless the container is given a PORT.
    await importRootfs(rootfs.dir, NODE_DB_BASE, ['WORKDIR /app']);
    log(`Node + mariadb client base image ready: ${NODE_DB_BASE} (node ${probe.stdout.trim()}) in ${seconds(started)}`);
  } finally {
    await rootfs.cleanup();
  }
}

async function backendImage(log: Log): Promise<string> {
  const tag = await backendTag();
  if (await isCurrent(tag)) return tag;
  if (!(await isCurrent(NODE_DB_BASE))) await buildNodeDbBase(log);
  return layerScript('backend', NODE_DB_BASE, BACKEND_JS, tag, ['EXPOSE 5000'], log);
}

// The tag if it is built by the current recipe.
async function currentTag(tag: Promise<string>): Promise<string | undefined> {
  const name = await tag;
  return (await isCurrent(name)) ? name : undefined;
}

// Waits for every build (the lock is held until all have stopped), then throws if any failed.
async function allBuilt<T extends readonly unknown[]>(builds: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(builds);
  const errors = settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw new Error(`${errors.length} test image builds failed:\n${errors.map((err) => `- ${err instanceof Error ? err.message : String(err)}`).join('\n')}`);
  }
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

// ---------------------------------------------------------------- exports

/**
 * nginx ≥ 1.27.3 from Debian sid (`wayshub-e2e/nginx:<version>-debian`) and the test app
 * (server.js on Debian's Node, tagged by its hash); the missing ones are built in parallel.
 */
export async function ensureTestImages(log: Log = noLog): Promise<TestImages> {
  const [nginx, app] = await Promise.all([cachedNginx(), currentTag(appTag())]);
  if (nginx && app) return { nginx, app };
  return withLock(log, async () => {
    const [nginxBuilt, appBuilt] = await allBuilt<[string, string]>([nginxImage(log), appImage(log)]);
    return { nginx: nginxBuilt, app: appBuilt };
  });
}

/**
 * The two above, MariaDB from Debian bookworm with an entrypoint following the official mysql
 * image's MYSQL_* contract (mariadb-entrypoint.sh), the test backend (backend.js with the
 * mariadb client) and the Node build image; the missing ones are built in parallel.
 */
export async function ensureAllTestImages(log: Log = noLog): Promise<AllTestImages> {
  const [nginx, app, db, backend, nodeBuild] = await Promise.all([
    cachedNginx(),
    currentTag(appTag()),
    currentTag(dbTag()),
    currentTag(backendTag()),
    currentTag(nodeBuildTag()),
  ]);
  if (nginx && app && db && backend && nodeBuild) return { nginx, app, db, backend, nodeBuild };
  return withLock(log, async () => {
    const [nginxBuilt, appBuilt, dbBuilt, backendBuilt, nodeBuildBuilt] = await allBuilt<[string, string, string, string, string]>([
      nginxImage(log),
      appImage(log),
      dbImage(log),
      backendImage(log),
      nodeBuildImage(log),
    ]);
    return { nginx: nginxBuilt, app: appBuilt, db: dbBuilt, backend: backendBuilt, nodeBuild: nodeBuildBuilt };
  });
}
