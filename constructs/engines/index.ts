// The engine of a stack, chosen once from its settings.
import { Engine, SwarmSettings } from '../settings';
import { CONTAINERS } from './containers/engine';
import { DeploymentEngine } from './engine';
import { SwarmEngine } from './swarm/engine';

export * from './engine';

export function engineFor(kind: Engine, swarm: SwarmSettings): DeploymentEngine {
  return kind === 'swarm' ? new SwarmEngine(swarm) : CONTAINERS;
}
