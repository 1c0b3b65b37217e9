// A container's healthcheck, named in a label. kreuzwerker/docker 3.6.2 neither replaces a
// container whose healthcheck changed (no ForceNew, resource_docker_container.go:849-896) nor
// updates it (the update changes only restart, memory and CPU settings,
// resource_docker_container_funcs.go:881-884): a changed health path would plan an update that
// changes nothing in Docker, in every later plan too. Labels are ForceNew
// (resource_docker_container.go:672-679), so with the healthcheck's digest among them the same
// change replaces the container, and the new one has the new healthcheck.
import { createHash } from 'node:crypto';

export const HEALTHCHECK_LABEL = 'wayshub.healthcheck';

/** A container's `healthcheck` block as the stack writes it. */
export interface HealthcheckBlock {
  readonly test: readonly string[];
  readonly interval?: string;
  readonly timeout?: string;
  readonly startPeriod?: string;
  readonly retries?: number;
}

/** The first 16 hex digits of the block's sha256: equal blocks, equal digests. */
export function healthcheckDigest(h: HealthcheckBlock): string {
  const canonical = JSON.stringify([h.test, h.interval ?? null, h.timeout ?? null, h.startPeriod ?? null, h.retries ?? null]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** The label to add beside a container's own: `{ 'wayshub.healthcheck': <digest> }`. */
export function healthcheckLabel(h: HealthcheckBlock): Record<string, string> {
  return { [HEALTHCHECK_LABEL]: healthcheckDigest(h) };
}
