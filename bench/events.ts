// Event timings under a fixed-rate load through a proxy: a replica killed, a replica added by an
// apply (how long until it takes traffic), and a rollout (how long it takes, what failed).
import * as http from 'node:http';

import { sleep } from '../__tests__/support/http';
import { BenchLab, DOMAIN, TargetKey, run } from './lab';
import { PacedLoadResult, pacedLoad, steadyAfterMs } from './paced-load';

export interface KillEvent {
  target: TargetKey;
  rate: number;
  killedAtMs: number;
  load: PacedLoadResult;
  /** After the kill, until the last 100 ms bucket below 90 % of the rate (0: none fell short). */
  steadyAfterMs: number;
}

export interface ScaleUpEvent {
  from: number;
  to: number;
  /** `apply` until it returned (it waits for the new replica to be healthy). */
  applyMs: number;
  /** `apply` started until the first answer from the new replica through our nginx. */
  firstTrafficMs: number;
}

export interface RolloutEvent {
  replicas: number;
  rate: number;
  applyMs: number;
  load: PacedLoadResult;
}

/** Kills one replica (SIGKILL, like a crash) `killAtMs` into a paced load through `target`. */
export async function killReplica(lab: BenchLab, target: TargetKey, rate: number, seconds: number, killAtMs: number, restore = true): Promise<KillEvent> {
  const victim = lab.replicaNames()[0];
  const loading = pacedLoad({ url: `http://${lab.address(target)}/`, host: DOMAIN, rate, seconds });
  await sleep(killAtMs);
  await run('docker', ['kill', victim]);
  const load = await loading;
  // Back to where it was, for the next target: Docker takes a kill as a deliberate stop.
  if (restore) {
    await run('docker', ['start', victim]);
    await waitHealthy(victim);
  }
  return { target, rate, killedAtMs: killAtMs, load, steadyAfterMs: steadyAfterMs(load, killAtMs, seconds * 1000 - 200) };
}

async function waitHealthy(container: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const { stdout } = await run('docker', ['inspect', '-f', '{{.State.Health.Status}}', container]);
    if (stdout.trim() === 'healthy') return;
    await sleep(200);
  }
  throw new Error(`bench: ${container} is not healthy after ${timeoutMs / 1000} s; see: docker logs ${container}`);
}

/** The test app answers GET / with its replica's name: poll through our nginx for a new one. */
export async function scaleUp(lab: BenchLab, to: number): Promise<ScaleUpEvent> {
  const from = lab.replicas;
  const known = new Set(lab.replicaNames());
  const url = `http://${lab.address('nginx')}/`;
  const started = Date.now();
  let firstTrafficMs = -1;
  let applied = false;
  const applying = lab.applyReplicas(to).finally(() => (applied = true));
  while (firstTrafficMs < 0 && Date.now() - started < 120_000) {
    const name = await get(url).catch(() => '');
    if (name && !known.has(name)) firstTrafficMs = Date.now() - started;
    else await sleep(applied ? 5 : 20);
  }
  await applying;
  const applyMs = Date.now() - started;
  lab.replicas = to;
  if (firstTrafficMs < 0) throw new Error(`bench: no answer from a new replica within 120 s of scaling ${from} → ${to}`);
  return { from, to, applyMs, firstTrafficMs };
}

/** A rollout (a changed app env replaces every replica) under a paced load through our nginx. */
export async function rollout(lab: BenchLab, rate: number, revision: string): Promise<RolloutEvent> {
  const apply = await lab.prepare(lab.kind, { BENCH_REVISION: revision });
  const stop = new AbortController();
  // At most 120 s; stopped 2 s after the apply has returned.
  const loading = pacedLoad({ url: `http://${lab.address('nginx')}/`, host: DOMAIN, rate, seconds: 120, signal: stop.signal });
  const applyMs = await apply(lab.replicas).finally(() => setTimeout(() => stop.abort(), 2000));
  return { replicas: lab.replicas, rate, applyMs, load: await loading };
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { Host: DOMAIN }, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : ''));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
