// The loads of a deployment-change scenario (a rollout, a scale-down, a proxy update): GETs,
// POSTs and slow requests at once, their reports logged, and the proxy's own lines about
// upstreams when anything failed.
import { Load, LoadReport } from '.';

/** The loads of a scenario: GETs over kept-alive connections, POSTs on new ones, and 2 s GETs and POSTs. */
export function startLoads(port: number, host: string, address?: string): Record<string, Load> {
  const body = Buffer.from('{"hello":"world"}');
  return {
    GET: new Load(port, host, 50, { address }),
    POST: new Load(port, host, 10, { path: '/upload', post: body, address }),
    'slow GET': new Load(port, host, 5, { path: '/slow?ms=2000', address }),
    // nginx resends a GET that a replica cut to another one, but never a POST: these fail unless the replica drains.
    'slow POST': new Load(port, host, 5, { path: '/slow?ms=2000', post: body, address }),
  };
}

export async function stopLoads(
  loads: Record<string, Load>,
  log: (line: string) => void,
  proxyLogs: (sinceSeconds: number) => string,
): Promise<Record<string, LoadReport>> {
  const reports = await Promise.all(Object.values(loads).map((load) => load.stop()));
  const out = Object.fromEntries(Object.keys(loads).map((what, i) => [what, reports[i]]));
  for (const [what, r] of Object.entries(out)) {
    log(`${what}: ${r.sent} sent, ${r.ok} ok, ${r.failed} failed, ${r.resent} resent, max ${r.maxLatencyMs} ms in ${r.seconds.toFixed(1)} s`);
  }
  // What nginx said about a failure is the first thing to read (WAYSHUB_E2E_UPSTREAMS=1: always).
  if (reports.some((r) => r.failed > 0) || process.env.WAYSHUB_E2E_UPSTREAMS) {
    const seconds = Math.ceil(Math.max(...reports.map((r) => r.seconds))) + 1;
    const lines = proxyLogs(seconds).split('\n');
    log(
      `the proxy's log lines about upstreams:\n${lines
        .filter((line) => /\[(error|warn)\]| 50\d /.test(line))
        .slice(-40)
        .join('\n')}`,
    );
    // Which replicas nginx sent requests to, second by second.
    const bySecond = new Map<string, Set<string>>();
    for (const line of lines) {
      const m = /:(\d\d:\d\d:\d\d) [^\]]*\].* upstream=([^ ]+(?:, [^ ]+)*) upstream_status/.exec(line);
      if (m) bySecond.set(m[1], new Set([...(bySecond.get(m[1]) ?? []), ...m[2].split(', ')]));
    }
    log(`upstreams by second:\n${[...bySecond].map(([t, set]) => `${t} ${[...set].sort().join(' ')}`).join('\n')}`);
  }
  return out;
}

export function expectNoFailures(reports: Record<string, LoadReport>): void {
  for (const [load, r] of Object.entries(reports)) {
    // The load's name in the comparison, so that a failure says which one (GET, slow POST ...).
    expect({ load, failures: r.failures, ok: r.ok, resent: r.resent }).toEqual({ load, failures: [], ok: r.sent, resent: 0 });
  }
}
