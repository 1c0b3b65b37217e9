// CPU, memory and connection accounting for the benchmark, read where the kernel keeps it: a
// container's cgroup (v1, cgroupfs: this machine's Docker), the Docker daemon's own process, which
// carries every container's stdout (the access logs) through its json-file log driver, the
// machine's /proc/stat, and a container's network namespace (/proc/<pid>/net/snmp).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

export interface Accounting {
  /** CPU used since the container started, in nanoseconds. */
  cpuNs(): number;
  /** Highest memory use since the last resetPeak(), in bytes. */
  peakBytes(): number;
  resetPeak(): void;
  /**
   * TCP connections the container has accepted so far (PassiveOpens in its network namespace's
   * /proc/net/snmp): a proxy that keeps its connections to the replicas open makes few new ones.
   */
  acceptedConnections(): number;
}

export function containerAccounting(container: string): Accounting {
  const [id, pid] = execFileSync('docker', ['inspect', '-f', '{{.Id}} {{.State.Pid}}', container], { encoding: 'utf8' }).trim().split(' ');
  const cpu = `/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`;
  const peak = `/sys/fs/cgroup/memory/docker/${id}/memory.max_usage_in_bytes`;
  if (!fs.existsSync(cpu))
    throw new Error(`no cgroup v1 accounting for container ${container} at ${cpu}: this harness reads cgroupfs (docker info: CgroupVersion 1)`);
  return {
    cpuNs: () => Number(fs.readFileSync(cpu, 'utf8')),
    peakBytes: () => Number(fs.readFileSync(peak, 'utf8')),
    resetPeak: () => fs.writeFileSync(peak, '0'),
    acceptedConnections: () => {
      const [names, values] = fs
        .readFileSync(`/proc/${pid}/net/snmp`, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('Tcp:'))
        .map((l) => l.split(/\s+/));
      const i = names.indexOf('PassiveOpens');
      if (i < 0 || values === undefined) throw new Error(`no TCP PassiveOpens in /proc/${pid}/net/snmp (container ${container})`);
      return Number(values[i]);
    },
  };
}

/** CPU nanoseconds the Docker daemon and the containers' shims have used (user + system). */
export function logPipelineCpuNs(): number {
  const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  let total = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let comm: string;
    let stat: string;
    try {
      comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (comm !== 'dockerd' && !comm.startsWith('containerd-shim')) continue;
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // Fields after the ")" that closes the command: utime is the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += ((Number(fields[11]) + Number(fields[12])) / ticks) * 1e9;
  }
  return total;
}

/** The machine's CPU time so far, from /proc/stat's first line, in clock ticks: busy and all. */
export interface MachineTicks {
  busy: number;
  total: number;
}

export function machineTicks(): MachineTicks {
  // cpu user nice system idle iowait irq softirq steal ...: idle and iowait are the cores' free time.
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3] - fields[4], total };
}

/** How busy all the machine's cores were between two readings, from 0 to 1. */
export function busyBetween(before: MachineTicks, after: MachineTicks): number {
  const total = after.total - before.total;
  return total > 0 ? (after.busy - before.busy) / total : 0;
}
