// Converges a swarm to the declared services, secrets and configs with the real
// `docker service create/update/rm`, `docker secret|config create/rm`, as the provider would:
// secrets and configs first (new names), then each service created or updated in place (the
// provider updates a service; Swarm rolls its tasks), waiting for convergence when
// converge_config says so; then what is no longer declared goes: services, and after them the
// secrets and configs no service uses any more.
import {
  SwarmObject,
  createSwarmObject,
  docker,
  networkNamesById,
  removeSwarmObject,
  runServiceCommand,
  swarmObjectsLabelled,
  taskContainers,
  taskStates,
} from './docker-cli';
import { LABELS, Log } from './converge';
import { Json, canonical, isObject, parseJson, sha256 } from './json-value';
import { ServiceSpec, SwarmObjectSpec, currentService, serviceCreateArgs, serviceUpdateArgs } from './swarm-spec';

export interface SwarmDesired {
  services: ServiceSpec[];
  objects: SwarmObjectSpec[];
}

/** Creates the secrets and configs that are missing; a changed one must have a new name. */
export async function createSwarmObjects(desired: SwarmDesired, deployment: string, log: Log): Promise<void> {
  for (const kind of ['secret', 'config'] as const) {
    const have = new Map((await swarmObjectsLabelled(kind, `${LABELS.deployment}=${deployment}`)).map((o) => [o.name, o]));
    for (const spec of desired.objects.filter((o) => o.kind === kind)) {
      const hash = objectHash(spec);
      const existing = have.get(spec.name);
      if (existing) {
        if (existing.labels[LABELS.spec] !== hash) {
          throw new Error(
            `local-apply: ${spec.address}: the ${kind} ${spec.name} changed but kept its name; Docker ${kind}s can't change, so a new content needs a new name`,
          );
        }
        continue;
      }
      const own = [`${LABELS.deployment}=${deployment}`, `${LABELS.spec}=${hash}`, `${LABELS.address}=${spec.address}`];
      await createSwarmObject(kind, spec.name, [...own, ...Object.entries(spec.labels).map(([k, v]) => `${k}=${v}`)], spec.data);
      log(`created ${kind} ${spec.name}`);
    }
  }
}

/** Creates or updates every declared service, in order; throws when one does not converge. */
export async function convergeServices(desired: SwarmDesired, deployment: string, log: Log): Promise<void> {
  const have = new Map((await swarmObjectsLabelled('service', `${LABELS.deployment}=${deployment}`)).map((s) => [s.name, s]));
  const networks = await networkNamesById();
  for (const spec of desired.services) {
    spec.notes.forEach((n) => log(`note: ${n}`));
    const hash = sha256(canonical(spec.attrs));
    const own = [
      { key: LABELS.deployment, value: `${LABELS.deployment}=${deployment}` },
      { key: LABELS.spec, value: `${LABELS.spec}=${hash}` },
      { key: LABELS.address, value: `${LABELS.address}=${spec.address}` },
    ];
    const existing = have.get(spec.name);
    const t0 = Date.now();
    if (!existing) {
      const args = serviceCreateArgs(spec);
      await serviceCommand(spec, ['create', ...own.flatMap((l) => ['--label', l.value]), ...args], 'created', t0, log);
    } else if (existing.labels[LABELS.spec] !== hash) {
      const args = serviceUpdateArgs(spec, currentService(existing.inspect, networks), own);
      const before = updateStatus(existing.inspect);
      await serviceCommand(spec, ['update', ...args, spec.name], 'updated', t0, log);
      // The CLI exits 0 and says "converged" after Swarm rolled an update back (measured); the
      // provider's converge_config fails the deploy then, and so does this.
      const after = updateStatus(parseJson(await docker(['service', 'inspect', spec.name])));
      if (spec.convergeSeconds !== null && after.startedAt !== before.startedAt && after.state.startsWith('rollback')) {
        throw new Error(
          `local-apply: ${spec.address}: Swarm rolled the update of ${spec.name} back (${after.state}: ${after.message}); the previous spec runs. ` +
            `See why: docker service ps --no-trunc ${spec.name}\n${await taskStates(spec.name, 8)}`,
        );
      }
    } else {
      log(`kept service ${spec.name} (unchanged)`);
    }
  }
}

/** Removes the services that are no longer declared, then the secrets and configs no longer declared. */
export async function removeSurplus(desired: SwarmDesired, deployment: string, log: Log): Promise<void> {
  const owned = `${LABELS.deployment}=${deployment}`;
  const services = new Set(desired.services.map((s) => s.name));
  await removeServices(
    (await swarmObjectsLabelled('service', owned)).filter((s) => !services.has(s.name)),
    log,
  );
  const objects = new Set(desired.objects.map((o) => `${o.kind}:${o.name}`));
  for (const kind of ['secret', 'config'] as const) {
    for (const o of await swarmObjectsLabelled(kind, owned)) {
      if (objects.has(`${kind}:${o.name}`)) continue;
      await removeSwarmObject(kind, o.name);
      log(`removed ${kind} ${o.name}`);
    }
  }
}

/** Everything the deployment owns in the swarm: services (waiting until their tasks are gone), secrets, configs. */
export async function teardownSwarm(deployment: string, log: Log): Promise<void> {
  await removeSurplus({ services: [], objects: [] }, deployment, log);
}

async function removeServices(services: SwarmObject[], log: Log): Promise<void> {
  for (const s of services) await removeSwarmObject('service', s.name);
  // `docker service rm` returns at once; the tasks stop with their grace period. Their networks
  // (and configs) can go only once they are gone.
  for (const s of services) {
    const deadline = Date.now() + 120_000;
    while ((await taskContainers(s.name)).length > 0) {
      if (Date.now() > deadline) throw new Error(`local-apply: the tasks of service ${s.name} are still there 120 s after docker service rm`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    log(`removed service ${s.name}`);
  }
}

async function serviceCommand(spec: ServiceSpec, args: string[], done: string, t0: number, log: Log): Promise<void> {
  const r = await runServiceCommand(args, spec.convergeSeconds);
  if (r.code === 0) {
    log(`${done} service ${spec.name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    return;
  }
  const said = `${r.stderr}\n${r.stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const why = r.code === -1 ? `it did not converge within ${spec.convergeSeconds} s` : (said[said.length - 1] ?? `exit ${r.code}`);
  throw new Error(
    `local-apply: ${spec.address}: docker service ${args[0]} ${spec.name} failed: ${why}\n` +
      `its tasks (docker service ps ${spec.name}):\n${await taskStates(spec.name, 8)}`,
  );
}

/** A service's last rollout, from `docker service inspect`: when it started and how it ended. */
function updateStatus(inspect: Json): { state: string; message: string; startedAt: string } {
  const service = Array.isArray(inspect) ? inspect[0] : inspect;
  const status = isObject(service) ? service.UpdateStatus : undefined;
  const o = isObject(status) ? status : {};
  const text = (v: Json | undefined) => (typeof v === 'string' ? v : '');
  return { state: text(o.State), message: text(o.Message), startedAt: text(o.StartedAt) };
}

function objectHash(spec: SwarmObjectSpec): string {
  return sha256(canonical({ data: spec.data.toString('base64'), labels: spec.labels }));
}
