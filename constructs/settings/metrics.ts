// Settings of the proxy's Prometheus metrics: off unless asked, published on the Docker host's
// loopback unless told otherwise, and on one host only.
import * as net from 'node:net';

import { DEFAULTS } from './defaults';
import type { Engine } from './engine';
import { NAMES } from './names';
import { Mutable, SettingsError, checkBoolean, checkImage, checkWhole } from './validators';

export interface MetricsSettings {
  /** Host port of the Prometheus endpoint (`/metrics`). */
  readonly port: number;
  /** Host address it is published on: the loopback unless set. */
  readonly address: string;
  /**
   * The exporter's image (mtail).
   * @default built at deploy from docker/metrics/Dockerfile (Debian's mtail)
   */
  readonly image?: string;
}

/** What a caller may set: `enabled: true` turns metrics on. */
export type MetricsInput = Mutable<MetricsSettings> & { enabled?: boolean };

export function resolveMetrics(input: MetricsInput, engine: Engine, takenPorts: readonly number[]): MetricsSettings | undefined {
  if (input.enabled !== undefined) checkBoolean(input.enabled, NAMES.metrics);
  if (!input.enabled) return undefined;
  if (engine === 'swarm') {
    // nginx writes its metrics lines to a file in a volume the exporter shares: one host only.
    throw new SettingsError(NAMES.metrics, true, 'allowed with WAYSHUB_ENGINE=swarm: off (not yet on Swarm: see docs/operations.md#metrics)');
  }
  const port = input.port ?? DEFAULTS.metricsPort;
  checkWhole(port, NAMES.metricsPort, 1, 65535, 'allowed: a whole number from 1 to 65535');
  if (takenPorts.includes(port))
    throw new SettingsError(NAMES.metricsPort, port, `allowed: a port the proxy does not publish already (${takenPorts.join(', ')})`);
  const address = input.address ?? DEFAULTS.metricsAddress;
  if (typeof address !== 'string' || !net.isIPv4(address)) {
    throw new SettingsError(NAMES.metricsAddress, address, 'allowed: an IPv4 address of the Docker host, e.g. 127.0.0.1 (the default) or a private one');
  }
  const image = input.image === undefined ? undefined : checkImage(input.image, NAMES.metricsImage);
  return { port, address, image };
}
