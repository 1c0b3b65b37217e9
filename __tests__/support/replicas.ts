// The replicas of a deployed stack as Docker has them. Their names carry a revision that
// changes with each rollout (`<stack>-app-3f9a1c-1`), so tests look them up instead of
// spelling them out.
import { execFileSync } from 'node:child_process';

import { STACK_LABEL } from '../../constructs/labels';

/** The names of one tier's replicas, `<stack>-<tier>-<revision>-<n>`, ordered by revision then n. */
export function replicaNames(stack: string, tier: 'app' | 'backend' = 'app'): string[] {
  const pattern = new RegExp(`^${stack}-${tier}-([0-9a-f]{6})-(\\d+)$`);
  const names = execFileSync('docker', ['ps', '-a', '--filter', `label=${STACK_LABEL}=${stack}`, '--format', '{{.Names}}'], { encoding: 'utf8' })
    .split('\n')
    .filter((name) => pattern.test(name));
  const key = (name: string) => pattern.exec(name) ?? [];
  return names.sort((a, b) => key(a)[1].localeCompare(key(b)[1]) || Number(key(a)[2]) - Number(key(b)[2]));
}

/** The one replica of a tier numbered n (1-based) in its current revision. */
export function replica(stack: string, tier: 'app' | 'backend', n: number): string {
  const name = replicaNames(stack, tier).find((candidate) => candidate.endsWith(`-${n}`));
  if (!name) throw new Error(`no ${tier} replica ${n} of ${stack}: ${replicaNames(stack, tier).join(', ') || 'none'}`);
  return name;
}
