// Values of a Swarm service written the way the provider reads them back from Docker, so that
// the plan after a deploy is quiet (every other spelling shows as a change on every plan).

/**
 * A duration as Go prints it, shortened as the provider does
 * (resource_docker_service_structures.go:1306-1315): 30 → "30s", 60 → "1m", 90 → "1m30s",
 * 3600 → "1h".
 */
export function serviceDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  let text = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  if (text.endsWith('m0s')) text = text.slice(0, -2);
  if (text.endsWith('h0m')) text = text.slice(0, -2);
  return text;
}

/** No failed task tolerated, as the provider reads it back: one decimal (resource_docker_service_structures.go:87). */
export const NO_FAILURES_TOLERATED = '0.0';
