// The benchmark's lab: the stack deployed through the local apply (our nginx exactly as
// synthesized, N replicas), HAProxy and Caddy beside it on the same network and the same
// replicas, nginx variants for the tuning rows, and wrk in a container of its own. Every target
// and every replica runs with the same CPU and memory limits.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { CONF_DIR, NGINX_CONF_PATH, SITE_CONF_PATH, UPSTREAM_CONF_PATH } from '../nginx/render';
import { freePort } from '../__tests__/support/http';
import { Deployment, deployStack } from '../__tests__/support/deploy';
import { ROTATED_LOGS, STACK_LABEL } from '../constructs/docker/labels';
import { ACCESS_LOG_DIR } from '../constructs/engines/nginx-proxy';
import { replicaNames } from '../__tests__/support/replicas';
import { synthToDir } from '../__tests__/support/synth';
import { ensureTestImages } from '../__tests__/support/test-images';
import type { TestImages } from '../__tests__/support/test-images';
import { containerAccounting, logPipelineCpuNs } from './cgroup';
import { BenchImage, ensureBenchImage, ensureStaticImage } from './images';
import { caddyConfig, haproxyConfig } from './targets';
import { ACCESS_LOG_TO_DOCKER, NO_ACCESS_LOG } from './tuning';
import { RunFigures, parseWrk } from './wrk';

export const NAME = 'bench';
export const DOMAIN = 'bench.localhost';
export const APP_PORT = 3000;
export const LIMITS = ['--cpus', '1', '--memory', '512m', '--memory-swap', '512m'];
const NETWORK = `${NAME}-net`;
const ALIAS = `${NAME}-app`;
const WRK = `${NAME}-wrk`;

export type Log = (line: string) => void;
/** What the replicas are: the test app (Node) or nginx serving fixed files. */
export type AppKind = 'node' | 'static';
/** direct, nginx, haproxy, caddy, each proxy with no access log (`:no-log`), or a tuning variant of our nginx: `nginx:<variant>`. */
export type TargetKey = string;
/** The suffix of a target with no access log: `nginx:no-log`, `haproxy:no-log`, `caddy:no-log`. */
export const NO_LOG = ':no-log';
/** Our nginx with WAYSHUB_ACCESS_LOG=docker: a peer in every section, like the one with no log. */
export const LOG_DOCKER = ':log-docker';

export interface Target {
  container: string;
  port: number;
}

/** One wrk run against one target, with where the CPU went meanwhile. */
export interface Measured extends RunFigures {
  targetCpuSeconds: number;
  cpuSecondsPer10k: number;
  /** All replicas together. */
  replicaCpuSeconds: number;
  wrkCpuSeconds: number;
  /** The Docker daemon and the containers' shims: they carry every line a container logs. */
  logPipelineCpuSeconds: number;
  /** New TCP connections the replicas accepted during the run (all of them together). */
  replicaConnectionsOpened: number;
  peakMemoryBytes: number;
}

export interface WrkLoad {
  path: string;
  seconds: number;
  connections: number;
  /** A Lua script in the lab's script directory, e.g. for POST bodies. */
  script?: string;
  headers?: Record<string, string>;
}

export const run = promisify(execFile);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** A variant's container and its access log's volume. */
function removeContainer(container: string): void {
  execFileSync('docker', ['rm', '-f', container], { stdio: 'ignore' });
  execFileSync('docker', ['volume', 'rm', '-f', `${container}-log`], { stdio: 'ignore' });
}

export class BenchLab {
  static async open(log: Log): Promise<BenchLab> {
    const images = await ensureTestImages(log);
    const tools = await ensureBenchImage(log);
    const staticImage = await ensureStaticImage(images.nginx, log);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-bench-'));
    return new BenchLab(log, images, tools, staticImage, work, await freePort());
  }

  private deployment?: Deployment;
  private readonly variants = new Map<string, string>();
  /** Variants that are peers in every section (our nginx with no access log). */
  private readonly peerVariants = new Map<string, string>();
  private peersUp = false;
  kind: AppKind = 'node';
  replicas = 0;

  private constructor(
    private readonly log: Log,
    readonly images: TestImages,
    readonly tools: BenchImage,
    private readonly staticImage: string,
    readonly work: string,
    private readonly httpPort: number,
  ) {}

  /** Deploys (or changes) the stack: this kind of replica, this many, this app env. */
  async deploy(kind: AppKind, replicas: number, env: Record<string, string> = {}): Promise<number> {
    return (await this.prepare(kind, env))(replicas);
  }

  /**
   * Synthesizes now (CPU work that would stall a load running in this process) and returns the
   * apply, which only waits on child processes: it can run while a load is measured.
   */
  async prepare(kind: AppKind, env: Record<string, string> = {}): Promise<(replicas: number) => Promise<number>> {
    const settings = {
      name: NAME,
      domain: DOMAIN,
      app: {
        image: kind === 'node' ? this.images.app : this.staticImage,
        port: APP_PORT,
        env,
        // nginx's master hands its temp directories to the worker user, as the proxy's does.
        ...(kind === 'static' ? { addCapabilities: ['CHOWN', 'SETGID', 'SETUID'] } : {}),
      },
      proxy: { image: this.images.nginx, httpPort: this.httpPort },
    };
    const deployment = await deployStack(synthToDir(settings), { workDir: path.join(this.work, 'stack'), log: this.log });
    return async (replicas: number) => {
      const started = Date.now();
      this.deployment = deployment;
      await deployment.apply({ replicas });
      const applyMs = Date.now() - started;
      this.kind = kind;
      this.replicas = replicas;
      const { stdout } = await run('docker', ['ps', '--filter', `label=${STACK_LABEL}=${NAME}`, '--format', '{{.Names}}']);
      const limited = stdout.split('\n').filter((n) => n.startsWith(`${NAME}-app-`) || n === `${NAME}-proxy`);
      await Promise.all(limited.map((name) => run('docker', ['update', ...LIMITS, name])));
      if (!this.peersUp) this.startPeers();
      return applyMs;
    };
  }

  /** Every replica held to this many CPUs (the other limits stay). */
  async limitReplicas(cpus: number): Promise<void> {
    await Promise.all(this.replicaNames().map((name) => run('docker', ['update', '--cpus', String(cpus), name])));
  }

  /** The apply alone, for event timings (limits are set by the next deploy()). */
  applyReplicas(replicas: number) {
    if (!this.deployment) throw new Error('bench: nothing deployed');
    return this.deployment.apply({ replicas });
  }

  private startPeers(): void {
    const threads = os.cpus().length;
    const mount = (file: string, at: string, mode = 'ro') => ['-v', `${path.join(this.work, file)}:${at}:${mode}`];
    this.removePeers();
    // Caddy's log file on the host's disk: in the container's memory it would count against its limit.
    fs.mkdirSync(path.join(this.work, 'caddy-logs'), { recursive: true, mode: 0o777 });
    for (const logging of ['best', 'off'] as const) {
      const suffix = logging === 'off' ? NO_LOG : '';
      const file = logging === 'off' ? '-no-log' : '';
      fs.writeFileSync(path.join(this.work, `haproxy${file}.cfg`), haproxyConfig(ALIAS, APP_PORT, threads, logging));
      fs.writeFileSync(path.join(this.work, `Caddyfile${file}`), caddyConfig(ALIAS, APP_PORT, logging));
      const peer = (name: string, ...args: string[]) =>
        docker('run', '-d', '--name', this.target(`${name}${suffix}`).container, '--network', NETWORK, ...LIMITS, ...args);
      peer('haproxy', ...mount(`haproxy${file}.cfg`, '/etc/haproxy/haproxy.cfg'), this.tools.tag, 'haproxy', '-W', '-f', '/etc/haproxy/haproxy.cfg');
      peer(
        'caddy',
        ...mount(`Caddyfile${file}`, '/etc/caddy/Caddyfile'),
        ...(logging === 'best' ? mount('caddy-logs', '/var/log/caddy', 'rw') : []),
        this.tools.tag,
        'caddy',
        'run',
        '--config',
        '/etc/caddy/Caddyfile',
        '--adapter',
        'caddyfile',
      );
    }
    // The load generator: its own container with no limit; its CPU-seconds are recorded.
    fs.mkdirSync(path.join(this.work, 'scripts'), { recursive: true });
    docker('run', '-d', '--name', WRK, '--network', NETWORK, ...mount('scripts', '/scripts'), this.tools.tag, 'sleep', 'infinity');
    // Our nginx with no access log, and with its log in Docker's (WAYSHUB_ACCESS_LOG=docker,
    // rotated as the stack's containers' logs are): the live proxy's config with that one change.
    this.addVariant(NO_LOG.slice(1), NO_ACCESS_LOG, true);
    const dockerLog = ['--log-driver', ROTATED_LOGS.logDriver, ...Object.entries(ROTATED_LOGS.logOpts).flatMap(([k, v]) => ['--log-opt', `${k}=${v}`])];
    this.addVariant(LOG_DOCKER.slice(1), ACCESS_LOG_TO_DOCKER, true, dockerLog);
    this.peersUp = true;
  }

  /**
   * A variant of our nginx for a tuning row: the live proxy's config files, changed by `edit`,
   * in a container of its own (same image, same limits, same network), with `runArgs` for
   * `docker run`. Its access log file, if it keeps one, is on a volume of its own, as the proxy's is.
   */
  addVariant(name: string, edit: (files: Record<string, string>) => Record<string, string>, peer = false, runArgs: readonly string[] = []): void {
    const files = Object.fromEntries([NGINX_CONF_PATH, UPSTREAM_CONF_PATH, SITE_CONF_PATH].map((p) => [p, docker('exec', `${NAME}-proxy`, 'cat', p)]));
    const changed = edit(files);
    const unchanged = Object.keys(files).every((p) => files[p] === changed[p]);
    if (unchanged) throw new Error(`bench: the tuning variant "${name}" changes nothing in the config; has the renderer changed?`);
    const dir = path.join(this.work, 'variants', name);
    fs.mkdirSync(dir, { recursive: true });
    for (const [p, content] of Object.entries(changed)) fs.writeFileSync(path.join(dir, path.basename(p)), content);
    const container = `${NAME}-nginx-${name}`;
    removeContainer(container);
    // The proxy's read-only root and tmpfs mounts too: request bodies and buffers land in memory there.
    const tmpfs = JSON.parse(docker('inspect', '-f', '{{json .HostConfig.Tmpfs}}', `${NAME}-proxy`)) as Record<string, string> | null;
    const mounts = Object.entries(tmpfs ?? {}).flatMap(([at, opts]) => ['--tmpfs', `${at}:${opts}`]);
    docker(
      'run',
      '-d',
      '--name',
      container,
      '--network',
      NETWORK,
      ...LIMITS,
      '--read-only',
      ...mounts,
      '-v',
      `${dir}:${CONF_DIR}:ro`,
      '-v',
      `${container}-log:${ACCESS_LOG_DIR}`,
      ...runArgs,
      this.images.nginx,
      'nginx',
      '-c',
      NGINX_CONF_PATH,
      '-g',
      'daemon off;',
    );
    (peer ? this.peerVariants : this.variants).set(name, container);
  }

  /** Removes the tuning variants (not the peers). */
  removeVariants(): void {
    for (const container of this.variants.values()) removeContainer(container);
    this.variants.clear();
  }

  replicaNames(): string[] {
    return replicaNames(NAME);
  }

  target(key: TargetKey): Target {
    if (key === 'direct') return { container: this.replicaNames()[0], port: APP_PORT };
    if (key === 'nginx') return { container: `${NAME}-proxy`, port: 80 };
    const peer = /^(haproxy|caddy)(:no-log)?$/.exec(key);
    if (peer) return { container: `${NAME}-${peer[1]}${peer[2] ? '-no-log' : ''}`, port: 80 };
    const name = key.replace(/^nginx:/, '');
    const variant = this.variants.get(name) ?? this.peerVariants.get(name);
    if (!variant) throw new Error(`bench: no target ${key}`);
    return { container: variant, port: 80 };
  }

  /** The target's address on the Docker network, reachable from the host. */
  address(key: TargetKey): string {
    const t = this.target(key);
    const ip = docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`, t.container);
    return `${ip}:${t.port}`;
  }

  writeScript(name: string, lua: string): void {
    fs.mkdirSync(path.join(this.work, 'scripts'), { recursive: true });
    fs.writeFileSync(path.join(this.work, 'scripts', name), lua);
  }

  /** wrk against one target, with the CPU of the target, the replicas, wrk and the log pipeline. */
  measure(key: TargetKey, load: WrkLoad): Measured {
    const t = this.target(key);
    const acct = containerAccounting(t.container);
    const replicas = this.replicaNames().map(containerAccounting);
    const wrk = containerAccounting(WRK);
    acct.resetPeak();
    const before = {
      target: acct.cpuNs(),
      wrk: wrk.cpuNs(),
      replicas: replicas.map((r) => r.cpuNs()),
      logs: logPipelineCpuNs(),
      accepted: replicas.map((r) => r.acceptedConnections()),
    };
    const args = [
      'exec',
      WRK,
      'wrk',
      `-t${Math.min(2, load.connections)}`,
      `-c${load.connections}`,
      `-d${load.seconds}s`,
      '--latency',
      '-H',
      `Host: ${DOMAIN}`,
    ];
    for (const [k, v] of Object.entries(load.headers ?? {})) args.push('-H', `${k}: ${v}`);
    if (load.script) args.push('-s', `/scripts/${load.script}`);
    args.push(`http://${t.container}:${t.port}${load.path}`);
    const figures = parseWrk(docker(...args));
    const cpu = (acct.cpuNs() - before.target) / 1e9;
    return {
      ...figures,
      targetCpuSeconds: cpu,
      cpuSecondsPer10k: figures.requests > 0 ? (cpu / figures.requests) * 10_000 : 0,
      replicaCpuSeconds: replicas.reduce((sum, r, i) => sum + (r.cpuNs() - before.replicas[i]) / 1e9, 0),
      wrkCpuSeconds: (wrk.cpuNs() - before.wrk) / 1e9,
      logPipelineCpuSeconds: (logPipelineCpuNs() - before.logs) / 1e9,
      replicaConnectionsOpened: replicas.reduce((sum, r, i) => sum + r.acceptedConnections() - before.accepted[i], 0),
      peakMemoryBytes: acct.peakBytes(),
    };
  }

  private removePeers(): void {
    const peers = ['haproxy', 'caddy'].flatMap((p) => [`${NAME}-${p}`, `${NAME}-${p}-no-log`]);
    for (const name of [...peers, WRK]) execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
    for (const container of this.peerVariants.values()) removeContainer(container);
    this.peerVariants.clear();
  }

  async close(): Promise<void> {
    this.removeVariants();
    this.removePeers();
    await this.deployment?.destroy({ volumes: true }).catch((e: unknown) => this.log(`clean-up: ${String(e)}`));
    fs.rmSync(this.work, { recursive: true, force: true });
  }
}
