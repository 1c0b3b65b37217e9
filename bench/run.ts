// `npm run bench [-- --smoke] [--replicas N] [--rounds R] [--seconds S] [--connections C]`
//
// Deploys the stack through the local apply with N replicas of the test app, starts HAProxy and
// Caddy beside its nginx (same network, same replicas, same CPU and memory limits), and loads
// four targets in turn, interleaved, R rounds: one replica directly, our nginx as synthesized,
// HAProxy, Caddy. wrk runs in a container of its own on the same network, outside the targets.
// Each run records req/s, latency percentiles, errors, the target's CPU-seconds per 10k requests
// (from its cgroup) and its peak memory. Writes bench/results/<date>.json and .md.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { freePort } from '../__tests__/support/http';
import { LocalApply } from '../__tests__/support/local-apply';
import { replicaNames } from '../__tests__/support/replicas';
import { synthToDir } from '../__tests__/support/synth';
import { ensureTestImages } from '../__tests__/support/test-images';
import { ensureBenchImage } from './images';
import { RunFigures, parseWrk } from './wrk';
import { Report, TargetKey, renderReport } from './report';
import { caddyConfig, haproxyConfig } from './targets';

const NAME = 'bench';
const DOMAIN = 'bench.localhost';
const PORT = 3000;
const LIMITS = ['--cpus', '1', '--memory', '512m', '--memory-swap', '512m'];
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

interface Options {
  smoke: boolean;
  replicas: number;
  rounds: number;
  seconds: number;
  connections: number;
}

function options(argv: string[]): Options {
  const o: Options = { smoke: false, replicas: 3, rounds: 3, seconds: 6, connections: 32 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--smoke') {
      Object.assign(o, { smoke: true, replicas: 2, rounds: 1, seconds: 2, connections: 8 });
      continue;
    }
    const key = { '--replicas': 'replicas', '--rounds': 'rounds', '--seconds': 'seconds', '--connections': 'connections' }[arg] as keyof Options | undefined;
    const value = Number(argv[++i]);
    if (!key || !Number.isInteger(value) || value < 1 || value > 256) {
      console.error(`bench: invalid ${arg} ${argv[i] ?? ''}; usage: npm run bench -- [--smoke] [--replicas N] [--rounds R] [--seconds S] [--connections C]`);
      process.exit(2);
    }
    (o as unknown as Record<string, number>)[key] = value;
  }
  return o;
}

/** cgroup v1 (cgroupfs) accounting of a container: CPU nanoseconds and peak memory bytes. */
function cgroup(id: string) {
  const cpu = `/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`;
  const peak = `/sys/fs/cgroup/memory/docker/${id}/memory.max_usage_in_bytes`;
  if (!fs.existsSync(cpu)) throw new Error(`no cgroup v1 accounting for container ${id} at ${cpu}: this harness reads cgroupfs (docker info: CgroupVersion 1)`);
  return {
    cpuNs: () => Number(fs.readFileSync(cpu, 'utf8')),
    peakBytes: () => Number(fs.readFileSync(peak, 'utf8')),
    resetPeak: () => fs.writeFileSync(peak, '0'),
  };
}

const fullId = (name: string) => docker('inspect', '-f', '{{.Id}}', name);

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const started = new Date();
  const images = await ensureTestImages(log);
  const tools = await ensureBenchImage(log);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-bench-'));
  const stackDir = synthToDir({
    name: NAME,
    domain: DOMAIN,
    app: { image: images.app, port: PORT },
    proxy: { image: images.nginx, httpPort: await freePort() },
  });
  const deployment = await LocalApply.fromStackDir(stackDir, { workDir: path.join(work, 'stack'), log });
  const peers = [`${NAME}-haproxy`, `${NAME}-caddy`, `${NAME}-wrk`];
  try {
    log(`deploying ${o.replicas} replicas of the test app behind the synthesized nginx ...`);
    await deployment.apply({ replicas: o.replicas });
    const replicas = replicaNames(NAME);
    const network = `${NAME}-net`;
    const alias = `${NAME}-app`;
    for (const name of [...replicas, `${NAME}-proxy`]) docker('update', ...LIMITS, name);
    const threads = os.cpus().length;
    fs.writeFileSync(path.join(work, 'haproxy.cfg'), haproxyConfig(alias, PORT, threads));
    fs.writeFileSync(path.join(work, 'Caddyfile'), caddyConfig(alias, PORT));
    for (const name of peers) execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
    docker(
      'run',
      '-d',
      '--name',
      `${NAME}-haproxy`,
      '--network',
      network,
      ...LIMITS,
      '-v',
      `${work}/haproxy.cfg:/etc/haproxy/haproxy.cfg:ro`,
      tools.tag,
      'haproxy',
      '-W',
      '-f',
      '/etc/haproxy/haproxy.cfg',
    );
    docker(
      'run',
      '-d',
      '--name',
      `${NAME}-caddy`,
      '--network',
      network,
      ...LIMITS,
      '-v',
      `${work}/Caddyfile:/etc/caddy/Caddyfile:ro`,
      tools.tag,
      'caddy',
      'run',
      '--config',
      '/etc/caddy/Caddyfile',
      '--adapter',
      'caddyfile',
    );
    // The load generator: its own container, unlimited; its CPU is recorded too.
    docker('run', '-d', '--name', `${NAME}-wrk`, '--network', network, tools.tag, 'sleep', 'infinity');

    const targets: Record<TargetKey, { container: string; url: string }> = {
      direct: { container: replicas[0], url: `http://${replicas[0]}:${PORT}/` },
      nginx: { container: `${NAME}-proxy`, url: `http://${NAME}-proxy:80/` },
      haproxy: { container: `${NAME}-haproxy`, url: `http://${NAME}-haproxy:80/` },
      caddy: { container: `${NAME}-caddy`, url: `http://${NAME}-caddy:80/` },
    };
    const wrkCpu = cgroup(fullId(`${NAME}-wrk`));
    const replicaCpu = replicas.map((r) => cgroup(fullId(r)));
    const wrk = (url: string, seconds: number) =>
      docker('exec', `${NAME}-wrk`, 'wrk', '-t2', `-c${o.connections}`, `-d${seconds}s`, '--latency', '-H', `Host: ${DOMAIN}`, url);
    // Warm up: DNS resolved, connections and caches in place.
    for (const t of Object.values(targets)) wrk(t.url, 1);

    const runs: Report['runs'] = [];
    for (let round = 1; round <= o.rounds; round++) {
      for (const [key, t] of Object.entries(targets) as [TargetKey, (typeof targets)[TargetKey]][]) {
        const acct = cgroup(fullId(t.container));
        acct.resetPeak();
        const before = { target: acct.cpuNs(), wrk: wrkCpu.cpuNs(), replicas: replicaCpu.map((c) => c.cpuNs()) };
        const figures: RunFigures = parseWrk(wrk(t.url, o.seconds));
        const cpuSeconds = (acct.cpuNs() - before.target) / 1e9;
        const run = {
          round,
          target: key,
          ...figures,
          targetCpuSeconds: cpuSeconds,
          cpuSecondsPer10k: figures.requests > 0 ? (cpuSeconds / figures.requests) * 10_000 : 0,
          replicaCpuSeconds: replicaCpu.reduce((sum, c, i) => sum + (c.cpuNs() - before.replicas[i]) / 1e9, 0),
          wrkCpuSeconds: (wrkCpu.cpuNs() - before.wrk) / 1e9,
          peakMemoryBytes: acct.peakBytes(),
        };
        runs.push(run);
        log(
          `round ${round} ${key}: ${Math.round(run.requestsPerSecond)} req/s, p99 ${run.latencyMs.p99} ms, ${run.errors} errors, ${run.cpuSecondsPer10k.toFixed(2)} CPU-s/10k`,
        );
      }
    }
    const report: Report = {
      date: started.toISOString(),
      machine: `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${docker('version', '-f', 'Docker {{.Server.Version}}')}`,
      versions: `${tools.versions}, nginx ${/:([\d.]+)/.exec(images.nginx)?.[1] ?? images.nginx}`,
      options: o,
      runs,
    };
    const outDir = path.join(__dirname, 'results');
    fs.mkdirSync(outDir, { recursive: true });
    const stem = path.join(outDir, `${o.smoke ? 'smoke-' : ''}${started.toISOString().slice(0, 10)}`);
    fs.writeFileSync(`${stem}.json`, `${JSON.stringify(report, null, 2)}\n`);
    fs.writeFileSync(`${stem}.md`, renderReport(report));
    log(`report: ${stem}.md (raw: ${stem}.json)`);
  } finally {
    for (const name of peers) execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
    await deployment.destroy({ volumes: true }).catch((e: unknown) => log(`clean-up: ${String(e)}`));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
