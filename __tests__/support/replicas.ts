// The replicas of a deployed stack as Docker has them. Their names carry the time they were
// planned (`<stack>-app-261205004012-1`), so tests look them up instead of spelling them out.
import { execFileSync } from 'node:child_process';

import { STACK_LABEL } from '../../constructs/docker/labels';

/** The part of a replica's name that says when it was planned: YYMMDDhhmmss (UTC). */
export const REPLICA_STAMP = /(\d{12})/;

/** The names of one tier's replicas, `<stack>-<tier>-<created>-<n>`, oldest first, then by n. */
export function replicaNames(stack: string, tier: 'app' | 'backend' = 'app'): string[] {
  const pattern = new RegExp(`^${stack}-${tier}-${REPLICA_STAMP.source}-(\\d+)$`);
  const names = execFileSync('docker', ['ps', '-a', '--filter', `label=${STACK_LABEL}=${stack}`, '--format', '{{.Names}}'], { encoding: 'utf8' })
    .split('\n')
    .filter((name) => pattern.test(name));
  const key = (name: string) => pattern.exec(name) ?? [];
  return names.sort((a, b) => key(a)[1].localeCompare(key(b)[1]) || Number(key(a)[2]) - Number(key(b)[2]));
}

/** The one replica of a tier numbered n (1-based), the oldest of that number. */
export function replica(stack: string, tier: 'app' | 'backend', n: number): string {
  const name = replicaNames(stack, tier).find((candidate) => candidate.endsWith(`-${n}`));
  if (!name) throw new Error(`no ${tier} replica ${n} of ${stack}: ${replicaNames(stack, tier).join(', ') || 'none'}`);
  return name;
}
