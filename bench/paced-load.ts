// Load at a fixed rate, for latency: request i is due at start + i/rate, whatever happened to
// the requests before it (an open loop), and its latency counts from when it was due, so a
// stall shows in the figures instead of slowing the load down (no coordinated omission).
// wrk has no rate (wrk2 is not in Debian) and autocannon's --overallRate sends each second's
// budget in one burst, so neither measures this.
import * as http from 'node:http';

export interface PacedLoadOptions {
  /** e.g. http://172.18.0.5:80/ (the load runs on the host, outside the targets' containers) */
  url: string;
  host: string;
  rate: number;
  seconds: number;
  /** Width of the timeline's buckets. @default 100 */
  bucketMs?: number;
  /** Stops the load early: no request is sent after it fires; those in flight are awaited. */
  signal?: AbortSignal;
}

export interface PacedLoadResult {
  rate: number;
  sent: number;
  ok: number;
  failed: number;
  /** Answers per second actually received. */
  achievedRate: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
  /** The load generator's own CPU (this Node process), for how the cores were shared. */
  loadCpuSeconds: number;
  /** Per bucket, from the start: answers that were ok, and requests that failed. */
  timeline: { okPerBucket: number[]; failedPerBucket: number[]; bucketMs: number };
  firstFailure?: string;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[i] * 1000) / 1000;
}

export async function pacedLoad(o: PacedLoadOptions): Promise<PacedLoadResult> {
  const bucketMs = o.bucketMs ?? 100;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  let total = Math.round(o.rate * o.seconds);
  const latencies: number[] = [];
  const buckets = Math.ceil((o.seconds * 1000) / bucketMs) + 50;
  const okPerBucket = new Array<number>(buckets).fill(0);
  const failedPerBucket = new Array<number>(buckets).fill(0);
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const bucket = (t: number) => Math.min(buckets - 1, Math.floor((t - start) / bucketMs));

  await new Promise<void>((resolve) => {
    let done = 0;
    const finish = (due: number, good: boolean, why?: string) => {
      const now = performance.now();
      latencies.push(now - due);
      if (good) {
        ok++;
        okPerBucket[bucket(now)]++;
      } else {
        failed++;
        failedPerBucket[bucket(now)]++;
        firstFailure ??= why;
      }
      if (++done === total) resolve();
    };
    o.signal?.addEventListener('abort', () => {
      total = sent;
      if (done === total) resolve();
    });
    const send = (due: number) => {
      sent++;
      const req = http.get(o.url, { agent, headers: { Host: o.host }, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => finish(due, res.statusCode !== undefined && res.statusCode < 400, `HTTP ${res.statusCode}`));
        res.on('error', (e) => finish(due, false, e.message));
      });
      req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
      req.on('error', (e) => finish(due, false, e.message));
    };
    const tick = setInterval(() => {
      const now = performance.now();
      while (sent < total && start + (sent * 1000) / o.rate <= now) send(start + (sent * 1000) / o.rate);
      if (sent === total) clearInterval(tick);
    }, 1);
    if (total === 0) resolve();
  });
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    rate: o.rate,
    sent,
    ok,
    failed,
    achievedRate: ok / elapsed,
    latencyMs: {
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      p999: percentile(latencies, 99.9),
      max: percentile(latencies, 100),
    },
    loadCpuSeconds: (cpu.user + cpu.system) / 1e6,
    timeline: { okPerBucket: trimTrailingZeros(okPerBucket), failedPerBucket: trimTrailingZeros(failedPerBucket), bucketMs },
    ...(firstFailure ? { firstFailure } : {}),
  };
}

function trimTrailingZeros(values: number[]): number[] {
  let end = values.length;
  while (end > 0 && values[end - 1] === 0) end--;
  return values.slice(0, end);
}

/**
 * After an event at `eventMs` from the start: when throughput was steady again, i.e. the end of
 * the last bucket below 90 % of the rate (or with a failure), in ms after the event; 0 when
 * no bucket after the event fell short.
 */
export function steadyAfterMs(result: Pick<PacedLoadResult, 'rate' | 'timeline'>, eventMs: number, untilMs: number): number {
  const { okPerBucket, failedPerBucket, bucketMs } = result.timeline;
  const floor = 0.9 * result.rate * (bucketMs / 1000);
  let lastShort = -1;
  for (let b = Math.floor(eventMs / bucketMs); (b + 1) * bucketMs <= untilMs; b++) {
    if ((okPerBucket[b] ?? 0) < floor || (failedPerBucket[b] ?? 0) > 0) lastShort = b;
  }
  return lastShort < 0 ? 0 : Math.max(0, (lastShort + 1) * bucketMs - eventMs);
}

/** The figures without the timeline (for the report's tables). */
export function withoutTimeline(r: PacedLoadResult): Omit<PacedLoadResult, 'timeline'> {
  const { timeline, ...figures } = r;
  void timeline;
  return figures;
}
