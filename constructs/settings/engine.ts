// Settings of the engine: plain containers on one Docker host (the default), or Docker Swarm
// services over one or more nodes. Swarm runs what plain containers can't: health-gated DNS,
// start-first rolling updates with automatic rollback, tasks rescheduled when a node dies.
import { NAMES } from './names';
import { SettingsError, checkBoolean } from './validators';

export const ENGINES = ['containers', 'swarm'] as const;
export type Engine = (typeof ENGINES)[number];

/** Node labels that place the proxy and the database (`docker node update --label-add ...`). */
export const PROXY_NODE_LABEL = 'wayshub.proxy';
export const DATABASE_NODE_LABEL = 'wayshub.database';

export interface SwarmSettings {
  /** Encrypt the overlay network's traffic between nodes (IPsec, `--opt encrypted`). */
  readonly encryptNetwork: boolean;
}

export interface EngineInput {
  engine?: string;
  swarm?: { encryptNetwork?: boolean };
}

export function resolveEngine(input: EngineInput): { engine: Engine; swarm: SwarmSettings } {
  const engine = input.engine ?? 'containers';
  if (!(ENGINES as readonly string[]).includes(engine)) {
    throw new SettingsError(NAMES.engine, engine, `allowed: ${ENGINES.join(' or ')}`);
  }
  const encryptNetwork = input.swarm?.encryptNetwork ?? false;
  return { engine: engine as Engine, swarm: { encryptNetwork: checkBoolean(encryptNetwork, NAMES.swarmEncrypt) } };
}
