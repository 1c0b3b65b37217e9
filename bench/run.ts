// `npm run bench [-- --smoke] [--replicas N] [--rounds R] [--seconds S] [--connections C]`
//
// Measures our proxy beside HAProxy, Caddy and one replica reached directly, on one machine, in
// one run (targets interleaved round by round), and writes bench/results/<date>.md with charts
// (.svg) and the raw .json. The sections, in order:
// Every saturation case has each proxy twice, like with like: with its production access log
// (ours as synthesized) and with none (bench/targets.ts); ours also with WAYSHUB_ACCESS_LOG=docker.
// 1. static replicas (nginx serving files, so the proxy is the cost): saturation with 1 KB and
//    100 KB answers, the concurrency curve (1 to 256 connections, 1 KB), fixed-rate latency at 1k
//    and 2k req/s (1 KB), and the tuning rows (our nginx with one config change each);
// 2. Node replicas (the test app): saturation, a 1 MB upload, fixed-rate latency at 1k and
//    2k req/s, a replica killed under load, a replica added, a rollout, and throughput against
//    the replica count (1, 2, 4, 8).
// --smoke runs every section briefly to prove the harness works; its figures are not to be quoted.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { busyBetween, machineTicks } from './cgroup';
import { renderCharts } from './charts';
import { killReplica, rollout, scaleUp } from './events';
import { STATIC_PATHS } from './images';
import { BenchLab, DOMAIN, LOG_DOCKER, NO_LOG, TargetKey, WrkLoad } from './lab';
import { pacedLoad, withoutTimeline } from './paced-load';
import { Options, RateRun, Report, SaturationRun, renderReport } from './report';
import { VARIANTS, Variant } from './tuning';

/** Each proxy with its production access log (ours as synthesized). */
const LOGGED: readonly TargetKey[] = ['nginx', 'haproxy', 'caddy'];
/** Each proxy twice: with that log, and with none; ours a third time, with its log in Docker's. */
const PROXIES: readonly TargetKey[] = LOGGED.flatMap((t) => [t, ...(t === 'nginx' ? [`nginx${LOG_DOCKER}`] : []), `${t}${NO_LOG}`]);
const PEERS: readonly TargetKey[] = ['direct', ...PROXIES];
/** At a fixed rate: one replica directly and each proxy with its production log (ours also with Docker's). */
const AT_FIXED_RATE: readonly TargetKey[] = PEERS.filter((t) => !t.endsWith(NO_LOG));
/** The concurrency curve: connections per point. */
const CURVE_CONNECTIONS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const REPLICA_CPU = 0.5;
/**
 * The Node cases take this many times the rounds: there the proxy is about a sixth of the
 * machine's work (the replicas and Docker's log of the app's lines are the rest), and one
 * round's ratio to HAProxy moved by ±8 % in the first 3-round run of 2026-12-06 (git 11d598a)
 * and by ±10 % in the 9-round run that replaced it, more than the proxy decides.
 */
const NODE_ROUNDS_FACTOR = 3;
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const USAGE = 'usage: npm run bench -- [--smoke] [--replicas N] [--rounds R] [--seconds S] [--connections C]';

function options(argv: string[]): Options {
  const o: Omit<Options, 'nodeRounds'> = {
    smoke: false,
    replicas: 3,
    rounds: 3,
    seconds: 6,
    connections: 32,
    rates: [1000, 2000],
    replicaCounts: [1, 2, 4, 8],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--smoke') {
      Object.assign(o, { smoke: true, replicas: 2, rounds: 1, seconds: 1, connections: 8, rates: [1000], replicaCounts: [] });
      continue;
    }
    const key = ({ '--replicas': 'replicas', '--rounds': 'rounds', '--seconds': 'seconds', '--connections': 'connections' } as const)[arg as '--replicas'];
    const value = Number(argv[++i]);
    if (!key) {
      console.error(`bench: unknown option ${arg}; ${USAGE}`);
      process.exit(2);
    }
    if (!Number.isInteger(value) || value < 1 || value > 256) {
      console.error(`bench: invalid ${arg} ${argv[i] ?? '(missing)'}: a whole number from 1 to 256; ${USAGE}`);
      process.exit(2);
    }
    o[key] = value;
  }
  return { ...o, nodeRounds: o.smoke ? o.rounds : o.rounds * NODE_ROUNDS_FACTOR };
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const started = new Date();
  const elapsed = () => `${((Date.now() - started.getTime()) / 1000).toFixed(0)} s`;
  const lab = await BenchLab.open(log);
  const saturation: SaturationRun[] = [];
  const rates: RateRun[] = [];

  /** The targets of a case, interleaved: every round runs each target once, back to back. */
  const saturate = (caseName: string, targets: readonly TargetKey[], load: (t: TargetKey) => WrkLoad, rounds = o.rounds) => {
    if (!o.smoke) for (const t of targets) lab.measure(t, { ...load(t), seconds: 1 }); // warm-up: DNS, connections, caches
    for (let round = 1; round <= rounds; round++) {
      for (const target of targets) {
        const m = lab.measure(target, load(target));
        saturation.push({ case: caseName, round, target, replicas: lab.replicas, ...m });
        log(
          `${caseName}, round ${round}, ${target}: ${Math.round(m.requestsPerSecond)} req/s, p99 ${m.latencyMs.p99} ms, ${m.errors} errors, ${m.cpuSecondsPer10k.toFixed(2)} CPU-s/10k`,
        );
      }
    }
  };
  const get = (p: string, headers?: Record<string, string>) => () => ({ path: p, seconds: o.seconds, connections: o.connections, headers });
  /** One round per point: throughput and latency against the number of connections. */
  const curve = (base: string, p: string, connections: readonly number[]) => {
    for (const c of connections) saturate(`${base}, ${c} connections`, PEERS, () => ({ path: p, seconds: Math.min(o.seconds, 3), connections: c }), 1);
  };
  /**
   * Fixed-rate latency: each rate, the targets interleaved round by round, with how busy the
   * machine's cores were during each run (a tail grows as they fill, whatever the proxy does).
   */
  const fixedRate = async (kind: string, targets: readonly TargetKey[], p: string) => {
    for (const rate of o.rates) {
      if (!o.smoke) for (const t of targets) await pacedLoad({ url: `http://${lab.address(t)}${p}`, host: DOMAIN, rate, seconds: 1 }); // warm-up
      for (let round = 1; round <= o.rounds; round++) {
        for (const target of targets) {
          const before = machineTicks();
          const r = await pacedLoad({ url: `http://${lab.address(target)}${p}`, host: DOMAIN, rate, seconds: o.smoke ? 1 : Math.max(o.seconds, 2) });
          const machineBusy = busyBetween(before, machineTicks());
          rates.push({ case: `${kind} ${rate} req/s`, round, target, ...withoutTimeline(r), machineBusy });
          log(
            `${kind} ${rate} req/s, round ${round}, ${target}: p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms, ${r.failed} failed of ${r.sent}, cores ${Math.round(machineBusy * 100)} % busy`,
          );
        }
      }
    }
  };
  lab.writeScript('upload.lua', 'wrk.method = "POST"\nwrk.body = string.rep("x", 1000000)\nwrk.headers["Content-Type"] = "application/octet-stream"\n');
  const upload = () => ({ path: '/upload', seconds: o.seconds, connections: Math.min(8, o.connections), script: 'upload.lua' });

  try {
    // 1. Static replicas: the proxy is the cost. (The smoke run deploys only the Node replicas:
    // every deploy waits for healthchecks, and the smoke run must stay under a minute.)
    if (!o.smoke) {
      log(`deploying ${o.replicas} static replicas behind the synthesized nginx ...`);
      await lab.deploy('static', o.replicas);
      saturate('static 1 KB', PEERS, get(STATIC_PATHS.small));
      saturate('static 100 KB', PEERS, get(STATIC_PATHS.large));
      curve('static 1 KB', STATIC_PATHS.small, CURVE_CONNECTIONS);
      await fixedRate('static 1 KB', AT_FIXED_RATE, STATIC_PATHS.small);
    }
    // The smoke run tries one variant of each kind of load.
    const variants = o.smoke ? VARIANTS.filter((v, i) => VARIANTS.findIndex((w) => w.load === v.load) === i) : VARIANTS;
    /** The tuning rows of one kind of load: our nginx as synthesized, then each variant, in the same rounds. */
    const tune = (load: Variant['load']) => {
      const mine = variants.filter((v) => v.load === load);
      for (const v of mine) lab.addVariant(v.name, v.edit);
      const byHeaders = new Map<string, Variant[]>();
      for (const v of mine) byHeaders.set(JSON.stringify(v.headers ?? {}), [...(byHeaders.get(JSON.stringify(v.headers ?? {})) ?? []), v]);
      for (const group of byHeaders.values()) {
        const headers = group[0].headers;
        const caseName = `tuning ${{ small: '1 KB', large: '100 KB', upload: 'upload 1 MB' }[load]}${headers ? ', gzip' : ''}`;
        const targets = ['nginx', ...group.map((v) => `nginx:${v.name}`), ...(load !== 'large' ? ['haproxy'] : [])];
        saturate(caseName, targets, load === 'upload' ? upload : get(STATIC_PATHS[load], headers));
      }
      lab.removeVariants();
    };
    if (!o.smoke) {
      tune('small');
      tune('large');
    }

    // 2. Node replicas, as wayshub runs.
    log(`deploying ${o.replicas} replicas of the test app (Node) ...`);
    await lab.deploy('node', o.replicas);
    saturate('node GET /', PEERS, get('/'), o.nodeRounds);
    if (o.smoke) {
      tune('small'); // on the Node replicas' GET /
      curve('node GET /', '/', [2]);
    }
    saturate('node upload 1 MB', PEERS, upload, o.nodeRounds);
    tune('upload');

    await fixedRate('node', AT_FIXED_RATE, '/');

    const killRate = o.rates[0];
    const kills = [];
    for (const target of o.smoke ? ['nginx'] : LOGGED) {
      // The smoke run leaves the killed replica down: nothing after it needs it.
      const k = await killReplica(lab, target, killRate, o.smoke ? 2 : 8, o.smoke ? 1000 : 3000, !o.smoke);
      kills.push(k);
      log(
        `replica killed at ${killRate} req/s through ${target}: ${k.load.failed} failed of ${k.load.sent}, max ${k.load.latencyMs.max} ms, steady again after ${k.steadyAfterMs} ms`,
      );
    }
    // An event that fails (an apply whose new replica never got healthy on a machine this busy)
    // is a finding, not a reason to lose the run's other figures: the report shows it.
    const failed: string[] = [];
    const attempt = async <T>(what: string, event: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await event();
      } catch (e) {
        const line = String(e instanceof Error ? e.message : e).split('\n')[0];
        failed.push(`${what}: ${line}`);
        log(`${what} failed: ${line}`);
        return undefined;
      }
    };
    // Applies wait for healthchecks (tens of seconds): the smoke run leaves them out.
    const up = o.smoke ? undefined : await attempt(`scale-up ${o.replicas} → ${o.replicas + 1}`, () => scaleUp(lab, o.replicas + 1));
    if (up)
      log(`scale-up ${up.from} → ${up.to}: first answer from the new replica ${up.firstTrafficMs} ms after the apply started; apply took ${up.applyMs} ms`);
    const roll = o.smoke ? undefined : await attempt(`rollout at ${killRate} req/s`, () => rollout(lab, killRate, '2'));
    if (roll)
      log(
        `rollout of ${roll.replicas} replicas at ${roll.rate} req/s: ${roll.applyMs} ms, ${roll.load.failed} failed of ${roll.load.sent}, max ${roll.load.latencyMs.max} ms`,
      );

    for (const n of o.replicaCounts) {
      log(`${n} replica(s) ...`);
      await lab.deploy('node', n, { BENCH_REVISION: '2' });
      saturate(`node GET /, ${n} replicas`, LOGGED, get('/'), 1);
      if (n === 1) {
        // The same replica CPU for every target: one replica held to half a CPU, so the replica,
        // not the proxy or wrk, is the bottleneck (as a real app is).
        await lab.limitReplicas(REPLICA_CPU);
        saturate(`node GET /, 1 replica of ${REPLICA_CPU} CPU`, PEERS, get('/'));
      }
    }

    const report: Report = {
      date: started.toISOString(),
      machine: `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${execFileSync('docker', ['version', '-f', 'Docker {{.Server.Version}}'], { encoding: 'utf8' }).trim()}, Node ${process.version}`,
      versions: `${lab.tools.versions}, nginx ${/:([\d.]+)/.exec(lab.images.nginx)?.[1] ?? lab.images.nginx}`,
      options: o,
      variants: variants.map(({ name, what }) => ({ name, what })),
      saturation,
      rates,
      events: {
        kills: kills.map((k) => ({ ...k, load: withoutTimeline(k.load), timeline: k.load.timeline })),
        ...(up ? { scaleUp: up } : {}),
        ...(roll ? { rollout: { ...roll, load: withoutTimeline(roll.load) } } : {}),
        ...(failed.length ? { failed } : {}),
      },
    };
    const outDir = path.join(__dirname, 'results');
    fs.mkdirSync(outDir, { recursive: true });
    const stem = `${o.smoke ? 'smoke-' : ''}${started.toISOString().slice(0, 10)}`;
    const charts = await renderCharts(report, stem);
    for (const c of charts) fs.writeFileSync(path.join(outDir, c.file), c.svg);
    fs.writeFileSync(path.join(outDir, `${stem}.json`), `${JSON.stringify(report, null, 2)}\n`);
    fs.writeFileSync(path.join(outDir, `${stem}.md`), renderReport(report, charts));
    log(`done in ${elapsed()}; report: bench/results/${stem}.md (raw: ${stem}.json, charts: ${charts.map((c) => c.file).join(', ')})`);
  } finally {
    await lab.close();
  }
}

main().catch((e: unknown) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
